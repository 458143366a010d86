"""Whether a file of a sniffed type really is one: a full decode per type (image, PDF, XML, video)."""

from __future__ import annotations

import os
import re
import threading
import warnings
from pathlib import Path
from typing import BinaryIO
from xml.parsers import expat

import av
import pypdf
import pypdf.errors
from PIL import Image, ImageFile

from docket_core.deadline import check_deadline
from docket_core.errors import FileErrorType
from docket_core.media.types import FileRejected, invalid

__all__ = ["check_image", "check_pdf", "check_video", "check_xml"]

_PILLOW_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/tiff": "TIFF",
    "image/bmp": "BMP",
}

# `warnings.catch_warnings` swaps process-wide state; ingestion validates files on several threads,
# so the short window in which Pillow reads headers (and may warn) is serialized. Decoding pixels,
# the slow part, runs outside it.
_WARNINGS_LOCK = threading.Lock()


def _without_file_object(exc: BaseException) -> str:
    """Pillow's message without the repr of the file object it read (`<_io.BytesIO object at 0x...>`),
    which changes on every run and may hold a local path."""
    return re.sub(r"\s*<_io\.[A-Za-z]+ [^>]*>", "", str(exc)).strip() or type(exc).__name__


def check_image(fh: BinaryIO, media_type: str) -> None:
    """Decode the image in `fh` fully with Pillow, or raise `FileRejected` (a pixel bomb is a size limit)."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # A truncated image would load as grey padding and pass; refuse to validate in that mode.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set; Docket cannot detect truncated images with it")
    fmt = _PILLOW_FORMATS[media_type]
    try:
        with _WARNINGS_LOCK, warnings.catch_warnings():
            # Corrupt-metadata warnings (EXIF, MPO) do not make an image invalid; a bomb does.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(fh, formats=[fmt])
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise FileRejected(
            FileErrorType.FILE_SIZE_LIMIT_EXCEEDED, f"image has too many pixels to decode safely: {exc}"
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise invalid(f"not a readable {fmt} image: {_without_file_object(exc)}") from exc
    with image:
        if fmt == "JPEG":
            # Decode at 1/8 scale: every scan is still read and entropy-decoded (truncation and
            # corrupt data are still caught), with a fraction of the memory and inverse DCT work.
            image.draft(None, (1, 1))
        try:
            image.load()
        except Image.DecompressionBombError as exc:
            raise FileRejected(
                FileErrorType.FILE_SIZE_LIMIT_EXCEEDED, f"image has too many pixels to decode safely: {exc}"
            ) from exc
        except (OSError, SyntaxError, ValueError, EOFError, Warning) as exc:
            # `Warning` is caught as well: a host that turns warnings into errors makes them exceptions here.
            raise invalid(f"{fmt} image does not decode: {_without_file_object(exc)}") from exc
    if fmt == "PNG" and not _has_png_end(fh):
        raise invalid("PNG image is truncated: its IEND chunk is missing (the file was cut short)")


_PNG_END = b"IEND\xaeB`\x82"


def _has_png_end(fh: BinaryIO) -> bool:
    """Pillow decodes a PNG cut after its image data; a whole one ends with the IEND chunk (tools
    sometimes append a few bytes after it, so look at the last 4 KiB)."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(max(0, size - 4096))
    return _PNG_END in fh.read()


def check_pdf(fh: BinaryIO) -> None:
    """Open the PDF in `fh` with pypdf and read its first page, or raise `FileRejected`."""
    try:
        reader = pypdf.PdfReader(fh)
        if reader.is_encrypted and not reader.decrypt(""):
            raise invalid("PDF is encrypted with a password; upload it without the password")
        if len(reader.pages) < 1:
            raise invalid("PDF has no pages")
        reader.pages[0].get_contents()
    except FileRejected:
        raise
    except pypdf.errors.FileNotDecryptedError as exc:
        raise invalid(f"PDF is encrypted and cannot be read: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on hostile input; each means "invalid"
        raise invalid(f"PDF does not open: {type(exc).__name__}: {exc}") from exc


class _ForbiddenXML(Exception):
    """Raised inside the expat callbacks to stop at the first DTD construct."""


def _forbid_doctype(*_: object) -> None:
    raise _ForbiddenXML("XML must not contain a <!DOCTYPE> (DTDs and entities are refused)")


def _forbid_entity(*_: object) -> None:
    raise _ForbiddenXML("XML must not declare or reference external entities (<!ENTITY>)")


_XML_BLOCK = 1024 * 1024
"""Bytes fed to expat per call. `ParseFile` feeds 2 KiB at a time, and expat (2.5) scans a token cut
across calls again from its start on every call: an 8 MiB attribute then cost 4096 scans of up to
8 MiB (18 s). In 1 MiB blocks it is 8 (0.15 s), with at most one block more in memory."""


def check_xml(fh: BinaryIO) -> None:
    """Parse the XML in `fh` with expat, refusing any DTD, or raise `FileRejected`."""
    # expat, the parser under xml.etree, streamed without building a tree: a 50 MiB invoice is
    # checked in bounded memory. Refusing any DOCTYPE rules out entity expansion (billion laughs)
    # and external entities before they are read, which is what defusedxml does.
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _forbid_doctype
    parser.EntityDeclHandler = _forbid_entity
    parser.UnparsedEntityDeclHandler = _forbid_entity
    parser.ExternalEntityRefHandler = _forbid_entity
    try:
        while block := fh.read(_XML_BLOCK):
            check_deadline()
            parser.Parse(block, False)
        parser.Parse(b"", True)
    except _ForbiddenXML as exc:
        raise invalid(str(exc)) from exc
    except expat.ExpatError as exc:
        where = f"line {exc.lineno}, column {exc.offset}"
        raise invalid(f"XML does not parse: {expat.ErrorString(exc.code)} at {where}") from exc


def check_video(path: Path, media_type: str) -> None:
    """Open the video at `path` with PyAV and decode its first frame, or raise `FileRejected`."""
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                raise invalid(f"{media_type} file has no video stream")
            stream = container.streams.video[0]
            for _frame in container.decode(stream):
                return
    except FileRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - FFmpeg errors come as many classes; each means "invalid"
        raise invalid(f"video does not open: {type(exc).__name__}: {exc}") from exc
    raise invalid(f"{media_type} file has no decodable video frame")
