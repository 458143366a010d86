"""Workflows: named DAGs of steps, built in or declared by users in YAML or Python.

A workflow's steps are ordered by the same planner that orders extensions (`docket_core.dag`). Users add
their own without touching Docket: YAML files (`DOCKET_WORKFLOW_PATHS`, files or folders) whose steps
name functions as `package.module:function`, or Python modules (`DOCKET_WORKFLOW_MODULES`) that
define `WORKFLOWS = [Workflow(...), ...]`.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import yaml

from docket_core.dag import plan_levels, validate_dag
from docket_core.errors import InputError, NotFoundError
from docket_core.names import check_id
from docket_core.workflows.model import BatchStepFn, FieldType, StepFn

__all__ = ["Step", "Workflow", "builtin_workflows", "get_workflow", "load_workflows", "workflow_from_yaml"]

MEDIA_KINDS = ("images", "documents", "videos")


def import_function(path: str) -> Any:
    """`package.module:function` -> the function, with an error that says what was expected."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise InputError(f"expected a function as 'package.module:function', got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(f"cannot import module {module_name!r} for {path!r}: {exc}") from exc
    try:
        fn = getattr(module, attr)
    except AttributeError as exc:
        raise InputError(f"module {module_name!r} has no {attr!r} (from {path!r})") from exc
    if not callable(fn):
        raise InputError(f"{path!r} is not callable")
    return fn


def _qualname(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"


@dataclass(frozen=True)
class Step:
    name: str
    fn: StepFn
    run_after: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Workflow:
    """A named DAG of steps run over each file, plus batch steps run once over all files."""

    workflow_id: str
    description: str
    media_kinds: frozenset[str]
    steps: tuple[Step, ...]
    fields: Mapping[str, FieldType] = field(default_factory=dict)
    batch_steps: tuple[BatchStepFn, ...] = ()
    source: str = "python"

    def __post_init__(self) -> None:
        check_id(self.workflow_id, "workflow id")
        unknown = set(self.media_kinds) - set(MEDIA_KINDS)
        if unknown or not self.media_kinds:
            raise InputError(f"workflow {self.workflow_id!r} media must be some of {list(MEDIA_KINDS)}, got {sorted(self.media_kinds)}")
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise InputError(f"workflow {self.workflow_id!r} has duplicate step names: {sorted(n for n in names if names.count(n) > 1)}")
        bad = {k: v for k, v in self.fields.items() if v not in get_args(FieldType)}
        if bad:
            raise InputError(f"workflow {self.workflow_id!r} field types must be one of {list(get_args(FieldType))}, got {bad}")
        validate_dag(self.spec(), what="step", context=f"in workflow {self.workflow_id!r}")

    @classmethod
    def build(
        cls,
        workflow_id: str,
        steps: Sequence[tuple[str, StepFn, Iterable[str]]],
        *,
        media: Iterable[str],
        fields: Mapping[str, FieldType] | None = None,
        batch_steps: Iterable[BatchStepFn] = (),
        description: str = "",
        source: str = "python",
    ) -> "Workflow":
        return cls(
            workflow_id=workflow_id,
            description=description,
            media_kinds=frozenset(media),
            steps=tuple(Step(name, fn, frozenset(after)) for name, fn, after in steps),
            fields=dict(fields or {}),
            batch_steps=tuple(batch_steps),
            source=source,
        )

    def spec(self) -> dict[str, frozenset[str]]:
        return {s.name: s.run_after for s in self.steps}

    def levels(self) -> list[list[Step]]:
        by_name = {s.name: s for s in self.steps}
        return [[by_name[n] for n in level] for level in plan_levels(self.spec())]

    def fingerprint(self) -> str:
        """Changes when the definition does: steps, their functions and order, and the fields."""
        definition = {
            "id": self.workflow_id,
            "steps": sorted((s.name, _qualname(s.fn), sorted(s.run_after)) for s in self.steps),
            "batch_steps": [_qualname(b) for b in self.batch_steps],
            "fields": dict(sorted(self.fields.items())),
        }
        return hashlib.sha256(json.dumps(definition).encode()).hexdigest()

    def describe(self) -> dict[str, Any]:
        return {
            "workflow_id": self.workflow_id,
            "description": self.description,
            "media": sorted(self.media_kinds),
            "steps": [
                {"name": s.name, "function": _qualname(s.fn), "run_after": sorted(s.run_after)} for s in self.steps
            ],
            "levels": [[s.name for s in level] for level in self.levels()],
            "fields": dict(self.fields),
            "source": self.source,
        }


def builtin_workflows() -> list[Workflow]:
    from docket_core.steps import image, invoice, video

    return [
        Workflow.build(
            "image-metadata",
            image.IMAGE_STEPS,
            media=["images"],
            fields=image.FIELDS,
            batch_steps=image.IMAGE_BATCH_STEPS,
            description="Dimensions, format, EXIF (capture time, camera, orientation, GPS), perceptual hash, "
            "sharpness, brightness, and near-duplicate groups within the batch.",
            source="built-in",
        ),
        Workflow.build(
            "invoice-capture",
            invoice.INVOICE_STEPS,
            media=["documents"],
            fields=invoice.FIELDS,
            description="Invoice and receipt fields from embedded e-invoices (Factur-X, ZUGFeRD, XRechnung) exactly, "
            "else from the pages (text layer, or OCR of scans and photos) in six languages, each with where it "
            "was read and a confidence; then checks: tax rate filled, totals that do not add up, due before issue.",
            source="built-in",
        ),
        Workflow.build(
            "video-frames",
            video.VIDEO_STEPS,
            media=["videos"],
            fields=video.FIELDS,
            description="Frames sampled at most once a second, each with its index, timestamp and the image "
            "measures (size, perceptual hash, sharpness, brightness).",
            source="built-in",
        ),
    ]


def workflow_from_yaml(path: Path) -> list[Workflow]:
    """Read one YAML file holding a workflow (a mapping) or several (a list, or `workflows:`)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read workflow file {str(path)!r}: {exc}") from exc
    items = data.get("workflows", data) if isinstance(data, dict) else data
    items = [items] if isinstance(items, dict) else items
    if not isinstance(items, list):
        raise InputError(f"workflow file {str(path)!r} must hold a mapping or a list of them, got {type(data).__name__}")
    workflows = []
    for n, item in enumerate(items, start=1):
        where = f"{path}: workflow {n}"
        if not isinstance(item, dict) or "workflow_id" not in item or "steps" not in item:
            raise InputError(f"{where}: expected a mapping with workflow_id, media and steps, got {item!r:.200}")
        steps = []
        for s in item["steps"]:
            if not isinstance(s, dict) or "name" not in s or "function" not in s:
                raise InputError(f"{where}: each step needs name and function ('package.module:function'), got {s!r:.200}")
            steps.append((s["name"], import_function(s["function"]), s.get("run_after", [])))
        batch = [import_function(b) for b in item.get("batch_steps", [])]
        workflows.append(
            Workflow.build(
                item["workflow_id"],
                steps,
                media=item.get("media", ["images"]),
                fields=item.get("fields", {}),
                batch_steps=batch,
                description=item.get("description", ""),
                source=str(path),
            )
        )
    return workflows


def load_workflows(paths: Iterable[str] = (), modules: Iterable[str] = ()) -> dict[str, Workflow]:
    """Built-ins, then YAML files or folders of them, then Python modules; a later id replaces an earlier."""
    found: dict[str, Workflow] = {w.workflow_id: w for w in builtin_workflows()}
    for raw in paths:
        path = Path(raw).expanduser()
        files = sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
        if not path.exists():
            raise InputError(f"workflow path {raw!r} does not exist (from DOCKET_WORKFLOW_PATHS)")
        for file in files:
            for workflow in workflow_from_yaml(file):
                found[workflow.workflow_id] = workflow
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise InputError(f"cannot import workflow module {module_name!r}: {exc}") from exc
        declared = getattr(module, "WORKFLOWS", None)
        if not isinstance(declared, list | tuple) or not all(isinstance(w, Workflow) for w in declared):
            raise InputError(f"module {module_name!r} must define WORKFLOWS = [Workflow(...), ...]")
        for workflow in declared:
            found[workflow.workflow_id] = workflow
    return found


def get_workflow(workflow_id: str, workflows: Mapping[str, Workflow]) -> Workflow:
    try:
        return workflows[workflow_id]
    except KeyError:
        raise NotFoundError(
            f"no workflow {workflow_id!r}; known: {', '.join(sorted(workflows))} (`docket workflows list`)"
        ) from None
