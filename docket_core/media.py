"""What a file is and whether it is valid: sniffing by content, size caps, and a full decode.

`inspect_file` runs for every staged file, so it opens the file once, sniffs the type from the first
bytes, checks the size cap for that type before decoding anything, and then decodes from the same
open file. The name is only a tie-breaker between types the bytes cannot tell apart; it never wins
over the bytes.
"""

from __future__ import annotations

import io
import os
import re
import threading
import warnings
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal
from xml.parsers import expat

import av
import pypdf
import pypdf.errors
from PIL import Image, ImageFile

from docket_core.deadline import check_deadline
from docket_core.errors import DocketError, FileErrorType
from docket_core.redact import strip_local_paths
from docket_core.settings import DocketSettings

__all__ = [
    "ACCEPTED",
    "IMAGE_TYPES",
    "SNIFF_BYTES",
    "VIDEO_TYPES",
    "BatchKind",
    "FileRejected",
    "inspect_file",
    "max_bytes_for",
    "sniff_media_type",
]

BatchKind = Literal["images", "documents", "videos"]

SNIFF_BYTES = 1024
"""How much of a file `inspect_file` reads to sniff its type (a PDF header may sit anywhere in it)."""

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/bmp"})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm", "video/x-matroska", "video/x-msvideo"})

ACCEPTED: dict[BatchKind, frozenset[str]] = {
    "images": IMAGE_TYPES,
    # Scanned documents arrive as images.
    "documents": frozenset({"application/pdf", "application/xml"}) | IMAGE_TYPES,
    "videos": VIDEO_TYPES,
}

_PILLOW_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/tiff": "TIFF",
    "image/bmp": "BMP",
}

# ISO base media (MP4/MOV/HEIF) brands that are not plain video; every other brand is taken as MP4.
_FTYP_BRANDS = {
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/mp4",
    b"M4B ": "audio/mp4",
    b"M4P ": "audio/mp4",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"hevc": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"avif": "image/avif",
    b"avis": "image/avif",
}
# Old QuickTime files start with one of these atoms instead of `ftyp`.
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}
_XML_WHITESPACE = " \t\r\n"

# `warnings.catch_warnings` swaps process-wide state; ingestion validates files on several threads,
# so the short window in which Pillow reads headers (and may warn) is serialized. Decoding pixels,
# the slow part, runs outside it.
_WARNINGS_LOCK = threading.Lock()


class FileRejected(DocketError, ValueError):
    """Raised when a file is too big, of a type the batch does not accept, or does not decode.

    Attributes:
        error_type: the typed reason, shown in listings and notifications.
        reason: one sentence for a person: what was expected, what was found.
    """

    def __init__(self, error_type: FileErrorType, reason: str) -> None:
        reason = strip_local_paths(reason)  # library messages (FFmpeg, pypdf, OS) quote local paths
        super().__init__(f"{error_type.value}: {reason}")
        self.error_type = error_type
        self.reason = reason

    def __reduce__(self) -> tuple[type[FileRejected], tuple[FileErrorType, str]]:
        # Keep the two-argument constructor working across pickling (process pools, Prefect results).
        return (type(self), (self.error_type, self.reason))


def sniff_media_type(head: bytes, name: str) -> str | None:
    """The media type of a file from its first bytes (`SNIFF_BYTES` are enough), or None if unknown.

    Besides the accepted types this names a few common others (HEIC, ZIP, audio, SVG...), so a
    rejection can say what the file is. `name` only settles what the bytes leave open: Matroska
    versus WebM without a readable DocType, QuickTime versus MP4 for old atom layouts, and XML
    without an `<?xml` declaration, which is taken as XML only when the name ends in `.xml`.
    """
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "image/tiff"
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WEBP": "image/webp", b"AVI ": "video/x-msvideo", b"WAVE": "audio/wav"}.get(head[8:12])
    if head.startswith(b"BM") and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "image/bmp"
    if b"%PDF-" in head[:SNIFF_BYTES]:
        return "application/pdf"
    if head[4:8] == b"ftyp":
        return _ftyp_type(head)
    if head[4:8] in _QUICKTIME_ATOMS:
        return "video/mp4" if suffix in (".mp4", ".m4v") else "video/quicktime"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if b"webm" in head[:64]:
            return "video/webm"
        if b"matroska" in head[:64]:
            return "video/x-matroska"
        return "video/webm" if suffix == ".webm" else "video/x-matroska"
    xml_type = _xml_type(head, suffix)
    if xml_type:
        return xml_type
    return _other_type(head)


def _ftyp_type(head: bytes) -> str:
    size = int.from_bytes(head[0:4], "big")
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)]
    for brand in brands:
        if brand in _FTYP_BRANDS:
            return _FTYP_BRANDS[brand]
    return "video/mp4"


def _xml_type(head: bytes, suffix: str) -> str | None:
    if head.startswith(b"\xef\xbb\xbf"):
        text = head[3:].decode("utf-8", "ignore")
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", "ignore")
    elif head.startswith(b"<\x00"):
        text = head.decode("utf-16-le", "ignore")
    elif head.startswith(b"\x00<"):
        text = head.decode("utf-16-be", "ignore")
    else:
        text = head.decode("latin-1")
    text = text.lstrip(_XML_WHITESPACE)
    if not text.startswith("<"):
        return None
    if suffix == ".svg" or "<svg" in text:
        return "image/svg+xml"
    if text.startswith("<?xml") or suffix == ".xml":
        return "application/xml"
    return None


def _other_type(head: bytes) -> str | None:
    """Types Docket never accepts, named so that the rejection can say what the file is."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "application/zip"
    if head.startswith(b"\x1f\x8b"):
        return "application/gzip"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "application/zstd"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "application/x-7z-compressed"
    if head[257:262] == b"ustar":
        return "application/x-tar"
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if head.startswith(b"OggS"):
        return "application/ogg"
    return None


def max_bytes_for(media_type: str, settings: DocketSettings) -> int:
    """The size cap for a media type: images and videos have their own, everything else is a document."""
    if media_type.startswith("image/"):
        return settings.max_image_bytes
    if media_type.startswith("video/"):
        return settings.max_video_bytes
    return settings.max_document_bytes


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
        _check_video(path, media_type)
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
        _check_image(fh, media_type)
    elif media_type == "application/pdf":
        _check_pdf(fh)
    elif media_type == "application/xml":
        _check_xml(fh)
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


def _without_file_object(exc: BaseException) -> str:
    """Pillow's message without the repr of the file object it read (`<_io.BytesIO object at 0x...>`),
    which changes on every run and may hold a local path."""
    return re.sub(r"\s*<_io\.[A-Za-z]+ [^>]*>", "", str(exc)).strip() or type(exc).__name__


def _invalid(reason: str) -> FileRejected:
    return FileRejected(FileErrorType.INVALID_FILE_CONTENT, reason)


def _check_image(fh: BinaryIO, media_type: str) -> None:
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
        raise _invalid(f"not a readable {fmt} image: {_without_file_object(exc)}") from exc
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
            raise _invalid(f"{fmt} image does not decode: {_without_file_object(exc)}") from exc
    if fmt == "PNG" and not _has_png_end(fh):
        raise _invalid("PNG image is truncated: its IEND chunk is missing (the file was cut short)")


_PNG_END = b"IEND\xaeB`\x82"


def _has_png_end(fh: BinaryIO) -> bool:
    """Pillow decodes a PNG cut after its image data; a whole one ends with the IEND chunk (tools
    sometimes append a few bytes after it, so look at the last 4 KiB)."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(max(0, size - 4096))
    return _PNG_END in fh.read()


def _check_pdf(fh: BinaryIO) -> None:
    try:
        reader = pypdf.PdfReader(fh)
        if reader.is_encrypted and not reader.decrypt(""):
            raise _invalid("PDF is encrypted with a password; upload it without the password")
        if len(reader.pages) < 1:
            raise _invalid("PDF has no pages")
        reader.pages[0].get_contents()
    except FileRejected:
        raise
    except pypdf.errors.FileNotDecryptedError as exc:
        raise _invalid(f"PDF is encrypted and cannot be read: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on hostile input; each means "invalid"
        raise _invalid(f"PDF does not open: {type(exc).__name__}: {exc}") from exc


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


def _check_xml(fh: BinaryIO) -> None:
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
        raise _invalid(str(exc)) from exc
    except expat.ExpatError as exc:
        where = f"line {exc.lineno}, column {exc.offset}"
        raise _invalid(f"XML does not parse: {expat.ErrorString(exc.code)} at {where}") from exc


def _check_video(path: Path, media_type: str) -> None:
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                raise _invalid(f"{media_type} file has no video stream")
            stream = container.streams.video[0]
            for _frame in container.decode(stream):
                return
    except FileRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - FFmpeg errors come as many classes; each means "invalid"
        raise _invalid(f"video does not open: {type(exc).__name__}: {exc}") from exc
    raise _invalid(f"{media_type} file has no decodable video frame")
