"""What a file is from its first bytes: the media type by content, the name only as a tie-breaker."""

from __future__ import annotations

from pathlib import PurePosixPath

__all__ = ["SNIFF_BYTES", "sniff_media_type"]

SNIFF_BYTES = 1024
"""How much of a file `inspect_file` reads to sniff its type (a PDF header may sit anywhere in it)."""

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
