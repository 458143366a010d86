"""Runtime knobs of model steps (`DOCKET_*`): execution providers, threads, the model cache.

`DocketSettings` (`docket_core.settings`) inherits them; `docket settings` prints them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

__all__ = ["ModelSettings"]


class ModelSettings(BaseSettings):
    """Where ONNX models run (CPU, CUDA, TensorRT) and where a worker keeps the models it fetched."""

    model_config = SettingsConfigDict(env_prefix="DOCKET_", env_file=".env", extra="ignore")

    onnx_providers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["cpu"],
        description="onnxruntime execution providers in order of preference (comma separated): cpu, cuda, "
        "tensorrt, or full names such as CUDAExecutionProvider; `auto` takes the fastest this worker "
        "has. CPU is always the last resort. CUDA and TensorRT need the onnxruntime-gpu package.",
    )
    onnx_threads: int = Field(
        default=0, ge=0, le=256,
        description="Threads one model session uses within an operator (0: onnxruntime's default, every core).",
    )  # fmt: skip
    onnx_cache_dir: Path | None = Field(
        default=None,
        description="Folder where a worker keeps models fetched from a URL, by sha256. Default: <home>/models.",
    )
    onnx_preprocess_threads: int = Field(
        default=4, ge=1, le=64, description="Threads decoding and preprocessing images for a model step."
    )

    @field_validator("onnx_providers", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value
