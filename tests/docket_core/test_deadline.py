"""docket_core.deadline and the per-file time budget of run_file: the work stops, the file fails typed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from docket_core.deadline import ProcessingTimeout, check_deadline, remaining, time_budget
from docket_core.einvoice.parse import parse_invoice_xml
from docket_core.errors import FileErrorType
from docket_core.jobs.process import run_file
from docket_core.media.inspect import inspect_file
from docket_core.settings import DocketSettings
from docket_core.workflows.model import FileContext, StepOutput
from docket_core.workflows.model import Step
from docket_core.workflows.registry import Workflow


class TestTimeBudget:
    def test_outside_a_budget_nothing_is_checked(self) -> None:
        check_deadline()
        assert remaining() is None
        with time_budget(None, "x"):
            check_deadline()
            assert remaining() is None

    def test_the_check_raises_once_the_budget_is_spent(self) -> None:
        with time_budget(0.05, "file 'a.pdf'"):
            check_deadline()
            assert 0 < remaining() <= 0.05  # type: ignore[operator]
            time.sleep(0.06)
            with pytest.raises(ProcessingTimeout, match=r"expected file 'a.pdf' to be processed within 0.05 s \(DOCKET_FILE_TIME_BUDGET\)"):
                check_deadline()
        check_deadline()  # the budget ended with its block
        assert ProcessingTimeout.error_type == FileErrorType.PROCESSING_TIMEOUT
        assert issubclass(ProcessingTimeout, TimeoutError)

    def test_a_nested_budget_can_only_shorten_it(self) -> None:
        with time_budget(0.01, "outer"):
            with time_budget(60, "inner"):
                time.sleep(0.02)
                with pytest.raises(ProcessingTimeout, match="outer"):
                    check_deadline()

    def test_each_thread_has_its_own_budget(self) -> None:
        seen: list[float | None] = []
        with time_budget(60, "main"):
            thread = threading.Thread(target=lambda: seen.append(remaining()))
            thread.start()
            thread.join()
        assert seen == [None]


def _workflow(*steps: Step) -> Workflow:
    return Workflow(workflow_id="t", description="test", media_kinds=frozenset({"documents"}), steps=steps)


def _spin(ctx: FileContext) -> StepOutput:
    """Runaway work that checks the deadline each round, as long loops in steps do."""
    rounds = 0
    while True:
        check_deadline()
        rounds += 1
        if rounds > 50_000_000:
            raise AssertionError("the deadline never stopped the loop")


def _swallow(ctx: FileContext) -> StepOutput:
    """A step that catches everything (as library code may) and then goes on a little."""
    try:
        _spin(ctx)
    except Exception:  # noqa: BLE001 - on purpose: the timeout is swallowed
        pass
    return StepOutput(datapoints={"x": 1})


def _quick(ctx: FileContext) -> StepOutput:
    return StepOutput(datapoints={"x": 1})


class TestRunFile:
    def test_runaway_work_stops_at_the_budget_and_the_file_fails_typed(self, tmp_path: Path) -> None:
        started = time.monotonic()
        result = run_file(_workflow(Step("spin", _spin)), tmp_path / "f", "f.pdf", "application/pdf", None, time_budget=0.2)
        assert time.monotonic() - started < 10  # stopped near 0.2 s; only a runaway reaches this
        assert (result.status, result.error_type) == ("failed", "processing-timeout")
        assert "step 'spin'" in (result.error_reason or "") and "within 0.2 s" in (result.error_reason or "")

    def test_a_step_that_swallowed_the_timeout_still_fails_its_file(self, tmp_path: Path) -> None:
        workflow = _workflow(Step("swallow", _swallow), Step("after", _quick, frozenset({"swallow"})))
        result = run_file(workflow, tmp_path / "f", "f.pdf", "application/pdf", None, time_budget=0.1)
        assert (result.status, result.error_type, result.datapoints) == ("failed", "processing-timeout", {})

    def test_a_file_within_its_budget_is_unchanged(self, tmp_path: Path) -> None:
        result = run_file(_workflow(Step("quick", _quick)), tmp_path / "f", "f.pdf", "application/pdf", None, time_budget=30)
        assert (result.status, result.datapoints) == ("succeeded", {"x": 1})
        assert run_file(_workflow(Step("quick", _quick)), tmp_path / "f", "f.pdf", "application/pdf", None).status == "succeeded"


class TestLoopsThatCheck:
    """Long loops over untrusted content stop at a spent budget rather than running to their end."""

    def test_xml_parsing_and_validation_stop(self, tmp_path: Path) -> None:
        xml = b'<?xml version="1.0"?><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">' + b"<x/>" * 300_000 + b"</Invoice>"
        with time_budget(0, "file 'big.xml'"), pytest.raises(ProcessingTimeout, match="big.xml"):
            parse_invoice_xml(xml)
        path = tmp_path / "big.xml"
        path.write_bytes(xml)
        with time_budget(0, "file 'big.xml'"), pytest.raises(ProcessingTimeout):
            inspect_file(path, batch_kind="documents", settings=DocketSettings())
        assert parse_invoice_xml(xml).syntax == "UBL"  # no budget: as before
