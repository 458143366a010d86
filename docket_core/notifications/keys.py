"""Which secret, token and timeout a notification to a URL is sent with.

The default is the signing secret from settings (`DOCKET_WEBHOOK_SECRET`, or the one generated into
`<DOCKET_HOME>/secrets/webhook-secret`) with no token. A `WebhookEndpoint` block registered with
exactly the notification's URL overrides it (`tasks.notifications` loads those blocks). Nothing here
prints a secret: `repr` hides them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from docket_core.settings.notify import NotifySettings
from docket_core.signing import secret_key

__all__ = ["EndpointCredentials", "Keyring"]


@dataclass(frozen=True, repr=False)
class EndpointCredentials:
    """The HMAC key (decoded from `whsec_...`), the optional bearer token, and the answer timeout."""

    key: bytes
    token: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_secret(cls, secret: str, *, token: str | None = None, timeout: float = 10.0) -> EndpointCredentials:
        """Raises ValueError when `secret` is not a `whsec_...` secret."""
        return cls(key=secret_key(secret), token=token or None, timeout=timeout)

    def __repr__(self) -> str:
        return f"EndpointCredentials(key=<hidden>, token={'<hidden>' if self.token else None}, timeout={self.timeout})"


class Keyring:
    """Credentials by exact URL, falling back to a default."""

    def __init__(self, default: EndpointCredentials, by_url: Mapping[str, EndpointCredentials] | None = None) -> None:
        self.default = default
        self._by_url = dict(by_url or {})

    @classmethod
    def from_settings(
        cls, settings: NotifySettings, by_url: Mapping[str, EndpointCredentials] | None = None
    ) -> Keyring:
        """The default from settings (generating the secret on first use), plus per-URL overrides."""
        default = EndpointCredentials.from_secret(settings.signing_secret(), timeout=settings.notify_timeout)
        return cls(default, by_url)

    def for_url(self, url: str) -> EndpointCredentials:
        return self._by_url.get(url, self.default)

    def __repr__(self) -> str:
        return f"Keyring(default=<hidden>, endpoints={len(self._by_url)})"
