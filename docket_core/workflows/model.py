"""What a workflow is: named steps, ordered by `run_after`, each turning one file into datapoints.

A step is a plain function `fn(ctx: FileContext) -> StepOutput`. It sees the file (a local path,
read-only), its media type, and the datapoints its predecessors produced. It returns new datapoints
(by `schema_id`) and messages. A step raises only for a bug or an unreadable file; a finding about
the content (a total that does not add up) is a message, not an exception.

Datapoint values are scalars (str, int, float, bool, `datetime.date`, `datetime.datetime`, None) or, for
a multivalue section (invoice line items, video frames), a list of dicts of scalars.

A batch step runs once per job after every file was processed, over the datapoints of all files
(for example grouping near-duplicate images); it returns extra datapoints per file name.

A chunk step (`ChunkStepFn`) sees all files of a job's chunk at once, for work that gains from
batching across files (a model run over a batch of images). It returns one outcome per file, in
order: a `StepOutput`, or the exception that failed that file alone; it raises only when no file can
be processed (a model that cannot be loaded). Its outputs may carry `predictions` (rows of the
predictions table) and `images` (annotated copies written to the job's output batch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "BatchStepFn",
    "ChunkStepFn",
    "Evidence",
    "FieldType",
    "FileContext",
    "Message",
    "Prediction",
    "Step",
    "StepFn",
    "StepOutput",
]

FieldType = Literal["string", "int", "float", "bool", "date", "timestamp", "rows"]
"""Column types of captured fields in the documents Parquet table; `rows` is a multivalue section."""


@dataclass(frozen=True)
class Message:
    """A finding shown to a person: `error` blocks automatic confirmation, `warning`/`info` do not."""

    type: Literal["info", "warning", "error"]
    content: str
    schema_id: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class FileContext:
    name: str
    media_type: str
    path: Path
    datapoints: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Evidence:
    """Where a captured value was read: what a reviewer's box and a queue's automation rest on.

    `page` counts from 1 (as Rossum's datapoints do); `box` is `(x0, y0, x1, y1)` relative to the
    page, each in [0, 1] with the origin top left; `text` is the text the value was parsed from;
    `confidence` in [0, 1] is the engine's belief that the value is right.
    """

    page: int
    box: tuple[float, float, float, float]
    text: str
    confidence: float


@dataclass(frozen=True)
class Prediction:
    """One row of the predictions table: a detection, one of a classification's top k, or a text line.

    `box` is `(x0, y0, x1, y1)` in pixels of the image the model saw before preprocessing (the
    photo, or the video frame), origin top left; None for a classification. `rank` orders a file's
    (or frame's) predictions: by confidence for detections and classes, top to bottom for text lines.
    """

    task: Literal["detect", "classify", "ocr"]
    rank: int
    confidence: float
    class_id: int | None = None
    class_name: str | None = None
    text: str | None = None
    box: tuple[float, float, float, float] | None = None
    image_size: tuple[int, int] | None = None
    """`(width, height)` of the image the box is in, for boxes normalised to [0, 1]."""
    frame_index: int | None = None
    timestamp_s: float | None = None


@dataclass
class StepOutput:
    datapoints: dict[str, Any] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    evidence: dict[str, Evidence] = field(default_factory=dict)
    """Per `schema_id` of `datapoints`: where its value came from (absent when unknown)."""
    predictions: list[Prediction] = field(default_factory=list)
    """Rows for the job's predictions table (model steps)."""
    images: dict[str, bytes] = field(default_factory=dict)
    """Encoded images to keep in the job's output batch, by file name suffix (`.jpg`): annotations."""


StepFn = Callable[[FileContext], StepOutput]
ChunkStepFn = Callable[[Sequence[FileContext]], list["StepOutput | Exception"]]
BatchStepFn = Callable[[Iterable[tuple[str, Mapping[str, Any]]]], dict[str, dict[str, Any]]]


@dataclass(frozen=True)
class Step:
    """A step: `fn` runs over one file; a step with `chunk_fn` runs over a whole chunk of files at once
    in jobs (`fn` then runs it over one file elsewhere). `uses` and `params` name a built-in step
    with parameters (`uses: onnx-detect`), and enter the workflow's fingerprint."""

    name: str
    fn: StepFn
    run_after: frozenset[str] = frozenset()
    chunk_fn: ChunkStepFn | None = field(default=None, compare=False)
    uses: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict, compare=False)
    predicts: bool = False
    """Whether it adds rows to the job's predictions table (model steps)."""
    check: Callable[[], None] | None = field(default=None, compare=False)
    """Raises `InputError` when the step cannot run at all (a model missing or of an unsupported form)."""
