"""Running ordered extensions over a chunk, and each merge rule of ARCHITECTURE.md section 5, with
Rossum's own request and response examples as payloads."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from docket_core.extensions.config import ExtensionSpec, plan_for
from docket_core.extensions.content import IdAllocator, find_by_schema_id
from docket_core.extensions.local_plan import run_plan_locally
from docket_core.extensions.runner import CallOptions, Chunk, DocState, EmailState, call_extension, doc_state, run_chunk_locally
from docket_core.extensions.webhook import SIGNATURE_HEADER, WebhookSender, verify
from tests.docket_core.extensions import hook_functions
from tests.docket_core.extensions.hook_functions import fixture

FUNCTIONS = "tests.docket_core.extensions.hook_functions"
EVENT = "annotation_content.initialize"
NUMBER = 20456864  # the datapoint of Rossum's example 02, schema_id "number"


def table_content() -> list[dict[str, Any]]:
    """Example 02's content plus a section holding the ids example 03's operations target."""
    return [
        *copy.deepcopy(fixture("02")["annotation"]["content"]),
        {"id": 1123124, "schema_id": "details", "category": "section", "children": [
            {"id": 198143, "schema_id": "sender_name", "category": "datapoint", "content": {"value": "Jon"}},
            {"id": 884060, "schema_id": "line_items", "category": "multivalue", "children": [
                {"id": 884061, "schema_id": "line_item", "category": "tuple", "children": [
                    {"id": 884062, "schema_id": "item_description", "category": "datapoint", "content": {"value": "Can"}}]}]}]},
    ]  # fmt: skip


def function(name: str, fn: str, *, after: tuple[str, ...] = (), settings: dict[str, Any] | None = None, timeout: float = 30) -> ExtensionSpec:
    return ExtensionSpec(name=name, type="function", function=f"{FUNCTIONS}:{fn}", events=[EVENT], queues={"q": after},
                         settings=settings or {}, timeout_s=timeout)  # fmt: skip


def chunk_of(*contents: list[dict[str, Any]], updated: tuple[int, ...] = ()) -> Chunk:
    subjects = [
        doc_state(n, 0, {"document_id": n, "queue_id": "q", "status": "to_review", "file_name": f"d{n}.pdf",
                         "created_at": "2024-01-01T00:00:00+00:00"}, content, updated)  # fmt: skip
        for n, content in enumerate(contents, start=1)
    ]
    return Chunk("q", EVENT, [{"id": "number", "type": "number"}], {"line_items": "line_item"}, subjects)


def _stored(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tree without what requests add to each node (its URL, Rossum's datapoint defaults)."""
    added = {"url", "validation_sources", "hidden", "time_spent"}

    def shown(key: str, value: Any) -> Any:
        if key == "children":
            return _stored(value)
        if key == "content" and isinstance(value, dict):
            return {k: v for k, v in value.items() if k != "normalized_value"}
        return value

    return [{k: shown(k, v) for k, v in node.items() if k not in added} for node in content]


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=4) as executor:
        yield executor


@pytest.fixture(autouse=True)
def _forget_requests() -> None:
    hook_functions.SEEN.clear()


def run(specs: list[ExtensionSpec], chunk: Chunk, options: CallOptions) -> Chunk:
    by_name = {s.name: s for s in specs}
    plan = plan_for(specs, "q", EVENT)
    return run_chunk_locally(plan, chunk, lambda name, c, level: call_extension(by_name[name], c, level=level, options=options))


def doc(chunk: Chunk, n: int = 0) -> DocState:
    subject = chunk.subjects[n]
    assert isinstance(subject, DocState)
    return subject


class TestRequests:
    def test_a_function_receives_rossums_request_shape_with_the_content_as_merged(self, pool: ThreadPoolExecutor) -> None:
        run([function("look", "record")], chunk_of(table_content()), CallOptions("https://docket.example", 4, function_pool=pool))
        (seen,) = hook_functions.SEEN
        reference = fixture("02")
        assert set(reference) - {"rossum_authorization_token"} <= set(seen)
        assert set(reference["annotation"]) <= set(seen["annotation"])
        assert set(reference["document"]) <= set(seen["document"])
        assert (seen["event"], seen["action"], seen["hook"]) == ("annotation_content", "initialize", "https://docket.example/api/v1/hooks/look")
        assert _stored(seen["annotation"]["content"]) == _stored(table_content())
        assert seen["secrets"] == {} and seen["docket"]["queue_id"] == "q"

    def test_webhooks_are_signed_with_x_rossum_signature_sha256(self) -> None:
        bodies: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            bodies.append(request)
            return httpx.Response(200, content=json.dumps(fixture("03")).encode())

        spec = ExtensionSpec(name="hook", type="webhook", url="http://hooks.test/x", secret="s3cret", events=[EVENT], queues={"q": []})
        sender = WebhookSender(transport=httpx.MockTransport(answer))
        try:
            results = call_extension(spec, chunk_of(table_content()), level=1, options=CallOptions("b", 2, sender=sender))
        finally:
            sender.close()
        (request,) = bodies
        assert request.headers[SIGNATURE_HEADER].startswith("sha256=")
        assert verify(request.content, "s3cret", request.headers[SIGNATURE_HEADER])
        assert [op["op"] for op in results["1"].operations] == ["replace", "remove", "add"]


class TestMergeRules:
    def test_rossums_response_applies_replace_remove_add_and_reports_the_row_and_its_cells(self, pool: ThreadPoolExecutor) -> None:
        spec = ExtensionSpec(name="rossum", type="function", function=f"{FUNCTIONS}:blockers", events=[EVENT], queues={"q": []})
        # 03 through a webhook answer would do the same; here a function returns it verbatim.
        sender = WebhookSender(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=fixture("03"))))
        hook = ExtensionSpec(name="hook", type="webhook", url="http://h.test/", events=[EVENT], queues={"q": []})
        try:
            out = run([spec, hook], chunk_of(table_content()), CallOptions("b", 2, sender=sender, function_pool=pool))
        finally:
            sender.close()
        state = doc(out)
        assert find_by_schema_id(state.content, "sender_name")[0]["content"]["value"] == "John"
        (row,) = find_by_schema_id(state.content, "line_items")[0]["children"]
        assert row["children"][0]["content"]["value"] == "Bottle"
        assert {198143, 884060, row["id"], row["children"][0]["id"]} <= state.updated
        assert state.sources[str(198143)] == "hook" and state.sources[str(row["children"][0]["id"])] == "hook"
        assert [b["content"] for b in state.automation_blockers] == ["Unregistered vendor", "PO not found in the master data!"]
        assert {m["source"] for m in state.messages} == {"hook"}

    def test_a_successor_sees_its_predecessors_changes_and_the_union_of_updated_datapoints(self, pool: ThreadPoolExecutor) -> None:
        specs = [
            function("a-fill", "set_field", settings={"field": "number", "value": "1.00"}),
            function("b-fill", "set_field", settings={"field": "sender_name", "value": "Bo"}),
            function("check", "record", after=("a-fill", "b-fill")),
        ]
        run(specs, chunk_of(table_content(), updated=(7,)), CallOptions("b", 4, function_pool=pool))
        (seen,) = [s for s in hook_functions.SEEN if s["hook"].endswith("/check")]
        assert find_by_schema_id(seen["annotation"]["content"], "number")[0]["content"]["value"] == "1.00"
        assert find_by_schema_id(seen["annotation"]["content"], "sender_name")[0]["content"]["value"] == "Bo"
        assert seen["updated_datapoints"] == sorted({7, NUMBER, 198143})
        first = [s for s in hook_functions.SEEN if not s["hook"].endswith("/check")]
        assert all(s["updated_datapoints"] == [7] for s in first)  # a level never sees its peers

    def test_levels_apply_in_order_so_a_later_level_overrides_an_earlier_one(self, pool: ThreadPoolExecutor) -> None:
        specs = [
            function("first", "set_field", settings={"field": "number", "value": "1"}),
            function("second", "set_field", after=("first",), settings={"field": "number", "value": "2"}),
        ]
        out = run(specs, chunk_of(table_content()), CallOptions("b", 4, function_pool=pool))
        assert find_by_schema_id(doc(out).content, "number")[0]["content"]["value"] == "2"
        assert doc(out).sources[str(NUMBER)] == "second"
        assert doc(out).conflicts == 0

    def test_two_extensions_of_one_level_replacing_a_datapoint_is_a_conflict_naming_both(self, pool: ThreadPoolExecutor) -> None:
        specs = [
            function("alpha", "set_field", settings={"field": "number", "value": "1"}),
            function("beta", "set_field", settings={"field": "number", "value": "2"}),
        ]
        state = doc(run(specs, chunk_of(table_content()), CallOptions("b", 4, function_pool=pool)))
        assert find_by_schema_id(state.content, "number")[0]["content"]["value"] == "1"  # first by name keeps it
        (conflict,) = [m for m in state.messages if m["type"] == "error"]
        assert "'alpha' and 'beta' both replace datapoint" in conflict["content"] and conflict["source"] == "beta"
        assert state.conflicts == 1 and state.sources[str(NUMBER)] == "alpha"

    def test_a_failing_extension_becomes_an_error_naming_it_and_its_successors_still_run(self, pool: ThreadPoolExecutor) -> None:
        specs = [function("broken", "raises"), function("after", "set_field", after=("broken",), settings={"field": "number", "value": "9"})]
        state = doc(run(specs, chunk_of(table_content()), CallOptions("b", 4, function_pool=pool)))
        assert state.failed == ["broken"]
        assert any(m["content"] == "extension 'broken' failed: RuntimeError: boom in the extension" for m in state.messages)
        assert find_by_schema_id(state.content, "number")[0]["content"]["value"] == "9"

    def test_a_timed_out_extension_becomes_an_error_saying_after_how_long(self, pool: ThreadPoolExecutor) -> None:
        specs = [function("slow", "sleeps", settings={"seconds": 2}, timeout=0.2)]
        state = doc(run(specs, chunk_of(table_content()), CallOptions("b", 4, function_pool=pool)))
        assert [m["content"] for m in state.messages] == ["extension 'slow' timed out after 0.2 s"]

    def test_a_function_answering_something_else_than_a_response_fails_with_what_it_returned(self, pool: ThreadPoolExecutor) -> None:
        state = doc(run([function("odd", "not_a_dict")], chunk_of(table_content()), CallOptions("b", 4, function_pool=pool)))
        assert "must return a dict like a hook response, got list" in state.messages[0]["content"]

    def test_a_parsable_error_response_keeps_its_message_and_fails_the_extension(self) -> None:
        sender = WebhookSender(transport=httpx.MockTransport(lambda r: httpx.Response(400, json=fixture("08"))))
        spec = ExtensionSpec(name="erp", type="webhook", url="http://erp.test/", events=[EVENT], queues={"q": []}, retries=0)
        try:
            state = doc(run([spec], chunk_of(table_content()), CallOptions("b", 2, sender=sender)))
        finally:
            sender.close()
        contents = [m["content"] for m in state.messages]
        assert contents == ["extension 'erp' failed: webhook answered HTTP 400", "custom error message to be displayed in the UI"]

    def test_the_chunk_runner_gives_what_the_sequential_reference_gives(self, pool: ThreadPoolExecutor) -> None:
        specs = [
            function("a", "set_field", settings={"field": "number", "value": "5"}),
            function("b", "set_field", settings={"field": "number", "value": "6"}),
            function("c", "set_field", after=("a",), settings={"field": "sender_name", "value": "Cy"}),
        ]
        options = CallOptions("b", 4, function_pool=pool)
        ours = doc(run(specs, chunk_of(table_content()), options))
        plan = plan_for(specs, "q", EVENT)
        by_name = {s.name: s for s in specs}

        def runner(name: str, content: list[dict[str, Any]], updated: set[int]) -> Any:
            single = Chunk("q", EVENT, [], {}, [doc_state(1, 0, {"document_id": 1, "queue_id": "q"}, content, updated)])
            return call_extension(by_name[name], single, level=0, options=options)["1"]

        reference = run_plan_locally(plan.levels, runner, table_content(), id_allocator=IdAllocator.above(table_content()),
                                     schema=chunk_of().schema)  # fmt: skip
        assert ours.content == reference.content
        (number,) = find_by_schema_id(ours.content, "number")
        # What a level replaced is normalized before the next level reads it, as Rossum does.
        assert number["content"]["value"] in ("5", "6") and number["content"]["normalized_value"] == number["content"]["value"]
        assert ours.updated == reference.updated_datapoints
        assert [m["content"] for m in ours.messages] == [m["content"] for m in reference.messages]


class TestEmail:
    def email_chunk(self) -> Chunk:
        request = fixture("04")
        subject = EmailState("987", copy.deepcopy(request["files"]), request["headers"], request["body"])
        return Chunk("q", "email.received", [], {}, [subject])

    def spec(self, name: str, fn: str, after: tuple[str, ...] = ()) -> ExtensionSpec:
        return ExtensionSpec(name=name, type="function", function=f"{FUNCTIONS}:{fn}", events=["email.received"], queues={"q": after})

    def test_the_files_kept_are_the_intersection_of_what_each_extension_kept(self, pool: ThreadPoolExecutor) -> None:
        specs = [self.spec("pdfs", "keep_pdf_files"), self.spec("rossum", "rossum_email_answer")]
        by_name = {s.name: s for s in specs}
        plan = plan_for(specs, "q", "email.received")
        options = CallOptions("b", 2, function_pool=pool)
        out = run_chunk_locally(plan, self.email_chunk(), lambda n, c, lvl: call_extension(by_name[n], c, level=lvl, options=options))
        (email,) = out.subjects
        assert isinstance(email, EmailState)
        assert [f["filename"] for f in email.files] == ["A4 pdf.pdf"]
        assert {v["id"] for v in email.files[0]["values"]} == {"email:kind", "email:invoice_id", "email:customer_name"}

    def test_a_successor_receives_only_the_files_its_predecessors_kept(self, pool: ThreadPoolExecutor) -> None:
        specs = [self.spec("pdfs", "keep_pdf_files"), self.spec("later", "keep_pdf_files", after=("pdfs",))]
        by_name = {s.name: s for s in specs}
        options = CallOptions("b", 2, function_pool=pool)
        run_chunk_locally(plan_for(specs, "q", "email.received"), self.email_chunk(),
                          lambda n, c, lvl: call_extension(by_name[n], c, level=lvl, options=options))  # fmt: skip
        first, second = hook_functions.SEEN
        assert len(first["files"]) == 4 and [f["filename"] for f in second["files"]] == ["A4 pdf.pdf"]
        assert second["event"] == "email" and second["action"] == "received" and second["headers"]["subject"] == "Some subject"


class TestConnector:
    def test_the_connector_is_called_last_at_validate_and_save_and_merged_like_a_hook(self) -> None:
        urls: list[str] = []

        def answer(request: httpx.Request) -> httpx.Response:
            urls.append(str(request.url))
            return httpx.Response(200, json={"messages": [{"type": "warning", "content": "legacy says hi"}]})

        specs = [
            ExtensionSpec(name="legacy", type="connector", url="http://legacy.test/api/", queues={"q": []}),
            ExtensionSpec(name="hook", type="webhook", url="http://hook.test/", events=[EVENT, "annotation_content.export"], queues={"q": []}),
        ]
        sender = WebhookSender(transport=httpx.MockTransport(answer))
        try:
            out = run(specs, chunk_of(table_content()), CallOptions("b", 2, sender=sender))
            export_plan = plan_for(specs, "q", "annotation_content.export")
            by_name = {s.name: s for s in specs}
            export_chunk = dataclasses.replace(chunk_of(table_content()), event="annotation_content.export")
            run_chunk_locally(export_plan, export_chunk, lambda n, c, lvl: call_extension(by_name[n], c, level=lvl, options=CallOptions("b", 2, sender=sender)))
        finally:
            sender.close()
        assert urls == ["http://hook.test/", "http://legacy.test/api/validate", "http://hook.test/", "http://legacy.test/api/save"]
        assert [m["source"] for m in doc(out).messages] == ["hook", "legacy"]
