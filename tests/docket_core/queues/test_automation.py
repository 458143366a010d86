"""Confidence drives automation: a queue's score thresholds (for all fields and per field) and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from docket_core.errors import InputError
from docket_core.extensions.content import find_by_schema_id
from docket_core.queues.automation import review_automation, shortfalls
from docket_core.queues.config_file import apply_config, load_config
from docket_core.queues.documents import document_details, mark_initialized
from docket_core.queues.fields import build_content
from docket_core.queues.models import QueueSpec
from docket_core.queues.registry import get_queue
from docket_core.queues.review import apply_edits
from docket_core.resources import Resources
from docket_core.settings import DocketSettings, get_settings
from docket_core.workflows.model import Evidence
from tests.docket_core.queues.scored_workflow import capture, scored_queue, write_scored

HIGH = {"invoice_number": ("INV-1", 0.98), "issue_date": ("2024-03-31", 0.95), "gross_total": ("119.00", 0.97)}


def verdicts(resources: Resources, queue: QueueSpec, settings: DocketSettings, tmp_path: Path, docs: dict[str, dict], *,
             default: float = 0.9, errors: dict[str, str] | None = None) -> dict[str, list[str]]:  # fmt: skip
    """Capture one document per entry, then ask automation about each: what keeps it from confirmation."""
    paths = [write_scored(tmp_path / f"{name}.xml", fields, error=(errors or {}).get(name)) for name, fields in docs.items()]
    ids = capture(resources, settings, queue, paths)
    with resources.catalog().begin() as conn:
        mark_initialized(conn, ids)
        found = review_automation(conn, ids, default_threshold=default, actor="automation")
    return {name: found[doc] for name, doc in zip(docs, ids)}


def automation_messages(resources: Resources, doc_id: int) -> list[dict]:
    return [m for m in document_details(resources.catalog(), doc_id)["messages"] if m["source"] == "automation"]


class TestThresholds:
    def test_a_document_whose_required_fields_all_meet_the_threshold_may_confirm(
        self, tmp_path: Path, resources: Resources, scored_settings: DocketSettings
    ) -> None:
        # The optional note is read with low confidence: only required fields count.
        found = verdicts(resources, scored_queue(), scored_settings, tmp_path, {"good": {**HIGH, "note": ("hi", 0.1)}})
        assert found == {"good": []}

    def test_one_required_field_below_waits_with_an_info_message_naming_it(
        self, tmp_path: Path, resources: Resources, scored_settings: DocketSettings
    ) -> None:
        low = {**HIGH, "gross_total": ("119.00", 0.62)}
        found = verdicts(resources, scored_queue(), scored_settings, tmp_path, {"low": low})
        assert found == {"low": ["automation: below the confidence threshold: gross_total (0.62 < 0.90)"]}
        (doc,) = [d["document_id"] for d in _docs(resources)]
        (message,) = automation_messages(resources, doc)
        assert message["type"] == "info" and "gross_total (0.62 < 0.90)" in message["content"]
        assert "invoice_number" not in message["content"] and "issue_date" not in message["content"]

    def test_an_empty_required_field_never_meets_it(self, tmp_path: Path, resources: Resources, scored_settings: DocketSettings) -> None:
        partial = {k: v for k, v in HIGH.items() if k != "issue_date"}
        found = verdicts(resources, scored_queue(), scored_settings, tmp_path, {"partial": partial})
        assert found == {"partial": ["automation: below the confidence threshold: issue_date (empty)"]}

    def test_a_fields_own_threshold_overrides_the_queues(self, tmp_path: Path, resources: Resources, scored_settings: DocketSettings) -> None:
        queue = scored_queue(default_score_threshold=0.5, gross_total={"score_threshold": 0.99})
        docs = {"total-095": {**HIGH, "invoice_number": ("INV-2", 0.6)}, "total-0995": {**HIGH, "gross_total": ("5", 0.995), "invoice_number": ("INV-3", 0.55)}}
        found = verdicts(resources, queue, scored_settings, tmp_path, docs)
        assert found == {"total-095": ["automation: below the confidence threshold: gross_total (0.97 < 0.99)"], "total-0995": []}

    def test_the_setting_is_the_default_and_the_queue_can_set_its_own(self, tmp_path: Path, resources: Resources, scored_settings: DocketSettings) -> None:
        fields = {**HIGH, "issue_date": ("2024-03-31", 0.8)}
        assert verdicts(resources, scored_queue("lenient"), scored_settings, tmp_path / "a", {"d": fields}, default=0.75) == {"d": []}
        strict = scored_queue("strict", default_score_threshold=0.85)
        assert verdicts(resources, strict, scored_settings, tmp_path / "b", {"d": fields}, default=0.75) == {
            "d": ["automation: below the confidence threshold: issue_date (0.80 < 0.85)"]
        }
        assert get_settings().default_score_threshold == 0.9

    def test_an_error_message_blocks_even_when_every_field_is_confident(
        self, tmp_path: Path, resources: Resources, scored_settings: DocketSettings
    ) -> None:
        found = verdicts(resources, scored_queue(), scored_settings, tmp_path, {"bad": HIGH}, errors={"bad": "totals do not add up"})
        assert found == {"bad": ["workflow:read: totals do not add up"]}

    def test_a_persons_edit_settles_a_low_field_and_drops_the_message(self, tmp_path: Path, resources: Resources, scored_settings: DocketSettings) -> None:
        verdicts(resources, scored_queue(), scored_settings, tmp_path, {"low": {**HIGH, "gross_total": ("119.00", 0.4)}})
        (doc,) = [d["document_id"] for d in _docs(resources)]
        apply_edits(resources.catalog(), doc, changes={"gross_total": "119.00"}, actor="ann")
        assert automation_messages(resources, doc) == []
        with resources.catalog().begin() as conn:
            assert review_automation(conn, [doc], default_threshold=0.9, actor="automation") == {doc: []}


    def test_a_value_rossum_marks_validated_by_other_than_the_score_no_longer_waits_on_it(self) -> None:
        queue = scored_queue()
        captured = {"invoice_number": "INV-1", "issue_date": "2024-03-31", "gross_total": 119.0}
        evidence = {k: Evidence(1, (0.1, 0.1, 0.2, 0.2), v, 0.5) for k, v in {"invoice_number": "INV-1", "issue_date": "x", "gross_total": "119"}.items()}
        content = build_content(queue, captured, evidence)
        sources = {k: "workflow:read" for k in captured}
        find_by_schema_id(content, "gross_total")[0]["validation_sources"] = ["score", "data_matching"]
        find_by_schema_id(content, "issue_date")[0]["validation_sources"] = ["score"]
        assert [s.schema_id for s in shortfalls(queue, content, sources, default_threshold=0.9)] == ["invoice_number", "issue_date"]


class TestConfiguration:
    def test_the_queue_file_sets_a_queue_threshold_and_per_field_ones(self, tmp_path: Path, resources: Resources, scored_settings: DocketSettings) -> None:
        path = tmp_path / "queues.yaml"
        path.write_text(
            "queues:\n  - id: scored\n    workflow: scored-capture\n    default_score_threshold: 0.8\n"
            "    score_thresholds: {gross_total: 0.97}\n", encoding="utf-8"
        )  # fmt: skip
        apply_config(resources.catalog(), load_config(path, scored_settings))
        with resources.catalog().read() as conn:
            queue = get_queue(conn, "scored")
        assert queue.default_score_threshold == 0.8
        assert {f.id: f.score_threshold for f in queue.fields} == {"invoice_number": None, "issue_date": None, "gross_total": 0.97, "note": None}

    def test_a_threshold_for_an_unknown_field_or_out_of_range_is_refused(self, tmp_path: Path, scored_settings: DocketSettings) -> None:
        path = tmp_path / "queues.yaml"
        path.write_text("queues:\n  - id: scored\n    workflow: scored-capture\n    score_thresholds: {totl: 0.97}\n", encoding="utf-8")
        with pytest.raises(InputError, match=r"queues\[1\]: queue 'scored' has no plain field 'totl' to set a score threshold on"):
            load_config(path, scored_settings)
        with pytest.raises(InputError, match=r"score thresholds must be in \[0, 1\]"):
            scored_queue().with_score_thresholds(fields={"gross_total": 1.5})


def _docs(resources: Resources) -> list[dict]:
    from docket_core.queues.documents import list_documents

    return list_documents(resources.catalog(), "scored")
