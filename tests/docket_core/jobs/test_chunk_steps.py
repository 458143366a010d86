"""Chunk steps (`Step.chunk_fn`): a step that sees all files of a chunk at once, level by level with
per-file steps, and a file that fails any step failing alone."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from docket_core.errors import DocketError, InputError
from docket_core.jobs.process import run_chunk, run_file
from docket_core.models.tiny import write_detector
from docket_core.workflows.model import FileContext, StepOutput
from docket_core.workflows.model import Step
from docket_core.workflows.registry import Workflow
from tests.docket_core.models.builders import boxes, solid, workflow

calls: list[list[str]] = []


def size(ctx: FileContext) -> StepOutput:
    if ctx.name.startswith("bad"):
        raise InputError(f"{ctx.name} is bad")
    return StepOutput({"size": ctx.path.stat().st_size})


def together(ctxs: Sequence[FileContext]) -> list[StepOutput | Exception]:
    calls.append([c.name for c in ctxs])
    return [RuntimeError("odd one") if c.name.startswith("odd") else StepOutput({"seen_size": c.datapoints["size"]}) for c in ctxs]


def per_file(ctx: FileContext) -> StepOutput:
    [out] = together([ctx])
    if isinstance(out, Exception):
        raise out
    return out


WORKFLOW = Workflow.build(
    "chunked", [("size", size, ()), Step("together", per_file, frozenset({"size"}), chunk_fn=together)],
    media=["images"], fields={"size": "int", "seen_size": "int"},
)  # fmt: skip


class TestChunkSteps:
    def test_a_chunk_step_is_called_once_with_the_files_that_passed_the_earlier_levels(self, tmp_path: Path) -> None:
        names = ["a.png", "bad.png", "odd.png", "b.png"]
        chunk = [(n, solid(tmp_path / n, (8, 8), (1, 2, 3)), "image/png", None) for n in names]
        calls.clear()
        results = {r.file_name: r for r in run_chunk(WORKFLOW, chunk)}
        assert calls == [["a.png", "odd.png", "b.png"]]  # once, without the file the first level failed
        assert results["a.png"].datapoints == {"size": (tmp_path / "a.png").stat().st_size, "seen_size": (tmp_path / "a.png").stat().st_size}
        assert (results["bad.png"].status, results["bad.png"].error_type) == ("failed", "invalid-file-content")
        assert (results["odd.png"].status, results["odd.png"].error_type) == ("failed", "processing-error")
        assert results["odd.png"].error_reason == "step 'together' raised RuntimeError: odd one"
        assert results["b.png"].status == "succeeded"

    def test_a_chunk_step_that_returns_the_wrong_number_of_outcomes_fails_the_chunk(self, tmp_path: Path) -> None:
        wrong = Workflow.build("wrong", [Step("x", per_file, chunk_fn=lambda ctxs: [])], media=["images"])
        with pytest.raises(DocketError, match="chunk step 'x' returned 0 outcomes for 1 files"):
            run_chunk(wrong, [("a.png", solid(tmp_path / "a.png", (8, 8), (0, 0, 0)), "image/png", None)])

    def test_a_model_step_run_over_one_file_gives_what_the_chunk_gives_it(self, tmp_path: Path) -> None:
        write_detector(tmp_path / "m.onnx")
        wf = workflow(tmp_path, [{"name": "detect", "uses": "onnx-detect", "with": {"model": "m.onnx"}}])
        image = solid(tmp_path / "y.png", (300, 200), (255, 255, 0))
        [chunked] = run_chunk(wf, [("y.png", image, "image/png", None)])
        alone = run_file(wf, image, "y.png", "image/png", None)  # how a queue's capture runs a workflow
        assert boxes(alone, "detect") == boxes(chunked, "detect") and len(boxes(alone, "detect")) == 1
        assert alone.datapoints == chunked.datapoints
