"""The knobs of notifications and the push receiver (`DOCKET_*`), and where their secrets come from.

Secrets: outbound notifications are signed with `DOCKET_WEBHOOK_SECRET`, or, when it is unset, with a
secret generated on first use into `<DOCKET_HOME>/secrets/webhook-secret` (mode 0600);
`docket notifications secret` prints it for subscribers. A `WebhookEndpoint` block whose URL equals a
notification's URL overrides it with the block's own secret, token and timeout. Pushes in are
verified with `DOCKET_RECEIVER_SECRET`, or `<DOCKET_HOME>/secrets/receiver-secret` the same way.

`DocketSettings` inherits these knobs (one class lists every knob; `docket settings` prints them).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

from docket_core.signing import generate_secret, secret_key

__all__ = ["DEFAULT_RETRY_SCHEDULE", "NotifySettings", "stored_secret"]

# Seconds to wait before each attempt: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
DEFAULT_RETRY_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


class NotifySettings(BaseSettings):
    """Outbox delivery and push receiver settings, read from `DOCKET_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="DOCKET_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path(".docket"), description="Docket's home folder (generated secrets live below it).")
    webhook_secret: SecretStr | None = Field(
        default=None, description="whsec_ secret signing outbound notifications; generated into the home when unset."
    )
    receiver_secret: SecretStr | None = Field(
        default=None, description="whsec_ secret that pushes to the receiver must be signed with; generated when unset."
    )

    notify_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE),
        description="Seconds before each attempt (comma separated); its length is the number of attempts.",
    )
    notify_jitter: float = Field(default=0.2, ge=0, le=1, description="Random share added to or taken from each wait.")
    notify_timeout: float = Field(default=10.0, gt=0, le=300, description="Seconds an endpoint has to answer.")
    notify_max_retry_after: float = Field(
        default=86400.0, ge=0, description="Longest Retry-After honoured, seconds (a longer one is capped)."
    )
    notify_batch_size: int = Field(default=500, ge=1, le=10_000, description="Notifications one delivery task claims.")
    notify_concurrency: int = Field(default=64, ge=1, le=1024, description="Requests in flight at once, all endpoints.")
    notify_endpoint_concurrency: int = Field(default=8, ge=1, le=256, description="Requests in flight to one endpoint.")
    notify_lease_seconds: float = Field(
        default=300.0, gt=0, description="A claimed notification is redelivered by another run after this long."
    )
    notify_linger_seconds: float = Field(
        default=15.0, ge=0, le=3600, description="A delivery run waits this long for retries falling due before it ends."
    )
    notify_max_message_bytes: int = Field(
        default=256 * 1024, ge=1024, description="Largest notification body; longer file lists are truncated."
    )
    notify_disable_after_failures: int = Field(
        default=50, ge=1, description="Failed attempts in a row after which an endpoint may be disabled."
    )
    notify_disable_after_seconds: float = Field(
        default=24 * 3600.0, ge=0, description="...and for at least this many seconds since its last success."
    )

    receiver_host: str = Field(default="127.0.0.1", description="Address the push receiver listens on.")
    receiver_port: int = Field(default=8787, ge=0, le=65535, description="Port the push receiver listens on.")
    receiver_max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, description="Largest push body accepted.")
    receiver_tolerance_seconds: int = Field(
        default=300, ge=1, le=3600, description="How far a push's webhook-timestamp may be from now."
    )

    @field_validator("notify_retry_schedule", mode="before")
    @classmethod
    def _split_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("notify_retry_schedule")
    @classmethod
    def _valid_schedule(cls, value: list[float]) -> list[float]:
        if not value or any(v < 0 for v in value):
            raise ValueError(f"expected one or more non-negative seconds, got {value!r}")
        return value

    @field_validator("webhook_secret", "receiver_secret")
    @classmethod
    def _whsec(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            secret_key(value.get_secret_value())  # raises ValueError with the expected form
        return value

    def signing_secret(self) -> str:
        """The default secret of outbound notifications (generated and kept in the home when unset)."""
        if self.webhook_secret is not None:
            return self.webhook_secret.get_secret_value()
        return stored_secret(self.home / "secrets" / "webhook-secret")

    def push_secret(self) -> str:
        """The secret pushes to the receiver are verified with."""
        if self.receiver_secret is not None:
            return self.receiver_secret.get_secret_value()
        return stored_secret(self.home / "secrets" / "receiver-secret")


def stored_secret(path: Path) -> str:
    """The secret kept in `path`, generated there (readable by its owner only) on first use."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass  # first use: generate it below
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = generate_secret()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secret + "\n")
    try:
        os.link(tmp, path)  # atomic, and refuses to replace: a reader never sees half a secret
    except FileExistsError:  # another process generated it first: use theirs
        return path.read_text(encoding="ascii").strip()
    finally:
        tmp.unlink(missing_ok=True)
    return secret
