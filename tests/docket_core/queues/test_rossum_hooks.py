"""Hook requests as Rossum sends them, built from a real catalog; responses applied as Rossum applies
them (enum options, multivalue add/remove, automation blockers); error messages block confirmation."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from docket_core.auth import create_user, issue_tokens, resolve_token
from docket_core.extensions.config import ExtensionSpec, plan_for
from docket_core.extensions.runner import CallOptions, Chunk, DocState, call_extension, run_chunk_locally
from docket_core.extensions.webhook import LEGACY_SIGNATURE_HEADER, SIGNATURE_HEADER, WebhookSender, sign, verify_legacy
from docket_core.queues.capture import capture_chunk
from docket_core.queues.documents import document_details
from docket_core.queues.importing import ImportRequest, StagedFile, register_import
from docket_core.queues.models import QueueSpec
from docket_core.queues.review import ConfirmationBlocked, apply_edits, confirm_documents, set_status
from docket_core.queues.runs import load_chunk, save_chunk
from docket_core.resources import Resources
from docket_core.rossum.ids import queue_numbers
from docket_core.settings import DocketSettings
from tests.docket_core.extensions import hook_functions

REFERENCE = Path(__file__).parents[2] / "fixtures" / "rossum"
FUNCTIONS = "tests.docket_core.extensions.hook_functions"
# Every attribute of Rossum's annotation object (API reference, "Annotation", example object).
ANNOTATION_KEYS = set(
    "document id queue schema relations pages creator modifier modified_by assigned_at created_at confirmed_at deleted_at "
    "exported_at export_failed_at modified_at purged_at rejected_at confirmed_by deleted_by exported_by purged_by rejected_by "
    "status rir_poll_id messages url content time_spent metadata related_emails email automation_blocker email_thread "
    "has_email_thread_with_replies has_email_thread_with_new_replies organization prediction assignees labels "
    "training_enabled einvoice automated automatically_rejected restricted_access suggested_edit".split()
)
DOCUMENT_KEYS = {"id", "url", "s3_name", "parent", "email", "mime_type", "creator", "created_at", "arrived_at",
                 "original_file_name", "content", "attachment_status", "metadata"}  # fmt: skip


@pytest.fixture
def doc_ids(resources: Resources, settings: DocketSettings, queue: QueueSpec, staged_invoices: list[StagedFile]) -> list[int]:
    plan = register_import(ImportRequest(queue_id=queue.queue_id, source="files", files=staged_invoices[:3]), resources, settings)
    capture_chunk(plan.document_ids, queue.queue_id, resources, settings, actor="capture")
    return plan.document_ids


@pytest.fixture(autouse=True)
def _forget_requests() -> None:
    hook_functions.SEEN.clear()


def chunk(resources: Resources, queue: QueueSpec, ids: list[int], event: str = "annotation_content.initialize") -> Chunk:
    with resources.catalog().read() as conn:
        return load_chunk(conn, queue, event, ids)


def run(resources: Resources, specs: list[ExtensionSpec], state: Chunk, *, tokens: bool = False) -> Chunk:
    catalog = resources.catalog()

    def issue(scopes: list[dict[str, Any]], ttl_s: int) -> list[str]:
        return issue_tokens(catalog, "hook", scopes, ttl=timedelta(seconds=ttl_s))

    with ThreadPoolExecutor(max_workers=2) as pool:
        options = CallOptions("https://docket.example", 2, function_pool=pool, issue_tokens=issue if tokens else None)
        by_name = {s.name: s for s in specs}
        plan = plan_for(specs, state.queue_id, state.event)
        return run_chunk_locally(plan, state, lambda name, c, level: call_extension(by_name[name], c, level=level, options=options))


def recorder(name: str = "look", **options: Any) -> ExtensionSpec:
    return ExtensionSpec(name=name, type="function", function=f"{FUNCTIONS}:record",
                         **{"events": ["initialize"], "queues": {"invoices": []}, **options})  # fmt: skip


class TestRequests:
    def test_an_annotation_content_request_has_every_attribute_rossum_documents(self, resources: Resources, queue: QueueSpec, doc_ids: list[int]) -> None:
        run(resources, [recorder()], chunk(resources, queue, doc_ids[:1]))
        (seen,) = hook_functions.SEEN
        reference = json.loads((REFERENCE / "02_example_data_sent_forannotation_contentevent_to_thehook_config_urlwhen.repaired.json").read_text())
        assert set(reference) - {"rossum_authorization_token"} <= set(seen)
        assert ANNOTATION_KEYS <= set(seen["annotation"]) and DOCUMENT_KEYS <= set(seen["document"])
        annotation, document = seen["annotation"], seen["document"]
        number = queue_numbers(resources.catalog())["invoices"]
        assert annotation["queue"] == f"https://docket.example/api/v1/queues/{number}" and annotation["schema"].endswith(f"/schemas/{number}")
        assert (annotation["automated"], annotation["automatically_rejected"], annotation["einvoice"]) == (False, False, False)
        assert annotation["modified_by"] is None and annotation["relations"] == [] and annotation["email"] is None
        assert annotation["status"] == "to_review" and annotation["previous_status"] == "importing"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", document["created_at"]) and document["arrived_at"] == document["created_at"]
        assert "schemas" not in seen and "queues" not in seen  # nothing sideloaded unless asked

    def test_numbers_and_dates_carry_rossums_normalized_value(self, resources: Resources, queue: QueueSpec, doc_ids: list[int]) -> None:
        apply_edits(resources.catalog(), doc_ids[0], changes={"gross_total": "1.234,50", "issue_date": "31.03.2024"}, actor="x")
        run(resources, [recorder()], chunk(resources, queue, doc_ids[:1]))
        (seen,) = hook_functions.SEEN
        points = {n["schema_id"]: n for s in seen["annotation"]["content"] for n in s.get("children") or []}
        assert points["gross_total"]["content"] == {**points["gross_total"]["content"], "value": "1.234,50", "normalized_value": "1234.5"}
        assert points["issue_date"]["content"]["normalized_value"] == "2024-03-31"
        assert points["gross_total"]["url"] == f"https://docket.example/api/v1/annotations/{doc_ids[0]}/content/{points['gross_total']['id']}"

    def test_sideloads_are_sent_as_the_hook_asks(self, resources: Resources, queue: QueueSpec, doc_ids: list[int]) -> None:
        spec = recorder(sideload=["schemas", "queues", "documents", "labels", "automation_blockers"])
        run(resources, [spec], chunk(resources, queue, doc_ids[:1]))
        (seen,) = hook_functions.SEEN
        (schema,) = seen["schemas"]
        (basic, *tables) = schema["content"]
        assert basic["id"] == "basic_info" and {c["id"] for c in basic["children"]} >= {"gross_total", "issue_date"}
        assert {n["id"] for s in tables for n in s["children"]} == {t.id for t in queue.tables()}
        assert seen["queues"][0]["schema"] == schema["url"] and seen["queues"][0]["counts"]["to_review"] == 3
        assert seen["documents"][0]["annotations"] == [seen["annotation"]["url"]] and seen["labels"] == []
        assert seen["automation_blockers"] == []

    def test_each_request_carries_a_short_lived_token_for_its_annotation_only(self, resources: Resources, queue: QueueSpec, doc_ids: list[int]) -> None:
        run(resources, [recorder(token_lifetime_s=60)], chunk(resources, queue, doc_ids[:2]), tokens=True)
        first, second = sorted(hook_functions.SEEN, key=lambda s: s["annotation"]["id"])
        assert first["rossum_authorization_token"] != second["rossum_authorization_token"]
        record = resolve_token(resources.catalog(), first["rossum_authorization_token"], kinds={"hook"})
        assert record is not None and record.scope["annotation"] == doc_ids[0]
        assert record.expires_at is not None and record.expires_at - record.created_at == timedelta(seconds=60)

    def test_the_modifier_is_the_api_user_who_edited(self, resources: Resources, queue: QueueSpec, doc_ids: list[int]) -> None:
        user = create_user(resources.catalog(), "alice", "correct horse battery")
        apply_edits(resources.catalog(), doc_ids[0], changes={"buyer_name": "Someone"}, actor="user:alice")
        run(resources, [recorder(sideload=["modifiers"])], chunk(resources, queue, doc_ids[:1]))
        (seen,) = hook_functions.SEEN
        assert seen["annotation"]["modified_by"] == f"https://docket.example/api/v1/users/{user.id}"
        assert seen["modifiers"][0]["username"] == "alice"


class TestEvents:
    def test_user_update_subscribers_hear_updates_under_rossums_deprecated_name(self, resources: Resources, queue: QueueSpec, doc_ids: list[int]) -> None:
        specs = [recorder("old", events=["annotation_content.user_update"]), recorder("whole", events=["annotation_content"])]
        run(resources, specs, chunk(resources, queue, doc_ids[:1], "annotation_content.updated"))
        actions = sorted((s["hook"].rsplit("/", 1)[1], s["action"]) for s in hook_functions.SEEN)
        assert actions == [("old", "user_update"), ("whole", "updated")]

    def test_a_whole_event_subscription_hears_every_action(self) -> None:
        spec = recorder("whole", events=["annotation_content"])
        assert all(spec.listens_to(f"annotation_content.{a}") for a in ("initialize", "started", "updated", "confirm", "export"))
        assert not spec.listens_to("email.received")


class TestResponses:
    def test_enum_options_a_hook_sets_are_kept_and_make_its_value_count(self, resources: Resources, settings: DocketSettings, staged_invoices: list[StagedFile]) -> None:
        spec = QueueSpec(queue_id="vendors", workflow_id="invoice-capture",
                         fields=[{"id": "seller_name"}, {"id": "vendor", "type": "enum", "options": ["unknown"]}])  # fmt: skip
        from docket_core.queues.registry import save_queue

        with resources.catalog().begin() as conn:
            save_queue(conn, spec, source="test")
        plan = register_import(ImportRequest(queue_id="vendors", source="files", files=staged_invoices[:1]), resources, settings)
        capture_chunk(plan.document_ids, "vendors", resources, settings, actor="capture")
        hook = ExtensionSpec(name="match", type="function", function=f"{FUNCTIONS}:vendor_options", events=["initialize"], queues={"vendors": []})
        state = run(resources, [hook], chunk(resources, spec, plan.document_ids))
        with resources.catalog().begin() as conn:
            save_chunk(conn, spec, state, actor="extensions")
        details = document_details(resources.catalog(), plan.document_ids[0])
        assert details["values"]["vendor"] == "V-7"
        (node,) = [n for s in details["content"] for n in s["children"] if n["schema_id"] == "vendor"]
        assert node["options"] == [{"value": "V-7", "label": "Nordlicht Werkzeuge GmbH"}]
        hook_functions.SEEN.clear()
        run(resources, [recorder(queues={"vendors": []})], chunk(resources, spec, plan.document_ids))
        (seen,) = hook_functions.SEEN
        (sent,) = [n for s in seen["annotation"]["content"] for n in s["children"] if n["schema_id"] == "vendor"]
        assert sent["options"] == node["options"] and sent["content"]["value"] == "V-7"

    def test_the_legacy_sha1_signature_is_sent_when_the_extension_asks(self) -> None:
        seen: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json={})

        spec = ExtensionSpec(name="old", type="webhook", url="http://hooks.test/x", secret="s3cret", events=["initialize"],
                             queues={"q": []}, legacy_signature=True)  # fmt: skip
        plain = spec.model_copy(update={"legacy_signature": False, "name": "new"})
        state = Chunk("q", "annotation_content.initialize", [], {}, [DocState(1, 0, {"document_id": 1, "queue_id": "q"}, [], set(), 1)])
        sender = WebhookSender(transport=httpx.MockTransport(answer))
        try:
            for extension in (spec, plain):
                call_extension(extension, state, level=1, options=CallOptions("b", 1, sender=sender))
        finally:
            sender.close()
        legacy, modern = seen
        assert verify_legacy(legacy.content, "s3cret", legacy.headers[LEGACY_SIGNATURE_HEADER])
        assert legacy.headers[LEGACY_SIGNATURE_HEADER].startswith("sha1=")
        assert legacy.headers[SIGNATURE_HEADER] == sign(legacy.content, "s3cret")
        assert LEGACY_SIGNATURE_HEADER not in modern.headers and SIGNATURE_HEADER in modern.headers


class TestConfirmation:
    def test_error_messages_block_confirmation_and_are_shown(self, resources: Resources, doc_ids: list[int]) -> None:
        clean, bad = doc_ids[0], doc_ids[2]  # the third sample's totals do not add up: an error message
        outcome = confirm_documents(resources.catalog(), [clean, bad], actor="x")
        assert [c.document_id for c in outcome.changes] == [clean] and list(outcome.refused) == [bad]
        assert any("gross" in why for why in outcome.refused[bad])
        with pytest.raises(ConfirmationBlocked, match=rf"document {bad}: .*gross"):
            confirm_documents(resources.catalog(), [bad], actor="x", strict=True)
        assert document_details(resources.catalog(), bad)["status"] == "to_review"

    def test_a_document_without_errors_confirms_strictly(self, resources: Resources, doc_ids: list[int]) -> None:
        set_status(resources.catalog(), doc_ids[:1], "postponed", actor="x")
        outcome = confirm_documents(resources.catalog(), doc_ids[:1], actor="x", strict=True)
        assert [c.to_status for c in outcome.changes] == ["confirmed"]
