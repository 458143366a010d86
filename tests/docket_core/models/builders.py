"""Workflows over the tiny fixed-weight models of `docket_core.models.tiny`, and images they know."""

from __future__ import annotations

from pathlib import Path

import yaml
from PIL import Image

from docket_core.jobs.process import run_chunk
from docket_core.outputs import FileResult
from docket_core.workflows.registry import Workflow, workflow_from_yaml


def solid(path: Path, size: tuple[int, int], rgb: tuple[int, int, int]) -> Path:
    """A lossless image of one colour (the tiny models see only colour)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, rgb).save(path, "PNG")
    return path


def workflow(folder: Path, steps: list[dict], *, workflow_id: str = "models", media: tuple[str, ...] = ("images",)) -> Workflow:
    path = folder / f"{workflow_id}.yaml"
    path.write_text(yaml.safe_dump({"workflow_id": workflow_id, "media": list(media), "steps": steps}))
    [found] = workflow_from_yaml(path)
    return found


def run(wf: Workflow, paths: list[Path], media_type: str = "image/png") -> dict[str, FileResult]:
    return {r.file_name: r for r in run_chunk(wf, [(p.name, p, media_type, None) for p in paths])}


def boxes(result: FileResult, step: str) -> list[tuple[str, float, tuple[float, ...]]]:
    return [(p.class_name, p.confidence, p.box) for p in result.predictions[step]]  # type: ignore[misc]
