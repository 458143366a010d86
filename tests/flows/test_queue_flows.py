"""Queue flows under a real Prefect test server: import -> ordered extensions -> review -> export."""

from __future__ import annotations

import asyncio
import csv
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from docket_core.extensions.config import ExtensionSpec
from docket_core.extensions.registry import save_extensions
from docket_core.invoice_samples.sample_set import write_sample_invoices
from docket_core.queues.documents import document_details, list_documents
from docket_core.queues.importing import ImportRequest, StagedFile
from docket_core.queues.models import QueueSpec
from docket_core.queues.registry import save_queue
from docket_core.resources import Resources
from docket_core.settings import get_settings
from docket_core.staging.ingest import stage_file
from tests.docket_core.extensions import hook_functions
from tests.docket_core.extensions.hook_server import hook_server
from tests.docket_core.queues.conftest import invoice_queue
from tests.helpers import artifact_keys

pytestmark = pytest.mark.usefixtures("prefect_harness")
FUNCTIONS = "tests.docket_core.extensions.hook_functions"
BUILTIN = "docket_core.extensions.builtin"


def setup(queue: QueueSpec, extensions: list[dict[str, Any]]) -> Resources:
    resources = Resources.from_settings()
    with resources.catalog().begin() as conn:
        save_queue(conn, queue, source="test")
        save_extensions(conn, [ExtensionSpec.model_validate(e) for e in extensions], source="test")
    return resources


def stage(paths: list[Path], resources: Resources) -> list[StagedFile]:
    settings = get_settings()
    staged = []
    for path in paths:
        o = stage_file(path, path.name, batch_kind="documents", settings=settings, store=resources.store())
        staged.append(StagedFile(name=path.name, sha256=o.sha256 or "", media_type=o.media_type, size=o.size))
    return staged


def vendors(tmp_path: Path) -> Path:
    path = tmp_path / "vendors.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["vendor_id", "name", "vat_id", "iban"])
        writer.writerow(["V-1", "Nordlicht Werkzeuge GmbH", "", ""])
    return path


@pytest.fixture(autouse=True)
def _forget_requests() -> None:
    hook_functions.SEEN.clear()


class TestInvoiceStory:
    def test_invoices_go_through_ordered_builtins_to_review_confirmation_and_export(self, tmp_path: Path, docket_env: Path) -> None:
        from flows.document_action import document_action
        from flows.export_queue import export_queue
        from flows.import_documents import import_documents

        master = {"master_data": str(vendors(tmp_path))}
        resources = setup(invoice_queue(auto_confirm=True), [
            {"name": "tax-fill", "type": "function", "function": f"{BUILTIN}:fill_tax_rate", "events": ["initialize", "updated"], "queues": ["invoices"]},
            {"name": "vendor-match", "type": "function", "function": f"{BUILTIN}:match_vendor", "events": ["initialize"], "queues": ["invoices"], "settings": master},
            {"name": "vendor-fill", "type": "function", "function": f"{BUILTIN}:fill_from_vendor", "events": ["initialize"],
             "queues": {"invoices": ["vendor-match"]}, "settings": master},
            {"name": "checks", "type": "function", "function": f"{BUILTIN}:check_fields", "events": ["initialize", "updated", "confirm"],
             "queues": {"invoices": ["tax-fill", "vendor-fill"]}},
        ])  # fmt: skip
        staged = stage(write_sample_invoices(tmp_path / "in", count=6), resources)
        summary = import_documents(request=ImportRequest(queue_id="invoices", source="files", files=staged))
        assert (len(summary.document_ids), summary.captured, summary.failed_import) == (6, 6, 0)
        # Only the German invoice of the master data's vendor matches; the rest wait for a person.
        assert summary.confirmed == 1 and len(summary.blocked) == 5
        matched = next(d for d in summary.document_ids if d not in summary.blocked)
        details = document_details(resources.catalog(), matched)
        assert details["status"] == "confirmed" and details["values"]["vendor_id"] == "V-1"
        assert details["sources"]["vendor_id"] == "vendor-match"
        assert [h["to"] for h in details["history"] if h["action"] == "status"] == ["importing", "to_review", "confirmed"]
        assert details["history"][-1]["actor"] == "automation"
        assert artifact_keys("extensions-invoices-annotation-content-initialize")

        bad_totals = summary.document_ids[2]
        values = document_details(resources.catalog(), bad_totals)["values"]
        document_action(action="edit", document_ids=[bad_totals],
                        changes={"gross_total": f"{values['net_total'] + values['tax_total']:.2f}", "vendor_id": "V-1"})  # fmt: skip
        after_edit = document_details(resources.catalog(), bad_totals)
        assert not [m for m in after_edit["messages"] if m["type"] == "error"]  # `checks` ran again on `updated`
        assert document_action(action="confirm", document_ids=[bad_totals]).moved == {bad_totals: "confirmed"}

        exported = export_queue(queue_id="invoices")
        assert exported.exported == 2 and exported.exports[0]["key"].startswith("exports/queue=invoices/date=")
        assert export_queue(queue_id="invoices").exports == []

    def test_an_email_becomes_documents_for_the_attachments_its_extensions_keep(self, tmp_path: Path, docket_env: Path) -> None:
        from flows.import_documents import import_documents

        resources = setup(invoice_queue(), [
            {"name": "pdf-only", "type": "function", "function": f"{FUNCTIONS}:keep_pdf_files", "events": ["email"], "queues": ["invoices"]},
        ])  # fmt: skip
        message = EmailMessage()
        message["From"], message["Subject"], message["Message-ID"] = "ap@vendor.example", "Invoices", "<m1@vendor.example>"
        message.set_content("two invoices")
        for path in write_sample_invoices(tmp_path / "in", count=2):
            message.add_attachment(path.read_bytes(), maintype="application", subtype="pdf", filename=path.name)
        message.add_attachment(b"plain notes", maintype="text", subtype="plain", filename="notes.txt")
        resources.store().put_bytes("emails/m1.eml", message.as_bytes())
        summary = import_documents(request=ImportRequest(queue_id="invoices", source="email", email_key="emails/m1.eml"))
        assert summary.email_dropped == ["notes.txt"] and summary.captured == 2
        details = document_details(resources.catalog(), summary.document_ids[0])
        assert details["metadata"]["values"] == {"email:kind": "invoice"} and details["metadata"]["email"]["subject"] == "Invoices"
        assert details["origin"]["kind"] == "email"


class TestRunExtensions:
    def test_a_level_runs_in_parallel_signed_and_its_successor_sees_every_change(self, docket_env: Path) -> None:
        from flows.run_extensions import run_extensions
        from prefect.client.orchestration import get_client

        queue = QueueSpec(queue_id="plain", fields=[{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "verdict"}])

        def setter(field: str) -> Any:
            def answer(payload: dict[str, Any]) -> tuple[int, Any]:
                node = next(n for n in payload["annotation"]["content"][0]["children"] if n["schema_id"] == field)
                return 200, {"operations": [{"op": "replace", "id": node["id"], "value": {"content": {"value": field.upper()}}}]}
            return answer

        def judge(payload: dict[str, Any]) -> tuple[int, Any]:
            seen = {n["schema_id"]: n["content"]["value"] for n in payload["annotation"]["content"][0]["children"]}
            return 200, {"messages": [{"type": "info", "content": f"saw {seen['a']}{seen['b']}{seen['c']}"}]}

        handlers = {"/a": setter("a"), "/b": setter("b"), "/c": setter("c"), "/judge": judge}
        with hook_server(handlers, secrets={p: f"secret{p}" for p in handlers}, delay_s=0.5) as server:
            resources = setup(queue, [
                *({"name": n, "type": "webhook", "url": f"{server.url}/{n}", "secret": f"secret/{n}", "events": ["initialize"],
                   "queues": ["plain"]} for n in "abc"),
                {"name": "judge", "type": "webhook", "url": f"{server.url}/judge", "secret": "secret/judge", "events": ["initialize"],
                 "queues": {"plain": ["a", "b", "c"]}},
            ])  # fmt: skip
            from docket_core.queues.documents import NewDocument, register_documents, write_content
            from docket_core.queues.fields import build_content

            with resources.catalog().begin() as conn:
                ids = register_documents(conn, "plain", [NewDocument(f"k{i}", f"d{i}", {}) for i in range(3)], actor="t").created
                for doc in ids:
                    write_content(conn, doc, revision=None, content=build_content(queue, {}), field_values={}, sources={},
                                  messages=[], automation_blockers=[], actor="t")  # fmt: skip
            summary = run_extensions("plain", "initialize", document_ids=ids)
        assert all(r.signed_ok for r in server.received) and len(server.received) == 12
        level_one = [r for r in server.received if r.path != "/judge"]
        assert max(r.started for r in level_one) < min(r.finished for r in level_one)  # all overlapped
        assert min(r.started for r in server.for_path("/judge")) >= max(r.finished for r in level_one)
        assert summary.levels == [["a", "b", "c"], ["judge"]] and summary.errors_by_extension == {}
        details = document_details(resources.catalog(), ids[0])
        assert [m["content"] for m in details["messages"]] == ["saw ABC"] and details["sources"]["b"] == "b"

        async def judge_inputs() -> set[str]:
            from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterId, TaskRunFilterName
            from prefect.client.schemas.sorting import TaskRunSort

            # Filtered at the server: the session's Prefect holds more task runs than one page by now.
            async with get_client() as client:
                judge_run, *_ = await client.read_task_runs(
                    task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=["judge-chunk-0"])), sort=TaskRunSort.EXPECTED_START_TIME_DESC
                )
                upstream = [i.id for inputs in judge_run.task_inputs.values() for i in inputs]
                runs = await client.read_task_runs(task_run_filter=TaskRunFilter(id=TaskRunFilterId(any_=upstream)))
                return {r.name for r in runs}

        assert {"a-chunk-0", "b-chunk-0", "c-chunk-0"} <= asyncio.run(judge_inputs())  # its run_after edges

    def test_a_failing_and_a_timed_out_webhook_become_errors_and_the_successor_still_runs(self, docket_env: Path) -> None:
        from flows.run_extensions import run_extensions

        queue = QueueSpec(queue_id="plain", fields=[{"id": "a"}])
        with hook_server({"/down": lambda p: (500, b"oops"), "/slow": lambda p: (200, {}), "/after": lambda p: (200, {})}, delay_s=0.0) as server:
            resources = setup(queue, [
                {"name": "down", "type": "webhook", "url": f"{server.url}/down", "retries": 1, "events": ["initialize"], "queues": ["plain"]},
                {"name": "slow", "type": "function", "function": f"{FUNCTIONS}:sleeps", "settings": {"seconds": 3}, "timeout_s": 0.3,
                 "events": ["initialize"], "queues": ["plain"]},
                {"name": "after", "type": "webhook", "url": f"{server.url}/after", "events": ["initialize"], "queues": {"plain": ["down", "slow"]}},
            ])  # fmt: skip
            from docket_core.queues.documents import NewDocument, register_documents, write_content
            from docket_core.queues.fields import build_content

            with resources.catalog().begin() as conn:
                (doc,) = register_documents(conn, "plain", [NewDocument("k", "d", {})], actor="t").created
                write_content(conn, doc, revision=None, content=build_content(queue, {}), field_values={}, sources={}, messages=[],
                              automation_blockers=[], actor="t")  # fmt: skip
            summary = run_extensions("plain", "initialize", document_ids=[doc])
        assert len(server.for_path("/down")) == 2 and len(server.for_path("/after")) == 1
        assert summary.errors_by_extension == {"down": 1, "slow": 1}
        contents = [m["content"] for m in document_details(resources.catalog(), doc)["messages"]]
        assert "extension 'down' failed: webhook answered HTTP 500: 'oops'" in contents
        assert "extension 'slow' timed out after 0.3 s" in contents


    def test_a_webhook_can_take_its_signing_secret_from_a_prefect_secret_block(self, docket_env: Path) -> None:
        from prefect.blocks.system import Secret

        from docket_core.queues.documents import NewDocument, register_documents, write_content
        from docket_core.queues.fields import build_content
        from flows.run_extensions import run_extensions

        Secret(value="from-a-block").save("docket-test-hook-secret", overwrite=True)
        queue = QueueSpec(queue_id="plain", fields=[{"id": "a"}])
        with hook_server({"/h": lambda p: (200, {})}, secrets={"/h": "from-a-block"}) as server:
            resources = setup(queue, [{"name": "h", "type": "webhook", "url": f"{server.url}/h", "secret_block": "docket-test-hook-secret",
                                       "events": ["initialize"], "queues": ["plain"]}])  # fmt: skip
            with resources.catalog().begin() as conn:
                (doc,) = register_documents(conn, "plain", [NewDocument("k", "d", {})], actor="t").created
                write_content(conn, doc, revision=None, content=build_content(queue, {}), field_values={}, sources={}, messages=[],
                              automation_blockers=[], actor="t")  # fmt: skip
            summary = run_extensions("plain", "initialize", document_ids=[doc])
        assert [r.signed_ok for r in server.received] == [True] and summary.errors_by_extension == {}


class TestConfirmAndExportEvents:
    def test_a_confirm_extension_error_keeps_the_document_in_review(self, tmp_path: Path, docket_env: Path) -> None:
        from flows.document_action import document_action
        from flows.import_documents import import_documents

        resources = setup(invoice_queue(), [
            {"name": "po-check", "type": "function", "function": f"{FUNCTIONS}:error_if_empty", "settings": {"field": "buyer_name"},
             "events": ["confirm"], "queues": ["invoices"]},
        ])  # fmt: skip
        staged = stage(write_sample_invoices(tmp_path / "in", count=1), resources)
        (doc,) = import_documents(request=ImportRequest(queue_id="invoices", source="files", files=staged)).document_ids
        document_action(action="edit", document_ids=[doc], changes={"buyer_name": ""})
        result = document_action(action="confirm", document_ids=[doc])
        assert result.refused == {doc: ["po-check: buyer_name is empty"]} and result.moved == {}
        assert document_details(resources.catalog(), doc)["status"] == "to_review"

    def test_an_export_extension_error_moves_the_document_to_failed_export(self, tmp_path: Path, docket_env: Path) -> None:
        from flows.document_action import document_action
        from flows.export_queue import export_queue
        from flows.import_documents import import_documents

        resources = setup(invoice_queue(), [
            {"name": "erp", "type": "function", "function": f"{FUNCTIONS}:error_if_empty", "settings": {"field": "buyer_name"},
             "events": ["export"], "queues": ["invoices"]},
        ])  # fmt: skip
        staged = stage(write_sample_invoices(tmp_path / "in", count=2), resources)
        ids = import_documents(request=ImportRequest(queue_id="invoices", source="files", files=staged)).document_ids
        document_action(action="edit", document_ids=[ids[0]], changes={"buyer_name": ""})
        document_action(action="confirm", document_ids=ids)
        summary = export_queue(queue_id="invoices")
        assert (summary.exported, summary.failed) == (1, 1)
        statuses = {d["document_id"]: d["status"] for d in list_documents(resources.catalog(), "invoices")}
        assert statuses == {ids[0]: "failed_export", ids[1]: "exported"}
        assert document_details(resources.catalog(), ids[0])["history"][-1]["note"] == "erp: buyer_name is empty"


class TestReview:
    def test_a_review_pauses_for_a_person_and_applies_their_corrections_and_decision(self, tmp_path: Path, docket_env: Path) -> None:
        import threading

        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
        from prefect.client.schemas.objects import StateType
        from prefect.flow_runs import resume_flow_run

        from flows.import_documents import import_documents
        from flows.review_document import review_document

        resources = setup(invoice_queue(), [])
        staged = stage(write_sample_invoices(tmp_path / "in", count=1), resources)
        (doc,) = import_documents(request=ImportRequest(queue_id="invoices", source="files", files=staged)).document_ids
        outcome: dict[str, Any] = {}

        def review() -> None:
            # Kept in the thread: a review that times out must fail this test, not a later one.
            try:
                outcome["result"] = review_document(document_id=doc, actor="ann", timeout_s=120)
            except BaseException as error:  # reported by the assertions below
                outcome["error"] = error

        runner = threading.Thread(target=review)
        runner.start()

        async def paused_run() -> Any:
            # Filtered at the server: the session's Prefect holds hundreds of runs by now, more than one page.
            paused = FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])),
            )
            async with get_client() as client:
                for _ in range(240):
                    for run in await client.read_flow_runs(flow_run_filter=paused, flow_filter=FlowFilter(name=FlowFilterName(any_=["review_document"]))):
                        if run.parameters.get("document_id") == doc:
                            return run.id
                    await asyncio.sleep(0.25)
            raise AssertionError(f"the review never paused: {outcome}")

        run_id = asyncio.run(paused_run())
        assert document_details(resources.catalog(), doc)["status"] == "reviewing"
        # Every field of the form is prefilled with its value: the person sends only what they change.
        resume_flow_run(run_id, run_input={"decision": "confirm", "buyer_name": "Reviewed Buyer"})
        runner.join(timeout=120)
        details = document_details(resources.catalog(), doc)
        assert "error" not in outcome, outcome
        assert outcome["result"].moved == {doc: "confirmed"}
        assert details["status"] == "confirmed" and details["values"]["buyer_name"] == "Reviewed Buyer"
        assert [h["actor"] for h in details["history"][-3:]] == ["ann", "ann", "ann"]

