"""Docket's exceptions: one base, each subclass also narrowing the builtin it stands for."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ConflictError",
    "DocketError",
    "FileErrorType",
    "InputError",
    "NotFoundError",
    "UnsafeURLError",
]


class DocketError(Exception):
    """Raised when Docket cannot do what was asked; the message says what was expected and got."""


class InputError(DocketError, ValueError):
    """Raised when an argument, file or line does not have the expected form."""


class NotFoundError(DocketError, LookupError):
    """Raised when a batch, job, queue or other named thing does not exist."""


class ConflictError(DocketError, ValueError):
    """Raised when a request reuses an id with a different definition."""


class UnsafeURLError(DocketError, ValueError):
    """Raised when a URL points somewhere Docket refuses to fetch from (see `docket_core.safefetch`)."""


class FileErrorType(StrEnum):
    """The typed reasons a single file can fail; they appear in listings and notifications."""

    FILE_SIZE_LIMIT_EXCEEDED = "file-size-limit-exceeded"
    INVALID_FILE_CONTENT = "invalid-file-content"
    UNSUPPORTED_FILE_TYPE = "unsupported-file-type"
    DUPLICATE_FILE_NAME = "duplicate-file-name"
    UNSAFE_URL_DETECTED = "unsafe-url-detected"
    DOWNLOAD_FAILED = "download-failed"
    DOWNLOAD_TIMEOUT = "download-timeout"
    INVALID_FILE_NAME = "invalid-file-name"
    UNSAFE_ARCHIVE_MEMBER = "unsafe-archive-member"
    MALFORMED_REFERENCE = "malformed-reference"
    PROCESSING_ERROR = "processing-error"
    PROCESSING_TIMEOUT = "processing-timeout"
