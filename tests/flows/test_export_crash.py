"""The export killed mid-way (SIGKILL, a real child process) and run again: no document lost or doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from docket_core.queues.capture import capture_chunk
from docket_core.queues.documents import list_documents
from docket_core.queues.export import unfinished_exports
from docket_core.queues.importing import ImportRequest, register_import
from docket_core.queues.registry import save_queue
from docket_core.queues.review import set_status
from docket_core.resources import Resources
from docket_core.settings import get_settings
from tests.flows.test_queue_flows import stage
from docket_core.invoice_samples.sample_set import write_sample_invoices
from tests.docket_core.queues.conftest import invoice_queue

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]
ROOT = Path(__file__).parents[2]


def confirmed_documents(tmp_path: Path, resources: Resources, count: int, seed: int) -> list[int]:
    settings = get_settings()
    staged = stage(write_sample_invoices(tmp_path / f"in{seed}", count=count, seed=seed), resources)
    plan = register_import(ImportRequest(queue_id="invoices", source="files", files=staged), resources, settings)
    capture_chunk(plan.document_ids, "invoices", resources, settings, actor="test")
    set_status(resources.catalog(), plan.document_ids, "confirmed", actor="test")
    return plan.document_ids


def kill_export_at(point: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())  # the child joins the test server
    marker = tmp_path / f"reached-{point}"
    child = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "tests.flows.export_child", "invoices", point, str(marker)],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while not marker.exists():
        if child.poll() is not None:
            raise AssertionError(f"the child ended before {point}: {child.stderr.read().decode()[-2000:] if child.stderr else ''}")
        assert time.monotonic() < deadline, f"the child never reached {point}"
        time.sleep(0.1)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    if child.stderr:
        child.stderr.close()


def exported_ids(resources: Resources) -> list[int]:
    parts = sorted(Path(resources.store().path("exports")).rglob("*.parquet"))
    return sorted(i for part in parts for i in pq.read_table(part).column("document_id").to_pylist())


class TestKilledExport:
    @pytest.mark.parametrize("point", ["after-claim", "after-write"])
    def test_a_killed_export_is_finished_by_the_next_run_and_exports_each_document_once(
        self, point: str, tmp_path: Path, docket_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from flows.export_queue import export_queue

        resources = Resources.from_settings()
        with resources.catalog().begin() as conn:
            save_queue(conn, invoice_queue(), source="test")
        first = confirmed_documents(tmp_path, resources, 3, seed=1)

        kill_export_at(point, tmp_path, monkeypatch)
        (stuck,) = unfinished_exports(resources.catalog(), "invoices")
        statuses = {d["document_id"]: d["status"] for d in list_documents(resources.catalog(), "invoices")}
        assert set(statuses.values()) == {"exporting"} and stuck.claimed == 3
        assert Path(resources.store().path(stuck.key)).exists() is (point == "after-write")

        later = confirmed_documents(tmp_path, resources, 2, seed=2)  # ready while the export was down
        summary = export_queue(queue_id="invoices")
        assert [(e["export_id"], e["resumed"], e["exported"]) for e in summary.exports] == [
            (stuck.export_id, True, 3), (summary.exports[1]["export_id"], False, 2)
        ]  # fmt: skip
        assert exported_ids(resources) == sorted(first + later)  # every document, once
        assert export_queue(queue_id="invoices").exports == [] and exported_ids(resources) == sorted(first + later)
        assert {d["status"] for d in list_documents(resources.catalog(), "invoices")} == {"exported"}
