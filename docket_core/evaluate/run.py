"""Running a capture workflow over a folder with its truth, through the job code, timed per file.

Each file goes through `docket_core.jobs.process.run_file`, the function a job's chunk runs for
every file, with the workflow as registered. Confidences come from the steps' `StepOutput.evidence`:
the workflow's step functions are wrapped so that what each step reports is kept beside the job's
result (a job keeps the same evidence in its datapoints part). Wall time and CPU time (all threads of
this process) are measured around `run_file` alone, after one untimed warm-up run of the first file
(what a worker process loads once: imports, the lexicon, the OCR model); reading the truth, counting
pages and scoring are not counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pypdfium2 as pdfium

from docket_core.errors import InputError
from docket_core.evaluate.score import DocumentScore, score_document
from docket_core.evaluate.truth import TruthRecord
from docket_core.jobs.process import run_file
from docket_core.media.sniff import SNIFF_BYTES, sniff_media_type
from docket_core.workflows.model import Evidence, FileContext, StepOutput
from docket_core.workflows.registry import Workflow

__all__ = ["count_pages", "evaluate_files", "with_evidence"]

_seen = threading.local()


def _keeping(fn: Callable[[FileContext], StepOutput]) -> Callable[[FileContext], StepOutput]:
    def step(ctx: FileContext) -> StepOutput:
        out = fn(ctx)
        kept: dict[str, Evidence] = getattr(_seen, "evidence", {})
        for name in out.datapoints:
            if name in out.evidence:
                kept[name] = out.evidence[name]
            else:
                kept.pop(name, None)  # a later step replaced the value without saying where from
        _seen.evidence = kept
        return out

    step.__name__ = getattr(fn, "__name__", "step")
    step.__qualname__ = getattr(fn, "__qualname__", "step")
    step.__module__ = getattr(fn, "__module__", __name__)
    return step


def with_evidence(workflow: Workflow) -> Workflow:
    """`workflow` with each step wrapped to keep its evidence for `evaluate_files` (same DAG, same steps)."""
    return Workflow.build(
        workflow.workflow_id,
        [(s.name, _keeping(s.fn), s.run_after) for s in workflow.steps],
        media=workflow.media_kinds,
        fields=workflow.fields,
        batch_steps=workflow.batch_steps,
        description=workflow.description,
        source=workflow.source,
    )


def count_pages(path: Path, media_type: str | None) -> int:
    """Pages of a PDF (as pypdfium2 counts them), 1 for an image."""
    if media_type != "application/pdf":
        return 1
    document = pdfium.PdfDocument(str(path))
    try:
        return len(document)
    finally:
        document.close()


def _media_type(path: Path) -> str | None:
    with path.open("rb") as f:
        return sniff_media_type(f.read(SNIFF_BYTES), path.name)


def evaluate_files(
    workflow: Workflow, items: Iterable[tuple[Path, TruthRecord]], *, max_pages: int = 30, warm_up: bool = True
) -> Iterator[DocumentScore]:
    """Capture each (file, truth) with `workflow` and score it; files that fail are scored empty.

    Args:
        workflow: The capture workflow (e.g. the built-in `invoice-capture`).
        items: Each file and its truth record.
        max_pages: Pages counted at most per document (as capture reads at most that many).
        warm_up: Capture the first file once, untimed and unscored, before the timed runs.
    """
    wrapped = with_evidence(workflow)
    items = list(items)
    if warm_up and items:  # imports, the lexicon, the OCR model: once per worker process, not per document
        path, truth = items[0]
        if path.is_file():
            run_file(wrapped, path, truth.file, _media_type(path), None)
    for path, truth in items:
        if not path.is_file():
            raise InputError(f"{truth.file}: listed in the truth but not found at {path}; regenerate or fix the truth")
        media_type = _media_type(path)
        _seen.evidence = {}
        wall, cpu = time.perf_counter(), time.process_time()
        result = run_file(wrapped, path, truth.file, media_type, None)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        evidence: dict[str, Evidence] = dict(getattr(result, "evidence", None) or _seen.evidence)
        failed = None if result.status == "succeeded" else f"{result.error_type}: {result.error_reason}"
        confidences = {
            name: ev.confidence
            for name, ev in evidence.items()
            if result.datapoints.get(name) not in (None, "")
        }
        score = score_document(truth, result.datapoints, confidences, failed=failed)
        score.errors = [m.content for m in result.messages if m.type == "error"]
        score.seconds, score.cpu_seconds = wall, cpu
        score.pages = min(count_pages(path, media_type), max_pages)
        yield score
