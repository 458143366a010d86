"""What `docket demo` prints about captured values: where each was found and with what confidence."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from docket_core.cli.demo import PHOTOGRAPHED, where_found
from docket_core.outputs import DATAPOINTS, FileResult, datapoint_rows
from docket_core.workflows.model import Evidence


def test_each_value_is_shown_with_its_page_box_and_confidence_or_why_it_has_none(tmp_path: Path) -> None:
    receipt = FileResult(PHOTOGRAPHED, "image/jpeg", None, "succeeded", {"gross_total": 9.9, "currency": "GBP", "source": "ocr"},
                         evidence={"gross_total": Evidence(1, (0.7, 0.61, 0.8, 0.63), "9.90", 0.94)})  # fmt: skip
    einvoice = FileResult("invoice-01-facturx.pdf", "application/pdf", None, "succeeded", {"invoice_number": "FX-1", "source": "embedded-xml"})
    nothing = FileResult("invoice-07-scanned.pdf", "application/pdf", None, "succeeded", {"invoice_number": None})
    rows = [row for result in (receipt, einvoice, nothing) for row in datapoint_rows("b", "j", result)]
    pq.write_table(pa.Table.from_pylist(rows, schema=DATAPOINTS), tmp_path / "part-00000.parquet")
    lines = where_found(str(tmp_path))
    assert lines == [
        "  invoice-01-facturx.pdf: (embedded-xml)",
        f"      {'invoice_number':<15}{'FX-1':<28} exact, from the e-invoice XML",
        "  invoice-02-text-en.pdf: nothing captured",
        "  invoice-07-scanned.pdf: nothing captured",
        f"  {PHOTOGRAPHED}: (ocr)",
        f"      {'gross_total':<15}{'9.9':<28} page 1 box (0.70, 0.61, 0.80, 0.63) confidence 0.94",
        f"      {'currency':<15}{'GBP':<28} no position reported",
    ]
