"""A workflow for scale tests: the image-metadata steps plus a step that leaves a trace of every time a
file was processed (which process, which file) and can be slowed down, read from the environment so
that workers in other processes behave the same:

- `DOCKET_TEST_TRACE`: a folder; each process appends `name` lines to `<folder>/<pid>.log`.
- `DOCKET_TEST_STEP_SECONDS`: a pause per file (a stand-in for slower steps: OCR, a model, a remote call).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from docket_core.steps import image
from docket_core.workflows.model import FileContext, StepOutput
from docket_core.workflows.registry import Workflow


def traced(ctx: FileContext) -> StepOutput:
    folder = os.environ.get("DOCKET_TEST_TRACE")
    if folder:
        with open(Path(folder) / f"{os.getpid()}.log", "a") as fh:
            fh.write(ctx.name + "\n")
    pause = float(os.environ.get("DOCKET_TEST_STEP_SECONDS") or 0)
    if pause:
        time.sleep(pause)
    return StepOutput(datapoints={"traced": True})


WORKFLOWS = [
    Workflow.build(
        "traced-images",
        [*image.IMAGE_STEPS, ("traced", traced, ())],
        media=["images"],
        fields={**image.FIELDS, "traced": "bool"},
        batch_steps=image.IMAGE_BATCH_STEPS,
        description="image-metadata, plus a trace of each processing and an optional pause per file",
    )
]


def traces(folder: Path) -> list[tuple[int, str]]:
    """(pid, file name) of every processing recorded in `folder`."""
    return [(int(log.stem), line) for log in sorted(folder.glob("*.log")) for line in log.read_text().splitlines()]
