"""`inspect_file`: one open of the file, cheapest checks first, then the decode for its type."""

from __future__ import annotations

import io
import os
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from docket_core.errors import FileErrorType
from docket_core.media.sniff import SNIFF_BYTES, sniff_media_type
from docket_core.media.types import ACCEPTED, IMAGE_TYPES, VIDEO_TYPES, BatchKind, FileRejected, max_bytes_for
from docket_core.media.validate import check_image, check_pdf, check_video, check_xml
from docket_core.settings import DocketSettings

__all__ = ["inspect_file"]

def inspect_file(
    path: Path,
    *,
    batch_kind: BatchKind,
    settings: DocketSettings,
    declared_size: int | None = None,
    name: str | None = None,
    data: bytes | None = None,
) -> str:
    """Return the media type of the file at `path` if a `batch_kind` batch accepts it, else raise.

    Checks run cheapest first, and the file is opened once: empty file, sniffed type, acceptance for
    the batch kind, size cap for the type, then a full decode (images with Pillow, PDFs with pypdf,
    XML with expat, videos with PyAV up to their first frame).

    Args:
        path: the local file.
        batch_kind: what the batch holds; decides which types are accepted.
        settings: supplies the size caps.
        declared_size: a size the source announced (a tar header, a download); the cap applies to the
            larger of it and the size on disk.
        name: the file's name in its batch, a tie-breaker for sniffing; defaults to `path.name`
            (pass it when `path` is a temporary file without the original extension).
        data: the file's whole content, when the caller has read it already (staging reads small
            files once to hash and store them): it is checked instead of reading `path` again. Videos
            are still decoded from `path`, which FFmpeg reads itself.

    Raises:
        FileRejected: with `FILE_SIZE_LIMIT_EXCEEDED`, `UNSUPPORTED_FILE_TYPE` or `INVALID_FILE_CONTENT`.
        OSError: the file cannot be read at all.
    """
    name = name if name is not None else path.name
    if data is not None:
        media_type = _inspect_open(io.BytesIO(data), len(data), name, batch_kind, settings, declared_size)
    else:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            media_type = _inspect_open(fh, size, name, batch_kind, settings, declared_size)
    if media_type in VIDEO_TYPES:
        # FFmpeg reads the path itself: its own I/O is faster than calling back into Python.
        check_video(path, media_type)
    return media_type


def _inspect_open(
    fh: BinaryIO, size: int, name: str, batch_kind: BatchKind, settings: DocketSettings, declared_size: int | None
) -> str:
    """Every check of `inspect_file` but the video decode, on an open file of `size` bytes."""
    if size == 0:
        raise FileRejected(FileErrorType.INVALID_FILE_CONTENT, "file is empty")
    head = fh.read(SNIFF_BYTES)
    media_type = sniff_media_type(head, name)
    accepted = ACCEPTED[batch_kind]
    if media_type not in accepted:
        reason = _unsupported_reason(media_type, head, name, batch_kind)
        raise FileRejected(FileErrorType.UNSUPPORTED_FILE_TYPE, reason)
    limit = max_bytes_for(media_type, settings)
    effective = max(size, declared_size or 0)
    if effective > limit:
        got, cap = _sizes(effective, limit)
        raise FileRejected(
            FileErrorType.FILE_SIZE_LIMIT_EXCEEDED, f"file is {got}, the limit for {media_type} is {cap}"
        )
    fh.seek(0)
    if media_type in IMAGE_TYPES:
        check_image(fh, media_type)
    elif media_type == "application/pdf":
        check_pdf(fh)
    elif media_type == "application/xml":
        check_xml(fh)
    return media_type


def _unsupported_reason(media_type: str | None, head: bytes, name: str, batch_kind: BatchKind) -> str:
    accepts = ", ".join(sorted(ACCEPTED[batch_kind]))
    article = "an" if batch_kind == "images" else "a"
    if media_type is None:
        suffix = PurePosixPath(name).suffix
        named = f" (named {suffix})" if suffix else ""
        found = f"content is not a recognised file type{named}, it starts with {head[:8]!r}"
    else:
        found = f"content is {media_type}"
    return f"{found}; {article} {batch_kind} batch accepts {accepts}"


def _sizes(size: int, limit: int) -> tuple[str, str]:
    got, cap = _human(size), _human(limit)
    if got == cap:  # rounding hid the difference: show exact byte counts
        return f"{size} bytes", f"{limit} bytes"
    return got, cap


def _human(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            text = f"{n / scale:.1f}"
            return f"{text.removesuffix('.0')} {unit}"
    raise AssertionError("unreachable")
