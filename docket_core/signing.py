"""Standard Webhooks signing: the `webhook-id`, `webhook-timestamp` and `webhook-signature` headers.

The signature is `v1,` followed by the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under the key
that the `whsec_...` secret encodes in base64 (https://www.standardwebhooks.com). Docket signs its
outbound notifications with `sign_headers` and checks pushes it receives with `verify`; both follow
the specification, so any Standard Webhooks library on the other side agrees with them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

from docket_core.errors import DocketError

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "SECRET_PREFIX",
    "SignatureError",
    "generate_secret",
    "secret_key",
    "sign",
    "sign_headers",
    "verify",
]

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(DocketError, PermissionError):
    """Raised when a request's Standard Webhooks headers are missing, invalid or too old.

    `kind` is `missing`, `invalid` or `stale`; the message never quotes a secret or a signature.
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def generate_secret() -> str:
    """A new `whsec_...` secret holding 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key a `whsec_...` secret stands for.

    Raises:
        ValueError: the secret does not start with `whsec_` or is not base64 after it.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("expected a Standard Webhooks secret starting with whsec_, got another form")
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("expected base64 after whsec_ in the webhook secret, got other characters") from exc
    if len(key) < 16:
        raise ValueError(f"expected a webhook secret of at least 16 bytes, got {len(key)}; use generate_secret()")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value (`v1,<base64>`) for one message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def sign_headers(key: bytes, msg_id: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, timestamped now unless told otherwise."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sign(key, msg_id, ts, body)}


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        # Some senders use the `svix-` names of the same scheme.
        value = headers.get(name.replace("webhook-", "svix-"))
    if not value:
        raise SignatureError(f"expected a {name} header (Standard Webhooks), got none", "missing")
    return value


def verify(
    key: bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> str:
    """Check a request's signature and freshness; return its `webhook-id`.

    Args:
        key: the HMAC key (`secret_key(secret)`).
        headers: the request headers, with lower-case names (as Starlette and httpx give them).
        body: the raw body, exactly as received.
        tolerance: seconds the timestamp may differ from `now` either way (replays are refused).
        now: the current Unix time; the clock by default.

    Raises:
        SignatureError: a header is missing, the timestamp is not a number or too far off, or no
            `v1` signature matches.
    """
    msg_id = _header(headers, "webhook-id")
    raw_ts = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        ts = int(raw_ts)
    except ValueError as exc:
        raise SignatureError(f"expected webhook-timestamp to be Unix seconds, got {raw_ts[:32]!r}", "invalid") from exc
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise SignatureError(
            f"expected webhook-timestamp within {tolerance} s of now, got one {int(current - ts)} s off; "
            "sign each attempt with the current time",
            "stale",
        )
    expected = sign(key, msg_id, ts, body).encode()
    for candidate in signatures.split():
        version, _, _ = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(candidate.encode(), expected):
            return msg_id
    raise SignatureError("expected a v1 webhook-signature matching the body and the shared secret, got none", "invalid")
