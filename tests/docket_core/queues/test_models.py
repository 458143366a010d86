"""Queue schemas, content trees built from captured values, typed values read back, and edits."""

from __future__ import annotations

import datetime

import pytest
from pydantic import ValidationError

from docket_core.errors import InputError
from docket_core.extensions.content import find_by_schema_id, index_content
from docket_core.queues.fields import build_content, content_values, edit_operations, keyed_sources, parse_value
from docket_core.queues.models import FieldSpec, QueueSpec
from tests.docket_core.queues.conftest import invoice_queue


class TestQueueSpec:
    def test_the_invoice_workflow_gives_a_schema_with_line_items_and_a_vendor_id(self) -> None:
        queue = invoice_queue()
        assert [f.id for f in queue.tables()] == ["line_items"]
        assert queue.field("vendor_id") is not None and queue.field("source") is None
        assert {f.id for f in queue.fields if f.required} == {"invoice_number", "issue_date", "seller_name", "gross_total", "currency"}

    def test_a_schema_id_used_twice_is_refused_naming_both_fields(self) -> None:
        table = {"id": "items", "type": "multivalue", "columns": [{"id": "total"}]}
        with pytest.raises(ValidationError, match="'total' appears in 'total' and 'items'"):
            QueueSpec(queue_id="q", fields=[{"id": "total"}, table])

    def test_an_enum_needs_options_and_a_table_columns(self) -> None:
        with pytest.raises(ValidationError, match="enum field 'kind' needs options"):
            QueueSpec(queue_id="q", fields=[{"id": "kind", "type": "enum"}])
        with pytest.raises(ValidationError, match="multivalue field 'items' needs columns"):
            QueueSpec(queue_id="q", fields=[{"id": "items", "type": "multivalue"}])

    def test_a_field_named_like_an_export_column_is_refused(self) -> None:
        with pytest.raises(ValidationError, match=r"field ids \['status'\] are export columns of their own"):
            QueueSpec(queue_id="q", fields=[{"id": "status"}])

    def test_ids_follow_the_rules_with_the_rule_in_the_message(self) -> None:
        with pytest.raises(ValidationError, match=r"queue id must match \^\[a-z0-9_-\]\{1,64\}\$"):
            QueueSpec(queue_id="Bad Queue", fields=[{"id": "x"}])
        with pytest.raises(ValidationError, match="field id must match"):
            QueueSpec(queue_id="q", fields=[{"id": "Total"}])


class TestContent:
    captured = {
        "invoice_number": "INV-7", "issue_date": datetime.date(2024, 3, 1), "gross_total": 119.0, "net_total": 100,
        "line_items": [{"id": "1", "description": "Bolt", "quantity": 2, "unit_price": 0.5, "net_amount": 1.0, "tax_rate": 19.0}],
    }  # fmt: skip

    def test_captured_values_become_a_content_tree_with_unique_ids_and_text_values(self) -> None:
        content = build_content(invoice_queue(), self.captured)
        index = index_content(content)
        assert sorted(index) == list(range(1, len(index) + 1))
        gross, issued = (find_by_schema_id(content, s)[0]["content"] for s in ("gross_total", "issue_date"))
        assert (gross["value"], gross["normalized_value"], issued["value"], issued["normalized_value"]) == ("119.00", "119", "2024-03-01", "2024-03-01")
        assert (gross["page"], gross["position"], gross["rir_text"], gross["rir_confidence"]) == (None, None, None, None)  # nothing said where
        (row,) = find_by_schema_id(content, "line_items")[0]["children"]
        assert row["schema_id"] == "line_item" and [c["schema_id"] for c in row["children"]][:2] == ["item_id", "item_description"]

    def test_typed_values_read_back_from_the_content(self) -> None:
        queue = invoice_queue()
        values = content_values(queue, build_content(queue, self.captured))
        assert (values["gross_total"], values["net_total"], values["issue_date"], values["due_date"]) == (119.0, 100.0, "2024-03-01", None)
        assert values["line_items"] == [{"item_id": "1", "item_description": "Bolt", "item_quantity": 2.0, "item_unit_price": 0.5,
                                         "item_net_amount": 1.0, "item_tax_rate": 19.0}]  # fmt: skip

    def test_numbers_read_with_either_decimal_separator(self) -> None:
        number = FieldSpec(id="n", type="number")
        assert [parse_value(number, t) for t in ("1.234,56", "1,234.56", "12,5", "abc", "")] == [1234.56, 1234.56, 12.5, None, None]

    def test_sources_key_plain_fields_by_id_and_cells_by_datapoint(self) -> None:
        content = build_content(invoice_queue(), self.captured)
        gross = find_by_schema_id(content, "gross_total")[0]["id"]
        cell = find_by_schema_id(content, "item_quantity")[0]["id"]
        assert keyed_sources(content, {str(gross): "a", str(cell): "b"}) == {"gross_total": "a", str(cell): "b"}


class TestEdits:
    def test_an_edit_by_field_or_by_id_becomes_replace_operations(self) -> None:
        queue = invoice_queue()
        content = build_content(queue, TestContent.captured)
        cell = find_by_schema_id(content, "item_quantity")[0]["id"]
        ops = edit_operations(queue, content, {"gross_total": "120.00", f"#{cell}": "3"})
        assert [(op["op"], op["value"]["content"]["value"]) for op in ops] == [("replace", "120.00"), ("replace", "3")]

    def test_a_wrong_value_says_what_was_expected(self) -> None:
        queue = invoice_queue()
        content = build_content(queue, {})
        with pytest.raises(InputError, match="gross_total must be a number like 1234.56, got 'much'"):
            edit_operations(queue, content, {"gross_total": "much"})
        with pytest.raises(InputError, match="issue_date must be a date like 2024-03-31, got '2024-13-01'"):
            edit_operations(queue, content, {"issue_date": "2024-13-01"})

    def test_an_unknown_field_lists_the_fields_and_a_table_says_to_edit_cells(self) -> None:
        queue = invoice_queue()
        content = build_content(queue, {})
        with pytest.raises(InputError, match="has no plain field 'totl' \\(fields: invoice_number, "):
            edit_operations(queue, content, {"totl": "1"})
        with pytest.raises(InputError, match="edit a table's cells by id"):
            edit_operations(queue, content, {"line_items": "1"})
        with pytest.raises(InputError, match="no datapoint with id '#999'"):
            edit_operations(queue, content, {"#999": "1"})
