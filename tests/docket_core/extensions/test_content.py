from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from docket_core.errors import InputError
from docket_core.extensions.content import (
    ContentError,
    IdAllocator,
    OperationError,
    apply_operations,
    find_by_schema_id,
    index_content,
    iter_nodes,
    max_id,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "rossum"


def _datapoint(node_id: int, schema_id: str, value: str) -> dict[str, Any]:
    return {"id": node_id, "schema_id": schema_id, "category": "datapoint", "content": {"value": value}}


def load(prefix: str) -> Any:
    (path,) = FIXTURES.glob(f"{prefix}_*.json")
    return json.loads(path.read_text())


@pytest.fixture
def content_02() -> list[dict[str, Any]]:
    """The content tree of Rossum's annotation_content request example, as sent."""
    return load("02")["annotation"]["content"]


@pytest.fixture
def operations_03() -> list[dict[str, Any]]:
    return load("03")["operations"]


@pytest.fixture
def content(content_02: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """02's content plus a section holding the ids 03's operations target, which 02 does not have."""
    details = {
        "id": 1123124,
        "schema_id": "details",
        "category": "section",
        "children": [
            _datapoint(197467, "invoice_id", "INV 1"),
            _datapoint(198143, "sender_name", "Jon"),
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
                            _datapoint(884062, "item_description", "Can"),
                            _datapoint(884063, "item_amount", "3.00"),
                        ],
                    }
                ],
            },
            {"id": 884070, "schema_id": "po_numbers", "category": "multivalue", "children": []},
        ],
    }
    return [*content_02, details]


class TestReadingContent:
    def test_the_example_content_is_indexed_by_id(self, content_02: list[dict[str, Any]]) -> None:
        index = index_content(content_02)
        assert sorted(index) == [1123123, 20456864]
        assert index[20456864]["content"]["value"] == "18 492.48"

    def test_nodes_come_parents_first_in_document_order(self, content: list[dict[str, Any]]) -> None:
        ids = [node["id"] for node in iter_nodes(content)]
        assert ids[:3] == [1123123, 20456864, 1123124]
        assert ids.index(884061) < ids.index(884062) < ids.index(884063) < ids.index(884070)

    def test_nodes_are_found_by_schema_id(self, content: list[dict[str, Any]]) -> None:
        assert [n["id"] for n in find_by_schema_id(content, "item_description")] == [884062]
        assert find_by_schema_id(content, "missing") == []

    def test_the_highest_id_is_known(self, content: list[dict[str, Any]]) -> None:
        assert max_id(content) == 20456864
        assert max_id([]) == 0

    def test_a_duplicate_id_is_refused(self, content_02: list[dict[str, Any]]) -> None:
        content_02[0]["children"].append(copy.deepcopy(content_02[0]["children"][0]))
        with pytest.raises(ContentError, match="id 20456864 appears twice"):
            index_content(content_02)

    def test_a_node_without_an_integer_id_is_refused(self) -> None:
        with pytest.raises(ContentError, match="integer id, got '7'"):
            index_content([{"id": "7", "schema_id": "s", "category": "section", "children": []}])

    def test_an_unknown_category_is_refused(self) -> None:
        with pytest.raises(ContentError, match="category one of"):
            index_content([{"id": 7, "schema_id": "s", "category": "table"}])


class TestApplyingTheExampleResponse:
    def test_its_ids_are_not_in_the_example_request_content(
        self, content_02: list[dict[str, Any]], operations_03: list[dict[str, Any]]
    ) -> None:
        with pytest.raises(OperationError, match=r"operations\[0\] \(replace\) targets id 198143, which is not in"):
            apply_operations(content_02, operations_03)

    def test_replace_updates_the_datapoint_and_its_other_keys(
        self, content: list[dict[str, Any]], operations_03: list[dict[str, Any]]
    ) -> None:
        new, _ = apply_operations(content, operations_03)
        sender = index_content(new)[198143]
        assert sender["content"] == {"value": "John", "position": [103, 110, 121, 122], "page": 1}
        assert sender["hidden"] is False
        assert sender["options"] == []
        assert sender["validation_sources"] == ["human"]
        assert sender["schema_id"] == "sender_name"

    def test_remove_takes_the_row_with_its_cells(
        self, content: list[dict[str, Any]], operations_03: list[dict[str, Any]]
    ) -> None:
        new, _ = apply_operations(content, operations_03)
        index = index_content(new)
        assert not {884061, 884062, 884063} & set(index)

    def test_add_makes_a_row_of_the_cells_with_fresh_ids(
        self, content: list[dict[str, Any]], operations_03: list[dict[str, Any]]
    ) -> None:
        new, changed = apply_operations(content, operations_03)
        (row,) = index_content(new)[884060]["children"]
        (cell,) = row["children"]
        assert row["category"] == "tuple"
        assert row["schema_id"] == "line_item"  # learned from the row 03 removed just before
        assert cell["schema_id"] == "item_description"
        assert cell["category"] == "datapoint"
        assert cell["content"] == {"page": 1, "position": [162, 852, 371, 875], "value": "Bottle"}
        assert row["id"] > max_id(content) and cell["id"] > max_id(content)
        assert changed == {198143, 884060, row["id"], cell["id"]}

    def test_the_input_is_never_changed(
        self, content: list[dict[str, Any]], operations_03: list[dict[str, Any]]
    ) -> None:
        content_before, operations_before = copy.deepcopy(content), copy.deepcopy(operations_03)
        new, _ = apply_operations(content, operations_03)
        find_by_schema_id(new, "item_description")[0]["content"]["value"] = "changed afterwards"
        assert content == content_before
        assert operations_03 == operations_before


class TestApplyingOperations:
    def test_a_changed_value_drops_the_stale_normalized_value(self, content_02: list[dict[str, Any]]) -> None:
        replace = {"op": "replace", "id": 20456864, "value": {"content": {"value": "20 000.00"}}}
        new, changed = apply_operations(content_02, [replace])
        assert index_content(new)[20456864]["content"] == {"value": "20 000.00", "page": 2}
        assert changed == {20456864}

    def test_a_given_normalized_value_is_kept(self, content_02: list[dict[str, Any]]) -> None:
        value = {"content": {"value": "20 000.00", "normalized_value": "20000.00"}}
        new, _ = apply_operations(content_02, [{"op": "replace", "id": 20456864, "value": value}])
        assert index_content(new)[20456864]["content"]["normalized_value"] == "20000.00"

    def test_an_id_given_as_a_string_of_digits_is_accepted(self, content_02: list[dict[str, Any]]) -> None:
        replace = {"op": "replace", "id": "20456864", "value": {"content": {"value": "1"}}}
        _, changed = apply_operations(content_02, [replace])
        assert changed == {20456864}

    def test_replacing_a_section_is_refused(self, content_02: list[dict[str, Any]]) -> None:
        with pytest.raises(OperationError, match="can replace only a datapoint, got section 1123123"):
            apply_operations(content_02, [{"op": "replace", "id": 1123123, "value": {"content": {"value": "x"}}}])

    def test_replacing_the_schema_id_is_refused(self, content_02: list[dict[str, Any]]) -> None:
        with pytest.raises(OperationError, match="must not change schema_id"):
            apply_operations(content_02, [{"op": "replace", "id": 20456864, "value": {"schema_id": "other"}}])

    def test_adding_to_a_datapoint_is_refused(self, content_02: list[dict[str, Any]]) -> None:
        with pytest.raises(OperationError, match="can add only to a multivalue, got datapoint 20456864"):
            apply_operations(content_02, [{"op": "add", "id": 20456864, "value": [{"schema_id": "x"}]}])

    def test_removing_a_datapoint_of_a_section_is_refused(self, content_02: list[dict[str, Any]]) -> None:
        with pytest.raises(OperationError, match="can remove only a row or an item of a multivalue"):
            apply_operations(content_02, [{"op": "remove", "id": 20456864}])

    def test_an_unknown_op_is_refused(self, content_02: list[dict[str, Any]]) -> None:
        with pytest.raises(OperationError, match="must have op 'replace', 'remove' or 'add', got 'move'"):
            apply_operations(content_02, [{"op": "move", "id": 20456864}])

    def test_operation_errors_are_input_errors(self) -> None:
        assert issubclass(OperationError, InputError)

    def test_rows_can_be_given_as_tuples_with_their_cells(self, content: list[dict[str, Any]]) -> None:
        cell = {"schema_id": "item_amount", "content": {"value": "9.50"}}
        rows = [{"schema_id": "line_item", "children": [cell]}] * 2
        new, changed = apply_operations(content, [{"op": "add", "id": 884060, "value": rows}])
        added = index_content(new)[884060]["children"][1:]
        assert [row["children"][0]["content"]["value"] for row in added] == ["9.50", "9.50"]
        new_ids = {n["id"] for n in iter_nodes(added)}
        assert len(new_ids) == 4
        assert changed == new_ids | {884060}

    def test_an_empty_multivalue_needs_to_know_what_it_holds(self, content: list[dict[str, Any]]) -> None:
        add = {"op": "add", "id": 884070, "value": [{"schema_id": "po_number", "content": {"value": "PO1"}}]}
        with pytest.raises(OperationError, match="multivalue 884070 .'po_numbers'. has no child to tell"):
            apply_operations(content, [add])
        new, _ = apply_operations(content, [add], multivalue_children={"po_numbers": "po_number"})
        (item,) = index_content(new)[884070]["children"]
        assert (item["category"], item["content"]["value"]) == ("datapoint", "PO1")

    def test_ids_already_in_the_content_are_never_allocated(self, content: list[dict[str, Any]]) -> None:
        allocator = IdAllocator(884062)  # would hand out existing ids first
        add = {"op": "add", "id": 884060, "value": [{"schema_id": "item_description"}]}
        new, changed = apply_operations(content, [add], id_allocator=allocator)
        assert len(index_content(new)) == len(index_content(content)) + 2
        assert not (changed - {884060}) & set(index_content(content))
