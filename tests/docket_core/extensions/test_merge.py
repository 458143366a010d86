from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from docket_core.dag import plan_levels
from docket_core.errors import InputError
from docket_core.extensions.content import IdAllocator, find_by_schema_id, index_content, iter_nodes
from docket_core.extensions.local_plan import run_plan_locally
from docket_core.extensions.merge import Conflict, merge_email_files, merge_level
from docket_core.extensions.response import ExtensionResult, HookResponseError, parse_hook_response

FIXTURES = Path(__file__).parents[2] / "fixtures" / "rossum"
NUMBER = 20456864  # the one datapoint of 02's content, schema_id "number"


def load(prefix: str) -> Any:
    (path,) = FIXTURES.glob(f"{prefix}_*.json")
    return json.loads(path.read_text())


def raw(prefix: str) -> bytes:
    (path,) = FIXTURES.glob(f"{prefix}_*.json")
    return path.read_bytes()


def replace(datapoint_id: int, value: str) -> dict[str, Any]:
    return {"op": "replace", "id": datapoint_id, "value": {"content": {"value": value}}}


def value_of(content: list[dict[str, Any]], schema_id: str) -> Any:
    return find_by_schema_id(content, schema_id)[0]["content"]["value"]


@pytest.fixture
def content() -> list[dict[str, Any]]:
    """02's content plus a line items table holding the ids 03's operations target (02 has none of them)."""
    table = {
        "id": 1123124,
        "schema_id": "details",
        "category": "section",
        "children": [
            {"id": 198143, "schema_id": "sender_name", "category": "datapoint", "content": {"value": "Jon"}},
            {
                "id": 884060,
                "schema_id": "line_items",
                "category": "multivalue",
                "children": [
                    {
                        "id": 884061,
                        "schema_id": "line_item",
                        "category": "tuple",
                        "children": [
                            {
                                "id": 884062,
                                "schema_id": "item_description",
                                "category": "datapoint",
                                "content": {"value": "Can"},
                            }
                        ],
                    }
                ],
            },
        ],
    }
    return [*load("02")["annotation"]["content"], table]


class TestParseHookResponse:
    def test_the_annotation_content_response_gives_messages_and_operations(self) -> None:
        result = parse_hook_response(raw("03"), name="validator", level=2)
        assert (result.name, result.level, result.failed) == ("validator", 2, False)
        assert result.messages == [{"content": "Invalid invoice number format", "id": 197467, "type": "error"}]
        assert [op["op"] for op in result.operations] == ["replace", "remove", "add"]

    def test_automation_blockers_are_read(self) -> None:
        result = parse_hook_response(raw("09"), name="vendor-match")
        assert result.messages == [] and result.operations == []
        assert result.automation_blockers == [
            {"id": 1357, "content": "Unregistered vendor"},
            {"content": "PO not found in the master data!"},
        ]

    def test_the_email_response_gives_the_files_kept_and_keeps_the_rest_aside(self) -> None:
        result = parse_hook_response(raw("05"), name="mail-filter")
        assert [f["id"] for f in result.files] == ["3"]
        assert result.extra["additional_files"][0]["import_document"] is True

    def test_the_upload_response_gives_its_per_file_answers(self) -> None:
        result = parse_hook_response(load("07"), name="upload-check")
        assert [f.get("prevent_importing") for f in result.files] == [False, True, None, None]

    def test_a_parsable_error_response_fails_and_keeps_its_message(self) -> None:
        result = parse_hook_response(raw("08"), name="erp", status_code=400)
        assert result.failed
        assert result.error == "webhook answered HTTP 400"
        assert result.messages[0]["content"] == "custom error message to be displayed in the UI"

    def test_an_error_status_ignores_operations(self) -> None:
        result = parse_hook_response(raw("03"), name="erp", status_code=500)
        assert result.failed and result.operations == []

    def test_an_error_status_with_an_unreadable_body_fails_with_that_body(self) -> None:
        result = parse_hook_response(b"<html>Bad Gateway</html>", name="erp", status_code=502)
        assert result.error == "webhook answered HTTP 502: '<html>Bad Gateway</html>'"

    def test_an_empty_body_is_an_empty_answer(self) -> None:
        result = parse_hook_response(b"  ", name="quiet")
        assert (result.messages, result.operations, result.files, result.failed) == ([], [], None, False)

    def test_null_lists_are_empty(self) -> None:
        assert parse_hook_response({"messages": None, "operations": None}, name="x").messages == []

    def test_a_body_that_is_not_json_is_refused(self) -> None:
        with pytest.raises(HookResponseError, match="extension 'erp' must answer a JSON object, got 'OK'"):
            parse_hook_response(b"OK", name="erp")

    def test_a_json_array_is_refused(self) -> None:
        with pytest.raises(HookResponseError, match="must answer a JSON object, got list"):
            parse_hook_response(b"[]", name="erp")

    def test_messages_that_are_not_a_list_are_refused(self) -> None:
        with pytest.raises(HookResponseError, match="messages must be a list of objects"):
            parse_hook_response({"messages": "all good"}, name="erp")

    def test_a_message_of_unknown_type_is_refused(self) -> None:
        with pytest.raises(HookResponseError, match=r"messages\[0\] must have type one of"):
            parse_hook_response({"messages": [{"type": "fatal", "content": "x"}]}, name="erp")

    def test_an_operation_of_unknown_kind_is_refused(self) -> None:
        with pytest.raises(HookResponseError, match=r"operations\[0\] must have op one of"):
            parse_hook_response({"operations": [{"op": "move", "id": 1}]}, name="erp")

    def test_the_error_is_an_input_error(self) -> None:
        assert issubclass(HookResponseError, InputError)


class TestMergeLevel:
    def test_two_replaces_of_one_datapoint_keep_the_first_by_name(self, content: list[dict[str, Any]]) -> None:
        results = [
            ExtensionResult("b-rates", 1, messages=[], operations=[replace(NUMBER, "from b")]),
            ExtensionResult("a-totals", 1, messages=[], operations=[replace(NUMBER, "from a"), replace(198143, "Ann")]),
        ]
        merged = merge_level(content, results, updated_datapoints=set(), id_allocator=IdAllocator.above(content))
        assert value_of(merged.content, "number") == "from a"
        assert value_of(merged.content, "sender_name") == "Ann"
        assert merged.conflicts == [Conflict(NUMBER, kept="a-totals", dropped="b-rates")]
        (message,) = merged.messages
        assert message["type"] == "error" and message["id"] == NUMBER and message["source"] == "b-rates"
        assert "'a-totals' and 'b-rates' both replace datapoint 20456864" in message["content"]

    def test_the_loser_of_a_conflict_still_applies_its_other_operations(self, content: list[dict[str, Any]]) -> None:
        results = [
            ExtensionResult("a", 1, [], [replace(NUMBER, "a")]),
            ExtensionResult("b", 1, [], [replace(NUMBER, "b"), replace(198143, "from b")]),
        ]
        merged = merge_level(content, results, updated_datapoints=set(), id_allocator=IdAllocator.above(content))
        assert value_of(merged.content, "sender_name") == "from b"

    def test_messages_are_concatenated_in_name_order_with_their_source(self, content: list[dict[str, Any]]) -> None:
        results = [
            ExtensionResult("zeta", 1, [{"type": "info", "content": "z"}], []),
            ExtensionResult("alpha", 1, [{"type": "warning", "content": "a1"}, {"type": "info", "content": "a2"}], []),
        ]
        merged = merge_level(content, results, updated_datapoints=set(), id_allocator=IdAllocator.above(content))
        sources = [(m["source"], m["content"]) for m in merged.messages]
        assert sources == [("alpha", "a1"), ("alpha", "a2"), ("zeta", "z")]
        assert "source" not in results[1].messages[0]

    def test_a_failed_extension_adds_an_error_and_no_operations(self, content: list[dict[str, Any]]) -> None:
        failed = ExtensionResult("vendor-match", 1, [], [replace(NUMBER, "never")], error="HTTP 500")
        merged = merge_level(content, [failed], updated_datapoints={1}, id_allocator=IdAllocator.above(content))
        assert value_of(merged.content, "number") == "18 492.48"
        assert merged.messages == [
            {"type": "error", "content": "extension 'vendor-match' failed: HTTP 500", "source": "vendor-match"}
        ]
        assert merged.updated_datapoints == {1}

    def test_a_timed_out_extension_says_after_how_long(self, content: list[dict[str, Any]]) -> None:
        late = ExtensionResult("vendor-match", 1, [], [], timed_out=True, timeout_s=30)
        merged = merge_level(content, [late], updated_datapoints=set(), id_allocator=IdAllocator.above(content))
        assert merged.messages[0]["content"] == "extension 'vendor-match' timed out after 30 s"

    def test_operations_that_cannot_apply_are_dropped_all_together(self, content: list[dict[str, Any]]) -> None:
        bad = ExtensionResult("sloppy", 1, [], [replace(NUMBER, "half"), {"op": "remove", "id": 999}])
        merged = merge_level(content, [bad], updated_datapoints=set(), id_allocator=IdAllocator.above(content))
        assert value_of(merged.content, "number") == "18 492.48"
        assert "extension 'sloppy' returned operations that cannot apply, none applied" in merged.messages[0]["content"]
        assert "targets id 999" in merged.messages[0]["content"]

    def test_updated_datapoints_are_the_union_with_the_input(self, content: list[dict[str, Any]]) -> None:
        results = [ExtensionResult("a", 1, [], [replace(NUMBER, "1")])]
        merged = merge_level(content, results, updated_datapoints={11213211}, id_allocator=IdAllocator.above(content))
        assert merged.updated_datapoints == {11213211, NUMBER}

    def test_the_input_content_is_not_changed(self, content: list[dict[str, Any]]) -> None:
        before = copy.deepcopy(content)
        merged = merge_level(content, [], updated_datapoints=set(), id_allocator=IdAllocator.above(content))
        merged.content[0]["children"][0]["content"]["value"] = "changed afterwards"
        one = [ExtensionResult("a", 1, [], [replace(NUMBER, "1")])]
        merge_level(content, one, updated_datapoints=set(), id_allocator=IdAllocator.above(content))
        assert content == before

    def test_an_extension_listed_twice_is_refused(self, content: list[dict[str, Any]]) -> None:
        twice = [ExtensionResult("a", 1, [], []), ExtensionResult("a", 1, [], [])]
        with pytest.raises(InputError, match=r"each extension must appear once in a level, got \['a'\]"):
            merge_level(content, twice, updated_datapoints=set(), id_allocator=IdAllocator.above(content))


class TestRunPlanLocally:
    def test_the_example_response_applies_through_a_plan(self, content: list[dict[str, Any]]) -> None:
        def runner(name: str, seen: list[dict[str, Any]], updated: set[int]) -> ExtensionResult:
            return parse_hook_response(raw("03"), name=name)

        final = run_plan_locally([["validator"]], runner, content)
        assert value_of(final.content, "sender_name") == "John"
        assert [row["id"] for row in index_content(final.content)[884060]["children"]] != [884061]
        assert final.messages == [
            {"content": "Invalid invoice number format", "id": 197467, "type": "error", "source": "validator"}
        ]

    def test_a_successor_sees_its_predecessors_replaced_value(self, content: list[dict[str, Any]]) -> None:
        seen: dict[str, Any] = {}

        def runner(name: str, current: list[dict[str, Any]], updated: set[int]) -> ExtensionResult:
            seen[name] = (value_of(current, "number"), set(updated))
            if name == "normalize":
                return ExtensionResult(name, 0, [], [replace(NUMBER, "18492.48")])
            return ExtensionResult(name, 0, [], [])

        levels = plan_levels({"normalize": set(), "check": {"normalize"}})
        final = run_plan_locally(levels, runner, content, updated_datapoints={11213211})
        assert seen["normalize"] == ("18 492.48", {11213211})
        assert seen["check"] == ("18492.48", {11213211, NUMBER})
        assert [r.level for r in final.results] == [1, 2]

    def test_updated_datapoints_grow_across_levels_with_an_added_row_and_its_cells(
        self, content: list[dict[str, Any]]
    ) -> None:
        add_row = load("03")["operations"][2]  # add one row with an item_description cell to 884060
        received: dict[str, set[int]] = {}

        def runner(name: str, current: list[dict[str, Any]], updated: set[int]) -> ExtensionResult:
            received[name] = set(updated)
            operations = {"rows": [add_row], "totals": [replace(198143, "Total Ltd")]}.get(name, [])
            return ExtensionResult(name, 0, [], operations)

        levels = plan_levels({"rows": set(), "totals": {"rows"}, "report": {"totals"}})
        final = run_plan_locally(levels, runner, content)
        new_row = index_content(final.content)[884060]["children"][-1]
        row_and_cells = {n["id"] for n in iter_nodes([new_row])}
        assert len(row_and_cells) == 2
        assert received["rows"] == set()
        assert received["totals"] == row_and_cells | {884060}
        assert received["report"] == row_and_cells | {884060, 198143}
        assert final.updated_datapoints == received["report"]

    def test_added_ids_stay_fresh_across_levels_even_after_removals(self, content: list[dict[str, Any]]) -> None:
        add_row = load("03")["operations"][2]

        def runner(name: str, current: list[dict[str, Any]], updated: set[int]) -> ExtensionResult:
            if name == "add":
                return ExtensionResult(name, 0, [], [add_row])
            rows = index_content(current)[884060]["children"]
            return ExtensionResult(name, 0, [], [{"op": "remove", "id": rows[-1]["id"]}, add_row])

        final = run_plan_locally(plan_levels({"add": set(), "swap": {"add"}}), runner, content)
        first_row_id = min(final.updated_datapoints - {884060})
        last_row = index_content(final.content)[884060]["children"][-1]
        assert last_row["id"] > first_row_id  # the removed row's id was not handed out again

    def test_a_failed_extensions_successors_still_run(self, content: list[dict[str, Any]]) -> None:
        ran: list[str] = []

        def runner(name: str, current: list[dict[str, Any]], updated: set[int]) -> ExtensionResult:
            ran.append(name)
            if name == "vendor-match":
                raise ConnectionError("connection refused")
            if name == "lookup":
                return ExtensionResult(name, 0, [], [replace(NUMBER, "x")], error="HTTP 503")
            return ExtensionResult(name, 0, [{"type": "info", "content": f"{name} ran"}], [])

        spec = {"lookup": set(), "vendor-match": set(), "export": {"vendor-match", "lookup"}}
        final = run_plan_locally(plan_levels(spec), runner, content)
        assert ran == ["lookup", "vendor-match", "export"]
        assert value_of(final.content, "number") == "18 492.48"
        assert [m["content"] for m in final.messages] == [
            "extension 'lookup' failed: HTTP 503",
            "extension 'vendor-match' failed: ConnectionError: connection refused",
            "export ran",
        ]

    def test_the_starting_content_is_not_changed(self, content: list[dict[str, Any]]) -> None:
        before = copy.deepcopy(content)

        def runner(name: str, current: list[dict[str, Any]], updated: set[int]) -> ExtensionResult:
            current[0]["children"].clear()  # a careless extension cannot reach the shared content
            return ExtensionResult(name, 0, [], [replace(NUMBER, "1")])

        final = run_plan_locally([["a"], ["b"]], runner, content)
        assert content == before
        assert value_of(final.content, "number") == "1"


class TestMergeEmailFiles:
    @pytest.fixture
    def email_files(self) -> list[dict[str, Any]]:
        return load("04")["files"]

    def test_the_files_kept_are_the_intersection_in_the_original_order(self, email_files: list[dict[str, Any]]) -> None:
        kept_by_filter = load("05")["files"]  # only file "3"
        kept_by_other = [{"id": "4"}, {"id": "3"}, {"id": "1"}]
        merged = merge_email_files([kept_by_other, kept_by_filter], original=email_files)
        assert [f["id"] for f in merged] == ["3"]
        assert merged[0]["filename"] == "A4 pdf.pdf"
        assert merged[0]["values"] == load("05")["files"][0]["values"]

    def test_none_means_an_extension_kept_every_file(self, email_files: list[dict[str, Any]]) -> None:
        merged = merge_email_files([None, [{"id": "4"}, {"id": "2"}]], original=email_files)
        assert [f["filename"] for f in merged] == ["MS word.docx", "unknown_file"]

    def test_files_can_be_matched_by_name(self) -> None:
        merged = merge_email_files([[{"filename": "b.pdf"}, {"filename": "a.pdf"}], [{"filename": "a.pdf"}]])
        assert merged == [{"filename": "a.pdf"}]

    def test_nobody_listing_files_keeps_everything(self, email_files: list[dict[str, Any]]) -> None:
        assert merge_email_files([None, None]) is None
        assert merge_email_files([None], original=email_files) == email_files

    def test_values_of_every_extension_are_combined(self) -> None:
        a = [{"id": "3", "values": [{"id": "email:invoice_id", "value": "INV1"}]}]
        b = [{"id": "3", "values": [{"id": "email:invoice_id", "value": "other"}, {"id": "email:po", "value": "PO7"}]}]
        (merged,) = merge_email_files([a, b])
        assert merged["values"] == [{"id": "email:invoice_id", "value": "INV1"}, {"id": "email:po", "value": "PO7"}]

    def test_a_file_without_any_identity_is_refused(self) -> None:
        with pytest.raises(InputError, match="an email file needs an id, filename, name or document"):
            merge_email_files([[{"values": []}]])

    def test_a_plan_keeps_what_every_working_extension_kept(self, email_files: list[dict[str, Any]]) -> None:
        answers = {
            "filter": parse_hook_response(raw("05"), name="filter"),
            "broken": ExtensionResult("broken", 0, [], [], error="HTTP 500", files=[]),
            "keep-all": ExtensionResult("keep-all", 0, [], []),
        }
        final = run_plan_locally([sorted(answers)], lambda name, c, u: answers[name], [], original_files=email_files)
        assert [f["id"] for f in final.files] == ["3"]
