"""One onnxruntime session per worker process and model, and what the model file says about itself.

A session is created on first use and reused by every chunk the process runs afterwards, keyed by
the model's sha256 and the execution providers, so a thousand chunks load a model once. Sessions
are thread-safe for `run`; a step's batches run one after another and each run uses the cores
onnxruntime is given (`DOCKET_ONNX_THREADS`).
"""

from __future__ import annotations

import ast
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from docket_core.errors import InputError
from docket_core.models.source import ModelFile
from docket_core.settings import get_settings

__all__ = ["ModelError", "ModelInfo", "TensorInfo", "execution_providers", "model_session", "parse_names"]

log = logging.getLogger(__name__)

_ALIASES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "directml": "DmlExecutionProvider",
}
_AUTO = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(uint8)": np.uint8, "tensor(double)": np.float64}

_lock = threading.Lock()
_sessions: dict[tuple[str, tuple[str, ...], int], tuple[Any, "ModelInfo"]] = {}


class ModelError(InputError):
    """Raised when a model file cannot be used by a step: unreadable, or inputs/outputs of an unsupported form."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int | str | None, ...]
    """Static sizes as ints; a dynamic axis is its symbolic name or None."""
    dtype: str

    def describe(self) -> str:
        return f"{self.name} [{', '.join(str(d) if d is not None else '?' for d in self.shape)}]"


@dataclass(frozen=True)
class ModelInfo:
    """A model's interface, read from the file: inputs, outputs and metadata (`metadata_props`)."""

    sha256: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    metadata: dict[str, str]
    providers: tuple[str, ...]
    """The providers the session actually runs on, fastest first."""

    @property
    def input(self) -> TensorInfo:
        return self.inputs[0]

    @property
    def input_dtype(self) -> type[np.generic]:
        try:
            return _DTYPES[self.input.dtype]
        except KeyError:
            raise ModelError(f"expected an image input of float, float16 or uint8, got {self.input.dtype} "
                             f"for {self.input.describe()}") from None  # fmt: skip

    @property
    def dynamic_batch(self) -> bool:
        return not isinstance(self.input.shape[0], int)

    @property
    def channels_last(self) -> bool:
        """Whether the image input is NHWC (TensorFlow exports) rather than NCHW."""
        shape = self.input.shape
        return len(shape) == 4 and shape[3] == 3 and shape[1] != 3

    def input_size(self, default: int) -> tuple[int, int]:
        """`(height, width)` the model takes: from the input's shape, else `default` when dynamic.

        Raises:
            ModelError: The input is not a batch of RGB images, `[N, 3, H, W]` or `[N, H, W, 3]`.
        """
        shape = self.input.shape
        channels = shape[3] if self.channels_last else (shape[1] if len(shape) == 4 else None)
        if len(shape) != 4 or (isinstance(channels, int) and channels != 3):
            raise ModelError(f"expected an RGB image input [N, 3, H, W] or [N, H, W, 3], got {self.input.describe()}")
        height, width = (shape[1], shape[2]) if self.channels_last else (shape[2], shape[3])
        return (height if isinstance(height, int) else default), (width if isinstance(width, int) else default)


def parse_names(raw: Any, where: str) -> dict[int, str]:
    """Class names from a mapping `{0: 'person'}`, a list, or their text (Python literal, JSON, YAML)."""
    if isinstance(raw, str):
        text = raw.strip()
        try:
            raw = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            try:
                raw = json.loads(text)
            except ValueError:
                import yaml

                try:
                    raw = yaml.safe_load(text)
                except yaml.YAMLError as exc:
                    raise InputError(f"cannot read class names from {where}: {exc}") from exc
                if isinstance(raw, str) or raw is None:  # one name per line
                    raw = [line.strip() for line in text.splitlines() if line.strip()]
    if isinstance(raw, dict) and "names" in raw:  # an Ultralytics data.yaml
        raw = raw["names"]
    if isinstance(raw, list | tuple):
        return {i: str(n) for i, n in enumerate(raw)}
    if isinstance(raw, dict):
        try:
            return {int(k): str(v) for k, v in raw.items()}
        except (TypeError, ValueError) as exc:
            raise InputError(f"class names from {where} must be keyed by class id, got {list(raw)[:5]}") from exc
    raise InputError(f"expected class names from {where} as a list or a mapping of id to name, got {type(raw).__name__}")


def execution_providers(requested: list[str] | None = None) -> list[str]:
    """The onnxruntime providers to ask for, in order, ending with CPU; `auto` means the fastest there is.

    Raises:
        ModelError: A provider was named that this onnxruntime build does not have.
    """
    import onnxruntime

    available = onnxruntime.get_available_providers()
    wanted: list[str] = []
    for name in requested if requested is not None else get_settings().onnx_providers:
        if name.lower() == "auto":
            wanted.extend(p for p in _AUTO if p in available and p not in wanted)
            continue
        full = _ALIASES.get(name.lower(), name)
        if full not in available:
            hint = " (install onnxruntime-gpu on a machine with an NVIDIA GPU)" if full in _AUTO[:2] else ""
            raise ModelError(
                f"DOCKET_ONNX_PROVIDERS names {name!r}, which this onnxruntime does not have{hint}; "
                f"available: {', '.join(available)}"
            )
        if full not in wanted:
            wanted.append(full)
    if "CPUExecutionProvider" not in wanted:
        wanted.append("CPUExecutionProvider")
    return wanted


def _tensors(args: list[Any]) -> tuple[TensorInfo, ...]:
    return tuple(TensorInfo(a.name, tuple(d if isinstance(d, int) and d > 0 else (d or None) for d in a.shape), a.type)
                 for a in args)  # fmt: skip


def model_session(model: ModelFile) -> tuple[Any, ModelInfo]:
    """The process's session for `model` on the configured providers, created on first use.

    Raises:
        ModelError: The file is not an ONNX model onnxruntime can load.
    """
    import onnxruntime

    settings = get_settings()
    providers = tuple(execution_providers(settings.onnx_providers))
    key = (model.sha256, providers, settings.onnx_threads)
    hit = _sessions.get(key)
    if hit is not None:
        return hit
    with _lock:
        hit = _sessions.get(key)
        if hit is not None:
            return hit
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: a missing GPU is reported below, once
        if settings.onnx_threads:
            options.intra_op_num_threads = settings.onnx_threads
        try:
            session = onnxruntime.InferenceSession(str(model.path), options, providers=list(providers))
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors for bad files
            raise ModelError(f"cannot load ONNX model {model.location!r}: {type(exc).__name__}: {exc}") from exc
        used = tuple(session.get_providers())
        if used[0] != providers[0]:
            log.warning("model %s runs on %s, not %s (no device?)", model.location, used[0], providers[0])
        meta = session.get_modelmeta()
        info = ModelInfo(model.sha256, _tensors(session.get_inputs()), _tensors(session.get_outputs()),
                         dict(meta.custom_metadata_map), used)  # fmt: skip
        _sessions[key] = (session, info)
        return session, info
