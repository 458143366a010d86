"""The typed download failures, and messages that never quote a signed URL's query string."""

from __future__ import annotations

from typing import ClassVar

import httpx

from docket_core.errors import DocketError, FileErrorType, UnsafeURLError
from docket_core.redact import scrub_url_secrets

__all__ = ["DownloadFailed", "DownloadTimedOut", "FetchError", "FileTooLarge", "UnsafeURL", "describe", "scrub"]


class FetchError(DocketError):
    """Raised when one download fails; `error_type` is the typed reason recorded for the file."""

    error_type: ClassVar[FileErrorType] = FileErrorType.DOWNLOAD_FAILED


class UnsafeURL(FetchError, UnsafeURLError):
    """Raised when a URL or a redirect points somewhere Docket refuses to fetch from."""

    error_type = FileErrorType.UNSAFE_URL_DETECTED


class FileTooLarge(FetchError, ValueError):
    """Raised when a download is larger than allowed (announced or streamed)."""

    error_type = FileErrorType.FILE_SIZE_LIMIT_EXCEEDED


class DownloadTimedOut(FetchError, TimeoutError):
    """Raised when a download, redirects included, does not finish within its deadline."""

    error_type = FileErrorType.DOWNLOAD_TIMEOUT


class DownloadFailed(FetchError):
    """Raised when a server answers with an error status, too many redirects, or not at all."""

    error_type = FileErrorType.DOWNLOAD_FAILED


def describe(exc: Exception, url: str) -> str:
    """`exc` in a few words, without any query string it may quote."""
    detail = scrub(str(exc), url)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def scrub(text: str, url: str) -> str:
    """`text` with the query string of `url` (as given or as httpx encodes it) replaced by `<redacted>`."""
    query = url.split("#", 1)[0].partition("?")[2]
    if not query:
        return scrub_url_secrets(text, url)
    forms = {query}
    try:
        forms.add(httpx.URL(url).query.decode("ascii", "replace"))
    except (httpx.InvalidURL, TypeError):
        pass  # unparseable: only the query as given can appear
    for form in sorted(forms, key=len, reverse=True):
        if form:
            text = text.replace(form, "<redacted>")
    return scrub_url_secrets(text, url)  # and a known webhook host's path token
