"""The export: claim, write, commit; nothing lost or exported twice when a run stops half-way."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from docket_core.errors import DocketError
from docket_core.queues.capture import capture_chunk
from docket_core.queues.documents import document_details, list_documents
from docket_core.queues.export import EXPORT_BASE, ExportFilters, claim_export, commit_export, export_schema, fail_export, unfinished_exports, write_export
from docket_core.queues.importing import ImportRequest, StagedFile, register_import
from docket_core.queues.models import QueueSpec
from docket_core.queues.review import set_status
from docket_core.resources import Resources
from docket_core.settings import DocketSettings


@pytest.fixture
def confirmed(resources: Resources, settings: DocketSettings, queue: QueueSpec, staged_invoices: list[StagedFile]) -> list[int]:
    plan = register_import(ImportRequest(queue_id=queue.queue_id, source="files", files=staged_invoices), resources, settings)
    capture_chunk(plan.document_ids, queue.queue_id, resources, settings, actor="capture")
    set_status(resources.catalog(), plan.document_ids[:4], "confirmed", actor="x")
    return plan.document_ids[:4]


def export_once(resources: Resources, queue: QueueSpec, filters: ExportFilters | None = None) -> dict | None:
    claim = claim_export(resources.catalog(), queue.queue_id, filters or ExportFilters(), actor="export")
    if claim is None:
        return None
    written = write_export(resources.store(), queue, claim, resources.catalog())
    return commit_export(resources.catalog(), claim, actor="export", written=written)


class TestExport:
    def test_confirmed_documents_land_in_one_typed_part_and_become_exported(self, resources: Resources, queue: QueueSpec, confirmed: list[int]) -> None:
        result = export_once(resources, queue)
        assert result is not None and result["exported"] == 4
        assert result["key"].startswith(f"exports/queue=invoices/date={datetime.date.today().isoformat()}/part-invoices-")
        table = pq.read_table(resources.store().path(result["key"]))
        assert table.schema.equals(export_schema(queue)) and EXPORT_BASE.names == table.schema.names[: len(EXPORT_BASE)]
        assert sorted(table.column("document_id").to_pylist()) == confirmed
        rows = {r["document_id"]: r for r in table.to_pylist()}
        first = rows[confirmed[0]]
        assert first["invoice_number"] == "INV-2024-0001" and isinstance(first["issue_date"], datetime.date)
        assert first["line_items"][0]["item_description"] and isinstance(first["line_items"][0]["item_quantity"], float)
        assert json.loads(first["sources"])["invoice_number"] == "workflow:extract"
        assert first["ready_at"].isoformat() == document_details(resources.catalog(), confirmed[0])["ready_at"]
        assert {d["status"] for d in list_documents(resources.catalog(), queue.queue_id) if d["document_id"] in confirmed} == {"exported"}

    def test_a_second_export_finds_nothing_new(self, resources: Resources, queue: QueueSpec, confirmed: list[int]) -> None:
        assert export_once(resources, queue) is not None
        assert export_once(resources, queue) is None

    def test_the_parts_read_as_one_hive_partitioned_table_in_duckdb(self, resources: Resources, queue: QueueSpec, confirmed: list[int]) -> None:
        export_once(resources, queue)
        root = resources.store().path("exports")
        [(n, q)] = duckdb.sql(f"SELECT count(*), any_value(queue) FROM read_parquet('{root}/*/*/*.parquet', hive_partitioning=true)").fetchall()
        assert (n, q) == (4, "invoices")

    def test_filters_take_only_the_statuses_and_times_asked_for(self, resources: Resources, queue: QueueSpec, confirmed: list[int]) -> None:
        future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        assert export_once(resources, queue, ExportFilters(since=future)) is None
        result = export_once(resources, queue, ExportFilters(statuses=["to_review"]))
        assert result is not None and result["exported"] == 2  # the two left in to_review, by hand

    def test_a_bad_status_filter_says_which_are_allowed(self) -> None:
        with pytest.raises(ValueError, match=r"export statuses must be among \['confirmed', 'to_review', 'failed_export'\], got \['exported'\]"):
            ExportFilters(statuses=["exported"])


class TestCrashes:
    def test_an_export_stopped_after_claiming_is_found_and_finished_once(self, resources: Resources, queue: QueueSpec, confirmed: list[int]) -> None:
        claim = claim_export(resources.catalog(), queue.queue_id, ExportFilters(), actor="export")
        assert claim is not None  # ... and the process dies here
        (resumed,) = unfinished_exports(resources.catalog(), queue.queue_id)
        assert resumed.export_id == claim.export_id and resumed.resumed and resumed.claimed == 4
        assert claim_export(resources.catalog(), queue.queue_id, ExportFilters(), actor="export") is None  # nothing else ready
        written = write_export(resources.store(), queue, resumed, resources.catalog())
        assert commit_export(resources.catalog(), resumed, actor="export", written=written)["exported"] == 4
        assert unfinished_exports(resources.catalog(), queue.queue_id) == []

    def test_a_part_written_twice_holds_each_document_once(self, resources: Resources, queue: QueueSpec, confirmed: list[int]) -> None:
        claim = claim_export(resources.catalog(), queue.queue_id, ExportFilters(), actor="export")
        assert claim is not None
        write_export(resources.store(), queue, claim, resources.catalog())  # the process dies before committing
        written = write_export(resources.store(), queue, claim, resources.catalog())
        commit_export(resources.catalog(), claim, actor="export", written=written)
        parts = list(Path(resources.store().path("exports")).rglob("*.parquet"))
        assert len(parts) == 1 and sorted(pq.read_table(parts[0]).column("document_id").to_pylist()) == confirmed

    def test_committing_twice_moves_nothing_twice(self, resources: Resources, queue: QueueSpec, confirmed: list[int]) -> None:
        claim = claim_export(resources.catalog(), queue.queue_id, ExportFilters(), actor="export")
        assert claim is not None
        written = write_export(resources.store(), queue, claim, resources.catalog())
        first = commit_export(resources.catalog(), claim, actor="export", written=written)
        assert commit_export(resources.catalog(), claim, actor="export", written=written) == first

    def test_a_commit_that_does_not_match_the_part_is_refused(self, resources: Resources, queue: QueueSpec, confirmed: list[int]) -> None:
        claim = claim_export(resources.catalog(), queue.queue_id, ExportFilters(), actor="export")
        assert claim is not None
        with pytest.raises(DocketError, match="wrote 3 documents but 4 are still exporting; run the export again"):
            commit_export(resources.catalog(), claim, actor="export", written=3)


class TestFailedExport:
    def test_a_document_an_export_extension_refused_is_left_out_and_marked(self, resources: Resources, queue: QueueSpec, confirmed: list[int]) -> None:
        claim = claim_export(resources.catalog(), queue.queue_id, ExportFilters(), actor="export")
        assert claim is not None
        fail_export(resources.catalog(), {confirmed[0]: "erp: vendor unknown"}, actor="export")
        written = write_export(resources.store(), queue, claim, resources.catalog())
        result = commit_export(resources.catalog(), claim, actor="export", written=written)
        assert (result["exported"], result["failed"]) == (3, 1)
        details = document_details(resources.catalog(), confirmed[0])
        assert details["status"] == "failed_export" and details["history"][-1]["note"] == "erp: vendor unknown"
