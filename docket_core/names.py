"""Identifiers and file names from outside: validated once, here."""

from __future__ import annotations

import posixpath
import re
import unicodedata

from docket_core.errors import InputError

__all__ = ["ID_PATTERN", "check_id", "normalize_name"]

ID_PATTERN = re.compile(r"^[a-z0-9_-]{1,64}$")
MAX_NAME_LENGTH = 1024


def check_id(value: str, what: str = "batch id") -> str:
    """Return `value` if it is a valid batch/job/queue id, else raise `InputError` saying why."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise InputError(
            f"{what} must match ^[a-z0-9_-]{{1,64}}$ (lowercase letters, digits, '_' and '-'), got {value!r}"
        )
    return value


def normalize_name(name: str) -> str:
    """A file name as stored in a batch: a relative POSIX path, NFC, no '.', '..' or empty parts.

    Raises `InputError` for names that would escape a folder when exported (absolute paths, `..`),
    control characters, or names longer than 1024 characters.
    """
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"file name must be a non-empty string, got {name!r}")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InputError(f"file name must not contain control characters, got {name!r}")
    candidate = unicodedata.normalize("NFC", name.replace("\\", "/"))
    if candidate.startswith("/") or re.match(r"^[A-Za-z]:/", candidate):
        raise InputError(f"file name must be a relative path, got absolute {name!r}")
    parts = [p for p in candidate.split("/") if p not in ("", ".")]
    if not parts:
        raise InputError(f"file name must name a file, got {name!r}")
    if ".." in parts:
        raise InputError(f"file name must not contain '..', got {name!r}")
    normalized = posixpath.join(*parts)
    if len(normalized) > MAX_NAME_LENGTH:
        raise InputError(f"file name must be at most {MAX_NAME_LENGTH} characters, got {len(normalized)}")
    return normalized
