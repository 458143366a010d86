"""Copying a batch's files out to a folder, under their names, resumably."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from docket_core.progress import advance
from docket_core.resources import Resources
from docket_core.staging.queries import batch_content
from docket_core.store import blob_key

__all__ = ["ExportResult", "export_batch"]


@dataclass
class ExportResult:
    batch_id: str
    target_dir: str
    copied: int = 0
    skipped: int = 0
    bytes: int = 0


def _same(path: Path, size: int, sha256: str) -> bool:
    if not path.is_file() or path.stat().st_size != size:
        return False
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest() == sha256


def export_batch(resources: Resources, batch_id: str, target_dir: Path, *, progress_key: str | None = None) -> ExportResult:
    """Copy every ingested file of the batch to `target_dir/<name>`.

    Files already there with the same bytes are skipped, so an interrupted export resumes where it
    stopped; each file appears whole or not at all (written to a temporary name, then renamed).
    """
    store = resources.store()
    target = target_dir.resolve()
    target.mkdir(parents=True, exist_ok=True)
    result = ExportResult(batch_id=batch_id, target_dir=str(target))
    for item in batch_content(resources.catalog(), batch_id, status="ingested"):
        dest = (target / item["name"]).resolve()
        if target not in dest.parents:  # names are checked at ingest; this is the second lock
            raise ValueError(f"file name {item['name']!r} would leave {target}")
        if _same(dest, item["size"], item["sha256"]):
            result.skipped += 1
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
            try:
                # Staged files are content-addressed; job outputs (Parquet parts) keep their own key.
                key = item["store_key"] or blob_key(item["sha256"])
                with store.open(key) as src, open(tmp, "wb") as out:
                    while chunk := src.read(1024 * 1024):
                        out.write(chunk)
                os.replace(tmp, dest)
            finally:
                tmp.unlink(missing_ok=True)
            result.copied += 1
            result.bytes += item["size"]
        if progress_key:
            advance(progress_key)
    return result
