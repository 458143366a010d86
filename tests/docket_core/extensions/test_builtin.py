"""The built-in function extensions on real requests for an invoice queue."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from docket_core.errors import InputError
from docket_core.extensions.builtin import BUILTINS, check_fields, fill_from_vendor, fill_tax_rate, match_vendor
from docket_core.extensions.content import apply_operations, find_by_schema_id
from docket_core.extensions.payload import annotation_request
from docket_core.queues.defaults import schema_for_workflow
from docket_core.queues.fields import build_content
from docket_core.queues.models import QueueSpec
from docket_core.workflows.registry import builtin_workflows, import_function

INVOICE = next(w for w in builtin_workflows() if w.workflow_id == "invoice-capture")
QUEUE = QueueSpec(queue_id="invoices", workflow_id="invoice-capture", fields=schema_for_workflow(INVOICE)[0])
VENDORS = [
    {"vendor_id": "V-100", "name": "Nordlicht Werkzeuge GmbH", "vat_id": "DE123456789", "iban": "DE89370400440532013000"},
    {"vendor_id": "V-200", "name": "Quartz Analytics Ltd", "vat_id": "GB123456789", "iban": ""},
    {"vendor_id": "V-300", "name": "Harbour Lane Stationery Ltd", "vat_id": "", "iban": "GB29NWBK60161331926819"},
    {"vendor_id": "V-301", "name": "Harbour Lane Stationery Limited", "vat_id": "", "iban": ""},
]


def request(values: dict[str, Any], settings: dict[str, Any] | None = None) -> dict[str, Any]:
    return annotation_request(
        extension="x", settings=settings or {}, event="annotation_content.initialize", base_url="http://d",
        document={"document_id": 1, "queue_id": "invoices"}, content=build_content(QUEUE, values), updated_datapoints=[],
        queue_schema=QUEUE.fields_json(full=True),
    )  # fmt: skip


def applied(payload: dict[str, Any], answer: dict[str, Any]) -> dict[str, str]:
    content, _ = apply_operations(payload["annotation"]["content"], answer["operations"])
    return {f.id: find_by_schema_id(content, f.id)[0]["content"]["value"] for f in QUEUE.scalar_fields()}


@pytest.fixture
def vendors_csv(tmp_path: Path) -> Path:
    path = tmp_path / "vendors.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(VENDORS[0]))
        writer.writeheader()
        writer.writerows(VENDORS)
    return path


class TestBuiltins:
    def test_every_short_name_imports(self) -> None:
        assert all(callable(import_function(path)) for path in BUILTINS.values())


class TestTaxFill:
    def test_the_rate_is_derived_from_tax_and_net(self) -> None:
        payload = request({"net_total": 100.0, "tax_total": 19.0, "gross_total": 119.0})
        answer = fill_tax_rate(payload)
        assert applied(payload, answer)["tax_rate"] == "19.00"
        assert answer["messages"][0]["content"] == "tax_rate 19.00 % derived from tax 19.00 / net 100.00"
        assert answer["messages"][0]["id"] == find_by_schema_id(payload["annotation"]["content"], "tax_rate")[0]["id"]

    def test_net_and_tax_come_from_gross_and_rate(self) -> None:
        payload = request({"gross_total": 119.0, "tax_rate": 19.0})
        values = applied(payload, fill_tax_rate(payload))
        assert (values["net_total"], values["tax_total"]) == ("100.00", "19.00")

    def test_tax_and_gross_come_from_net_and_rate(self) -> None:
        payload = request({"net_total": 200.0, "tax_rate": 7.0})
        values = applied(payload, fill_tax_rate(payload))
        assert (values["tax_total"], values["gross_total"]) == ("14.00", "214.00")

    def test_a_filled_value_is_never_overwritten(self) -> None:
        payload = request({"net_total": 100.0, "tax_total": 19.0, "gross_total": 119.0, "tax_rate": 20.0})
        assert fill_tax_rate(payload) == {"messages": [], "operations": [], "automation_blockers": []}

    def test_with_a_zero_net_it_says_why_no_rate_was_derived(self) -> None:
        payload = request({"net_total": 0.0, "tax_total": 0.0})
        answer = fill_tax_rate(payload)
        assert applied(payload, answer)["tax_rate"] == ""
        assert any(m["content"] == "tax rate cannot be derived: the net total is 0" for m in answer["messages"])


class TestFieldChecks:
    def test_required_fields_and_totals_that_do_not_add_up_are_errors(self) -> None:
        payload = request({"invoice_number": "INV-1", "net_total": 100.0, "tax_total": 19.0, "gross_total": 129.0, "currency": "EUR"})
        contents = [m["content"] for m in check_fields(payload)["messages"]]
        assert "issue_date is required; enter it before confirming" in contents
        assert "seller_name is required; enter it before confirming" in contents
        assert "net 100.00 + tax 19.00 = 119.00, but the gross total is 129.00 (difference 10.00)" in contents
        assert all(m["type"] == "error" for m in check_fields(payload)["messages"])

    def test_values_of_the_wrong_type_are_errors_saying_what_was_expected(self) -> None:
        payload = request({"invoice_number": "1", "issue_date": "31.02.2024", "seller_name": "S", "gross_total": "lots", "currency": "EUR"})
        contents = [m["content"] for m in check_fields(payload)["messages"]]
        assert "issue_date must be a date like 2024-03-31, got '31.02.2024'" in contents
        assert "gross_total must be a number, got 'lots'" in contents

    def test_a_complete_invoice_passes(self) -> None:
        payload = request({"invoice_number": "1", "issue_date": "2024-03-01", "due_date": "2024-03-31", "seller_name": "S",
                           "gross_total": 119.0, "net_total": 100.0, "tax_total": 19.0, "currency": "EUR"})  # fmt: skip
        assert check_fields(payload)["messages"] == []

    def test_due_before_issue_is_an_error(self) -> None:
        payload = request({"invoice_number": "1", "issue_date": "2024-03-31", "due_date": "2024-03-01", "seller_name": "S",
                           "gross_total": 1.0, "currency": "EUR"})  # fmt: skip
        assert [m["content"] for m in check_fields(payload)["messages"]] == ["due date 2024-03-01 is before the issue date 2024-03-31"]


class TestVendorMatch:
    def test_an_exact_vat_id_wins_whatever_the_name(self, vendors_csv: Path) -> None:
        payload = request({"seller_name": "Someone Else", "seller_vat_id": "DE 123.456.789"}, {"master_data": str(vendors_csv)})
        answer = match_vendor(payload)
        assert applied(payload, answer)["vendor_id"] == "V-100"
        assert answer["messages"][0]["content"] == "vendor V-100 (Nordlicht Werkzeuge GmbH) matched by VAT id DE 123.456.789"

    def test_an_iban_matches_when_there_is_no_vat_id(self, vendors_csv: Path) -> None:
        payload = request({"iban": "GB29 NWBK 6016 1331 9268 19"}, {"master_data": str(vendors_csv)})
        assert applied(payload, match_vendor(payload))["vendor_id"] == "V-300"

    def test_a_fuzzy_name_matches_ignoring_the_legal_form(self, vendors_csv: Path) -> None:
        payload = request({"seller_name": "Nordlicht Werkzeug AG"}, {"master_data": str(vendors_csv)})
        answer = match_vendor(payload)
        assert applied(payload, answer)["vendor_id"] == "V-100" and "by name" in answer["messages"][0]["content"]

    def test_a_shared_legal_form_alone_matches_nothing(self, vendors_csv: Path) -> None:
        payload = request({"seller_name": "Acme GmbH"}, {"master_data": str(vendors_csv)})
        answer = match_vendor(payload)
        assert answer["operations"] == []
        assert answer["messages"][0]["content"].startswith("no vendor in the master data matches the seller (name 'Acme GmbH')")
        assert answer["automation_blockers"][0]["content"].endswith("enter vendor_id by hand")

    def test_several_close_names_are_not_guessed(self, vendors_csv: Path) -> None:
        payload = request({"seller_name": "Harbour Lane Stationery"}, {"master_data": str(vendors_csv)})
        answer = match_vendor(payload)
        assert answer["operations"] == [] and answer["automation_blockers"]
        assert "several vendors match the name 'Harbour Lane Stationery': V-300" in answer["messages"][0]["content"]

    def test_a_vendor_id_already_known_stands(self, vendors_csv: Path) -> None:
        payload = request({"vendor_id": "V-200", "seller_vat_id": "DE123456789"}, {"master_data": str(vendors_csv)})
        assert match_vendor(payload) == {"messages": [], "operations": [], "automation_blockers": []}

    def test_parquet_master_data_with_other_column_names(self, tmp_path: Path) -> None:
        path = tmp_path / "vendors.parquet"
        pq.write_table(pa.Table.from_pylist([{"id": "P1", "company": "Blue Fin Ltd", "ust": "GB999999999", "konto": ""}]), path)
        settings = {"master_data": str(path), "columns": {"vendor_id": "id", "name": "company", "vat_id": "ust", "iban": "konto"}}
        payload = request({"seller_vat_id": "GB999999999"}, settings)
        assert applied(payload, match_vendor(payload))["vendor_id"] == "P1"

    def test_missing_master_data_says_what_to_set(self, tmp_path: Path) -> None:
        with pytest.raises(InputError, match="vendor master data .* cannot be read"):
            match_vendor(request({"seller_name": "x"}, {"master_data": str(tmp_path / "none.csv")}))

    def test_a_schema_without_the_target_datapoint_is_an_error_message(self, vendors_csv: Path) -> None:
        answer = match_vendor(request({}, {"master_data": str(vendors_csv), "target": "supplier_id"}))
        assert "needs a datapoint 'supplier_id' in the queue schema" in answer["messages"][0]["content"]


class TestVendorFill:
    def test_empty_fields_are_filled_and_disagreements_flagged(self, vendors_csv: Path) -> None:
        payload = request({"vendor_id": "V-100", "seller_name": "Nordlicht Werkzeuge", "iban": "DE00999"}, {"master_data": str(vendors_csv)})
        answer = fill_from_vendor(payload)
        assert applied(payload, answer)["seller_vat_id"] == "DE123456789"
        contents = [m["content"] for m in answer["messages"]]
        assert "seller_vat_id filled from vendor V-100" in contents
        assert "iban 'DE00999' differs from vendor V-100's 'DE89370400440532013000'" in contents
        assert not any("seller_name" in c for c in contents)  # the same name without "GmbH" is the same name

    def test_a_value_the_master_data_confirms_is_marked_validated_by_data_matching(self, vendors_csv: Path) -> None:
        payload = request({"vendor_id": "V-100", "seller_name": "Nordlicht Werkzeuge GmbH", "seller_vat_id": "DE 123.456.789"},
                          {"master_data": str(vendors_csv)})  # fmt: skip
        answer = fill_from_vendor(payload)
        content, _ = apply_operations(payload["annotation"]["content"], answer["operations"])
        marked = {f: find_by_schema_id(content, f)[0].get("validation_sources") for f in ("seller_name", "seller_vat_id", "iban")}
        assert marked == {"seller_name": ["data_matching"], "seller_vat_id": ["data_matching"], "iban": []}  # Rossum: a list, empty when unvalidated
        assert applied(payload, answer)["seller_name"] == "Nordlicht Werkzeuge GmbH"  # the value itself stays as read
        again = request({"vendor_id": "V-100", "seller_name": "Nordlicht Werkzeuge"}, {"master_data": str(vendors_csv)})
        assert not [op for op in fill_from_vendor(again)["operations"] if op["value"].get("validation_sources")]  # only alike

    def test_without_a_vendor_id_it_does_nothing(self, vendors_csv: Path) -> None:
        assert fill_from_vendor(request({}, {"master_data": str(vendors_csv)}))["operations"] == []
