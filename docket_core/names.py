"""Identifiers and file names from outside: validated once, here."""

from __future__ import annotations

import posixpath
import re
import unicodedata

from docket_core.errors import InputError

__all__ = ["ID_PATTERN", "MAX_COMPONENT_BYTES", "check_id", "normalize_name", "shown_name"]

ID_PATTERN = re.compile(r"^[a-z0-9_-]{1,64}$")
MAX_NAME_LENGTH = 1024
MAX_COMPONENT_BYTES = 255  # what ext4, XFS, APFS and NTFS allow per path component: longer ones cannot be exported
# Unicode "other, control" (C0, DEL, C1) and "other, format" (bidi overrides and isolates, zero-width
# characters, BOM): invisible or reordering, so a name that holds them does not read as what it is.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf"})


def check_id(value: str, what: str = "batch id") -> str:
    """Return `value` if it is a valid batch/job/queue id, else raise `InputError` saying why."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise InputError(
            f"{what} must match ^[a-z0-9_-]{{1,64}}$ (lowercase letters, digits, '_' and '-'), got {value!r}"
        )
    return value


def _unreadable(c: str) -> bool:
    return "\ud800" <= c <= "\udfff" or unicodedata.category(c) in _REFUSED_CATEGORIES


def shown_name(name: str, limit: int = 300) -> str:
    """`name` safe to store and show although it was refused: lone surrogates (bytes that were not
    UTF-8), control and format characters written as escapes; cut at `limit` characters."""
    shown = "".join(c.encode("unicode_escape").decode("ascii") if _unreadable(c) else c for c in name[:limit])
    return shown + ("..." if len(name) > limit else "")


def normalize_name(name: str) -> str:
    """A file name as stored in a batch: a relative POSIX path, NFC, no '.', '..' or empty parts.

    Raises `InputError` for names that would escape a folder when exported (absolute paths, `..`),
    that are not valid UTF-8 (lone surrogates, as `os.fsdecode` and JSON `\\udc80` give), that hold
    Unicode control (Cc, C0 and C1) or format (Cf: bidi overrides, zero-width) characters, with a
    component over 255 bytes in UTF-8, or longer than 1024 characters.
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"file name must be a non-empty string, got {name!r}")
    if any("\ud800" <= c <= "\udfff" for c in name):
        raise InputError(f"file name must be valid UTF-8, got {name!r} (bytes that are not UTF-8); rename the file")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InputError(f"file name must not contain control characters, got {name!r}")
    refused = sorted({f"U+{ord(c):04X}" for c in name if unicodedata.category(c) in _REFUSED_CATEGORIES})
    if refused:
        raise InputError(
            f"file name must not contain Unicode control or format characters (such as bidi overrides), "
            f"got {name!r} with {', '.join(refused)}; rename the file"
        )
    candidate = unicodedata.normalize("NFC", name.replace("\\", "/"))
    if candidate.startswith("/") or re.match(r"^[A-Za-z]:/", candidate):
        raise InputError(f"file name must be a relative path, got absolute {name!r}")
    parts = [p for p in candidate.split("/") if p not in ("", ".")]
    if not parts:
        raise InputError(f"file name must name a file, got {name!r}")
    if ".." in parts:
        raise InputError(f"file name must not contain '..', got {name!r}")
    for part in parts:
        size = len(part.encode("utf-8"))
        if size > MAX_COMPONENT_BYTES:
            raise InputError(
                f"each part of a file name must be at most {MAX_COMPONENT_BYTES} bytes in UTF-8, "
                f"got one of {size} bytes ({shown_name(part, 40)!r}); shorten it"
            )
    normalized = posixpath.join(*parts)
    if len(normalized) > MAX_NAME_LENGTH:
        raise InputError(f"file name must be at most {MAX_NAME_LENGTH} characters, got {len(normalized)}")
    return normalized
