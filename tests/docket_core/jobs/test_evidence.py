"""Where each captured value came from, in the job's datapoints Parquet: read back with pyarrow and DuckDB."""

from __future__ import annotations

import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from docket_core.jobs.models import JobRequest
from docket_core.outputs import DATAPOINTS
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.workflows.model import Evidence, FileContext, StepOutput
from docket_core.workflows.registry import Workflow
from tests.docket_core.jobs.test_jobs import resources, run, settings, stage  # noqa: F401 - fixtures
from tests.helpers import image_folder

NUMBER_BOX = (0.61, 0.82, 0.74, 0.85)


def _read(ctx: FileContext) -> StepOutput:
    return StepOutput(
        datapoints={"invoice_number": "INV-7", "issue_date": datetime.date(2024, 3, 31), "gross_total": 1234.5, "note": "x"},
        evidence={
            "invoice_number": Evidence(page=1, box=(0.70, 0.10, 0.85, 0.12), text="Rechnung Nr. INV-7", confidence=0.97),
            "issue_date": Evidence(page=1, box=(0.70, 0.13, 0.82, 0.15), text="31. März 2024", confidence=0.88),
            "gross_total": Evidence(page=2, box=NUMBER_BOX, text="1.234,50 €", confidence=0.93),
        },
    )


def _amend(ctx: FileContext) -> StepOutput:
    # A later step's own value: where the first step read its value no longer says anything about it.
    return StepOutput(datapoints={"note": "checked"} if ctx.name.endswith("1.jpg") else {"issue_date": datetime.date(2024, 4, 1)})


WORKFLOW = Workflow.build(
    "evidence",
    [("read", _read, ()), ("amend", _amend, ("read",))],
    media=["images"],
    fields={"invoice_number": "string", "issue_date": "date", "gross_total": "float", "note": "string"},
)


class TestDatapointsEvidence:
    def test_page_box_text_and_confidence_land_in_typed_columns(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:  # noqa: F811
        stage(image_folder(tmp_path / "in", 2), resources, settings)
        details = run(JobRequest(batch_id="imgs", workflow_id="evidence", job_id="je"), WORKFLOW, resources, settings)
        assert details["files_succeeded"] == 2
        table = pq.read_table(resources.store().path("jobs/je/datapoints"))
        for name in ("normalized_value", "page", "box_x0", "box_y0", "box_x1", "box_y1", "source_text", "confidence"):
            assert table.schema.field(name).type == DATAPOINTS.field(name).type
        assert table.schema.field("page").type == pa.int32() and table.schema.field("confidence").type == pa.float64()
        rows = {(r["file_name"], r["schema_id"]): r for r in table.to_pylist()}

        total = rows[("img0000.jpg", "gross_total")]
        assert (total["value"], total["normalized_value"], total["number"]) == ("1234.5", "1234.5", 1234.5)
        assert (total["page"], total["source_text"], total["confidence"]) == (2, "1.234,50 €", 0.93)
        assert (total["box_x0"], total["box_y0"], total["box_x1"], total["box_y1"]) == NUMBER_BOX
        assert rows[("img0001.jpg", "issue_date")]["normalized_value"] == "2024-03-31"
        assert rows[("img0001.jpg", "issue_date")]["confidence"] == 0.88
        # Overridden by the later step: its value without the first step's position and confidence.
        amended = rows[("img0000.jpg", "issue_date")]
        assert (amended["normalized_value"], amended["source"], amended["page"], amended["confidence"]) == ("2024-04-01", "amend", None, None)
        note = rows[("img0001.jpg", "note")]
        assert (note["value"], note["page"], note["box_x0"], note["source_text"]) == ("checked", None, None, None)

    def test_duckdb_finds_the_values_read_with_low_confidence(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:  # noqa: F811
        stage(image_folder(tmp_path / "in", 2), resources, settings)
        run(JobRequest(batch_id="imgs", workflow_id="evidence", job_id="jd"), WORKFLOW, resources, settings)
        parts = f"{resources.store().path('jobs/jd/datapoints')}/*.parquet"
        found = duckdb.sql(
            f"SELECT file_name, schema_id, page, round(box_x1 - box_x0, 2) AS width FROM read_parquet('{parts}') "
            "WHERE confidence < 0.9 ORDER BY file_name"
        ).fetchall()
        assert found == [("img0001.jpg", "issue_date", 1, 0.12)]
