"""Capability URLs: upload and download targets signed with HMAC-SHA256 and an expiry.

The Roboflow client PUTs shards and videos to an `uploadURL` and GETs job outputs from a
`downloadURL` without its API key, so the URL itself is the credential. Docket signs the path and
the expiry (`expires`, Unix seconds) under `DOCKET_ROBOFLOW_URL_SECRET` (or a key made per process)
and checks both in constant time. On an S3 store downloads are S3 presigned URLs instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from docket_core.errors import DocketError
from docket_core.settings import DocketSettings

__all__ = ["SignedURLRefused", "URLSigner"]

_PROCESS_KEY = secrets.token_bytes(32)  # used when no secret is configured: URLs end with the process


class SignedURLRefused(DocketError, PermissionError):
    """Raised when a capability URL's signature is wrong or its time is up."""


@dataclass(frozen=True)
class URLSigner:
    key: bytes
    ttl_seconds: int

    @classmethod
    def from_settings(cls, settings: DocketSettings) -> URLSigner:
        secret = settings.roboflow_url_secret
        key = hashlib.sha256(secret.get_secret_value().encode()).digest() if secret is not None else _PROCESS_KEY
        return cls(key=key, ttl_seconds=settings.roboflow_url_ttl_seconds)

    def _mac(self, method: str, path: str, expires: int) -> str:
        message = f"{method.upper()}\n{path}\n{expires}".encode("utf-8", "surrogatepass")
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def query(self, method: str, path: str, *, now: float | None = None) -> str:
        """The query string (`expires=...&signature=...`) that lets `method` on `path` until the expiry."""
        expires = int((time.time() if now is None else now) + self.ttl_seconds)
        return f"expires={expires}&signature={self._mac(method, path, expires)}"

    def verify(self, method: str, path: str, expires: str | None, signature: str | None, *, now: float | None = None) -> None:
        """Raises:
        SignedURLRefused: the signature is missing or wrong, or the URL has expired."""
        if not expires or not signature or not expires.isdigit():
            raise SignedURLRefused("expected a signed URL (expires and signature in the query), got none; ask the API for a new one")
        if not hmac.compare_digest(self._mac(method, path, int(expires)), signature):
            raise SignedURLRefused("the URL's signature does not match; use the URL exactly as the API handed it out")
        if int(expires) < (time.time() if now is None else now):
            raise SignedURLRefused("the URL has expired; ask the API for a new one")
