"""Scoring rules and the summary table on cases whose right answer is known."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from docket_core.errors import InputError
from docket_core.evaluate.score import is_right, normalize_name, score_document, summarize
from docket_core.evaluate.truth import TruthRecord, read_truth, write_truth


class TestIsRight:
    def test_dates_match_as_days_whatever_type_capture_returns(self) -> None:
        assert is_right("issue_date", "2024-03-05", datetime.date(2024, 3, 5))
        assert is_right("issue_date", "2024-03-05", datetime.datetime(2024, 3, 5, 10, 0))
        assert is_right("due_date", "2024-03-05", "2024-03-05")
        assert not is_right("issue_date", "2024-03-05", datetime.date(2024, 5, 3))
        assert not is_right("issue_date", "2024-03-05", "05.03.2024")

    def test_amounts_match_within_half_a_cent(self) -> None:
        assert is_right("gross_total", "1234.56", 1234.56)
        assert is_right("gross_total", "1234.56", 1234.564)
        assert not is_right("gross_total", "1234.56", 1234.57)
        assert not is_right("net_total", "1234.56", "1.234,56")

    def test_strings_ignore_case_and_spaces_but_not_characters(self) -> None:
        assert is_right("iban", "DE89370400440532013000", "DE89 3704 0044 0532 0130 00")
        assert is_right("invoice_number", "INV-2024-7", "inv-2024-7")
        assert not is_right("invoice_number", "INV-2024-7", "INV-2024-71")
        assert is_right("currency", "EUR", "eur")

    def test_company_names_allow_punctuation_legal_forms_and_an_ocr_slip(self) -> None:
        assert is_right("seller_name", "SEGI CASH & CARRY SDN. BHD.", "SEGI CASH & CARRY SDN BHD")
        assert is_right("seller_name", "Au bon moulin", "Au bon moulin SARL")
        assert is_right("seller_name", "SERI MURNI BAKERIES (KL) SDN BHD", "SERI MURNI BAKERIES (KL) SON BHD")
        assert is_right("buyer_name", "Abnehmer AG Nord", "ABNEHMER AG NORD")
        assert is_right("seller_name", "UNIHAKKA INTERNATIONAL SDN BHD", "UNIHAKKAINTERNATIONALSDNBHD")
        assert not is_right("seller_name", "MOONLIGHT CAKE HOUSE SDN BHD", "MOONLIGHT CAKE HOUSE SDN BHD 862725-U")
        assert not is_right("seller_name", "BENG SOON HARDWARE ENTERPRISE (BUKIT RAJA) SDN BHD", "RAJA)SDNBHD")
        assert not is_right("seller_name", "Lieferant GmbH", "Abnehmer AG Nord")
        assert not is_right("seller_name", "Lieferant GmbH", "GmbH")
        assert normalize_name("Belsenqua Bürotechnik UG (haftungsbeschränkt)") == "belsenqua bürotechnik"

    def test_an_empty_value_is_never_right(self) -> None:
        for field, expected in (("seller_name", "X Ltd"), ("gross_total", "0.00"), ("issue_date", "2024-01-01")):
            assert not is_right(field, expected, None) and not is_right(field, expected, "")


def _truth(file: str, kind: str = "invoice", **fields: str) -> TruthRecord:
    return TruthRecord(file, kind, "de", fields)  # type: ignore[arg-type]


class TestSummary:
    def test_accuracy_coverage_precision_and_auto_confirmation_on_a_known_case(self) -> None:
        base = {"invoice_number": "1", "issue_date": "2024-01-02", "seller_name": "A GmbH", "currency": "EUR",
                "gross_total": "10.00"}  # fmt: skip
        good = {"invoice_number": "1", "issue_date": datetime.date(2024, 1, 2), "seller_name": "A GmbH",
                "currency": "EUR", "gross_total": 10.0}  # fmt: skip
        sure = dict.fromkeys(base, 0.95)
        scores = [
            # right and sure: confirmed, right
            score_document(_truth("a.pdf", **base), good, sure),
            # wrong total but sure: confirmed, wrong
            score_document(_truth("b.pdf", **base), good | {"gross_total": 11.0}, sure),
            # right but one required field unsure: not confirmed
            score_document(_truth("c.pdf", **base), good, sure | {"currency": 0.5}),
            # no total at all: not confirmed, total not covered
            score_document(_truth("d.pdf", **base), good | {"gross_total": None}, sure),
            # a receipt needs only seller, date and total
            score_document(_truth("e.jpg", "receipt", seller_name="S Sdn Bhd", issue_date="2024-02-02", gross_total="3.50"),
                           {"seller_name": "S SDN BHD", "issue_date": "2024-02-02", "gross_total": 3.5},
                           {"seller_name": 0.99, "issue_date": 0.91, "gross_total": 0.9}),
        ]  # fmt: skip
        report = summarize(scores, threshold=0.9).as_dict()
        gross = report["fields"]["gross_total"]
        assert gross == {"documents": 5, "given": 4, "right": 3, "accuracy": 0.6, "coverage": 0.8, "precision": 0.75,
                         "at_threshold": 4, "precision_at_threshold": 0.75}  # fmt: skip
        bins = {(b["from"], b["to"]): (b["values"], b["right"]) for b in report["reliability"]}
        assert bins[(0.5, 0.7)] == (1, 1)  # c's currency
        assert bins[(0.95, 1.0)] == (19, 18)  # b's total is the wrong one
        assert bins[(0.9, 0.95)] == (2, 2)  # e's date and total
        assert report["fields"]["currency"]["documents"] == 4
        assert "due_date" not in report["fields"]
        assert report["field_checks"] == {"right": 21, "total": 23, "accuracy": 21 / 23}
        auto = report["auto_confirm"]
        assert (auto["confirmed"], auto["right"], auto["precision"]) == (3, 2, 2 / 3)
        assert report["documents_all_required_right"] == 3
        assert report["by_group"]["receipt/de"]["field_checks"] == 3

    def test_error_messages_keep_a_document_from_the_queue_rule_only(self) -> None:
        truth = _truth("a.pdf", "receipt", seller_name="S Ltd", issue_date="2024-02-02", gross_total="3.50")
        score = score_document(truth, {"seller_name": "S Ltd", "issue_date": "2024-02-02", "gross_total": 3.5},
                               dict.fromkeys(("seller_name", "issue_date", "gross_total"), 1.0))  # fmt: skip
        score.errors = ["net 1.00 + tax 1.00 = 2.00, but the gross total is 3.50"]
        auto = summarize([score], 0.9).as_dict()["auto_confirm"]
        assert auto["confirmed"] == 1 and auto["confirmed_without_errors"] == 0


class TestTruthFile:
    def test_records_round_trip_through_jsonl(self, tmp_path: Path) -> None:
        records = [_truth("x/ä.pdf", gross_total="1.00"), _truth("y.jpg", "receipt", seller_name="Ü AG")]
        write_truth(tmp_path / "t.jsonl", records)
        assert read_truth(tmp_path / "t.jsonl") == records
        first = json.loads((tmp_path / "t.jsonl").read_text(encoding="utf-8").splitlines()[0])
        assert first == {"file": "x/ä.pdf", "kind": "invoice", "language": "de", "fields": {"gross_total": "1.00"}}

    def test_truth_field_ids_are_fields_the_invoice_workflow_captures(self) -> None:
        from docket_core.evaluate.truth import REQUIRED, TRUTH_FIELDS
        from docket_core.steps.invoice import FIELDS

        assert set(TRUTH_FIELDS) <= set(FIELDS)
        assert all(set(required) <= set(TRUTH_FIELDS) for required in REQUIRED.values())

    def test_an_unknown_field_id_is_refused_with_the_known_ones(self, tmp_path: Path) -> None:
        (tmp_path / "t.jsonl").write_text('{"file": "a.pdf", "kind": "invoice", "fields": {"total": "1"}}\n')
        with pytest.raises(InputError, match=r"t.jsonl:1: unknown field ids \['total'\]; expected some of"):
            read_truth(tmp_path / "t.jsonl")
