"""Copying a batch's files out to a folder, under their names, resumably."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from docket_core.progress import advance
from docket_core.resources import Resources
from docket_core.staging.queries import batch_content
from docket_core.store import Store, blob_key

__all__ = ["ExportResult", "export_batch"]


@dataclass
class ExportResult:
    batch_id: str
    target_dir: str
    copied: int = 0
    skipped: int = 0
    bytes: int = 0
    # Files that could not be written, each {"name", "reason"}; the others are exported all the same.
    failed: list[dict[str, str]] = field(default_factory=list)


def _same(path: Path, size: int, sha256: str) -> bool:
    if not path.is_file() or path.stat().st_size != size:
        return False
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest() == sha256


def _copy(store: Store, item: dict, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    # A short temporary name: the file's own may already be as long as the file system allows.
    tmp = dest.parent / f".docket-{uuid.uuid4().hex}.part"
    try:
        # Staged files are content-addressed; job outputs (Parquet parts) keep their own key.
        key = item["store_key"] or blob_key(item["sha256"])
        with store.open(key) as src, open(tmp, "wb") as out:
            while chunk := src.read(1024 * 1024):
                out.write(chunk)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def export_batch(resources: Resources, batch_id: str, target_dir: Path, *, progress_key: str | None = None) -> ExportResult:
    """Copy every ingested file of the batch to `target_dir/<name>`.

    Files already there with the same bytes are skipped, so an interrupted export resumes where it
    stopped; each file appears whole or not at all (written to a temporary name, then renamed). A
    file that cannot be written (`x` and `x/y.png` in one batch, a name part longer than the file
    system allows) is listed in `failed` with the reason, and the export goes on.
    """
    store = resources.store()
    target = target_dir.resolve()
    target.mkdir(parents=True, exist_ok=True)
    result = ExportResult(batch_id=batch_id, target_dir=str(target))
    for item in batch_content(resources.catalog(), batch_id, status="ingested"):
        name = item["name"]
        try:
            dest = (target / name).resolve()
            if target not in dest.parents:  # names are checked at ingest; this is the second lock
                raise _Refused("it would leave the target folder")
            if _same(dest, item["size"], item["sha256"]):
                result.skipped += 1
            else:
                _copy(store, item, dest)
                result.copied += 1
                result.bytes += item["size"]
        except _Refused as exc:
            result.failed.append({"name": name, "reason": f"cannot export {name!r}: {exc}"})
        except OSError as exc:
            # The reason names the file, not the local path (it goes into JSON output and logs).
            why = exc.strerror or type(exc).__name__
            if isinstance(exc, (FileExistsError, NotADirectoryError)):
                why += " (the batch also holds a file named like one of its folders)"
            result.failed.append({"name": name, "reason": f"cannot export {name!r}: {why}"})
        if progress_key:
            advance(progress_key)
    return result


class _Refused(Exception):
    pass
