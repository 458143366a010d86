"""Where a model file comes from: a local path or any fsspec URL, cached per worker by its sha256.

A workflow names its model by `model:` (a path, relative to the workflow file, or a URL such as
`s3://models/yolo.onnx`) and may pin its `sha256:`. A pinned model is fetched once per machine into
the cache folder (`DOCKET_ONNX_CACHE_DIR`, default `<home>/models`) under its checksum and verified;
later runs on that machine use the cached copy without fetching. An unpinned URL is fetched once per
process. A local file is used in place and hashed once per process (and again when it changes).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import fsspec

from docket_core.errors import InputError

__all__ = ["ModelFile", "ModelSourceError", "is_url", "resolve_model"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_lock = threading.Lock()
_resolved: dict[tuple[str, str | None, float, int], "ModelFile"] = {}


class ModelSourceError(InputError):
    """Raised when a model file cannot be fetched or does not have the checksum the workflow pins."""


@dataclass(frozen=True)
class ModelFile:
    """A model file on this machine and the sha256 of its bytes."""

    path: Path
    sha256: str
    location: str


def is_url(location: str) -> bool:
    return "://" in location


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _cache_dir() -> Path:
    from docket_core.settings import get_settings

    settings = get_settings()
    return (settings.onnx_cache_dir or settings.home / "models").expanduser().resolve()


def _check(location: str, got: str, expected: str | None) -> None:
    if expected is not None and got != expected:
        raise ModelSourceError(
            f"model {location!r} has sha256 {got}, but the workflow pins {expected}; "
            "fix the sha256 in the workflow or the model file"
        )


def _fetch(location: str, expected: str | None) -> ModelFile:
    folder = _cache_dir()
    if expected is not None:
        cached = folder / f"{expected}.onnx"
        if cached.is_file():
            return ModelFile(cached, expected, location)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".fetch-", suffix=".part", dir=folder)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, fsspec.open(location, "rb") as src:
            while chunk := src.read(1024 * 1024):
                digest.update(chunk)
                out.write(chunk)
        got = digest.hexdigest()
        _check(location, got, expected)
        final = folder / f"{got}.onnx"
        os.replace(tmp_name, final)  # a concurrent fetch of the same bytes writes the same file
    except (OSError, ValueError, ImportError) as exc:
        if isinstance(exc, ModelSourceError):
            raise
        raise ModelSourceError(f"cannot fetch model {location!r}: {type(exc).__name__}: {exc}") from exc
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return ModelFile(final, got, location)


def resolve_model(location: str, sha256: str | None = None, *, base: Path | None = None) -> ModelFile:
    """The model at `location` as a local file, verified against `sha256` when given.

    Raises:
        ModelSourceError: The file does not exist, cannot be fetched, or has another checksum.
    """
    if sha256 is not None and not _SHA256.match(sha256):
        raise InputError(f"sha256 must be 64 lowercase hex digits, got {sha256!r}")
    local = None if is_url(location) and not location.startswith("file://") else Path(location.removeprefix("file://"))
    if local is not None:
        local = (base / local if base is not None and not local.is_absolute() else local).expanduser()
        try:
            stat = local.stat()
        except OSError as exc:
            raise ModelSourceError(f"model file {str(local)!r} does not exist or cannot be read: {exc}") from exc
        key = (str(local.resolve()), sha256, stat.st_mtime, stat.st_size)
    else:
        key = (location, sha256, 0.0, 0)
    with _lock:
        hit = _resolved.get(key)
    if hit is not None:
        return hit
    if local is not None:
        found = ModelFile(local.resolve(), _hash(local), str(local))
        _check(location, found.sha256, sha256)
    else:
        found = _fetch(location, sha256)
    with _lock:
        _resolved[key] = found
    return found
