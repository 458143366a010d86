"""Tokens: long random strings that stand for a user (or a workspace) with a kind, a scope and an expiry.

Only the SHA-256 of a token is stored; the token itself is shown once, when issued. A token's `kind`
says which door it opens (`api` for the Rossum-compatible REST API, `hook` for one extension call
back into that API, `review` for one document's embedded review page, `session` for a signed-in
browser, `api-key` for the Roboflow-style batch API); its `scope` narrows it further
(`{"annotation": 12}`, `{"document": 12}`, `{"workspace": "acme"}`, or `{}` for all the user may do).
`resolve_token` refuses expired and revoked tokens, and tokens of another kind.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

import sqlalchemy as sa

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema_auth import auth_tokens
from docket_core.errors import InputError, NotFoundError

__all__ = [
    "TOKEN_KINDS", "IssuedToken", "TokenKind", "TokenRecord", "issue_token", "issue_tokens", "list_tokens", "resolve_token",
    "revoke_token",
]  # fmt: skip

TokenKind = Literal["api", "hook", "review", "session", "api-key"]
TOKEN_KINDS: tuple[str, ...] = get_args(TokenKind)
_PREFIX = {"api": "dkt_", "hook": "dkh_", "review": "dkr_", "session": "dks_", "api-key": "dka_"}
_LAST_USED_STEP = timedelta(minutes=1)  # write last_used_at at most this often per token


@dataclass(frozen=True)
class TokenRecord:
    id: int
    kind: str
    user_id: int | None
    scope: dict[str, Any] = field(default_factory=dict)
    label: str | None = None
    prefix: str = ""
    created_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


@dataclass(frozen=True)
class IssuedToken:
    """A new token: `token` is the only time the secret is seen; keep it."""

    token: str
    record: TokenRecord


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _record(row: sa.Row) -> TokenRecord:
    return TokenRecord(row.id, row.kind, row.user_id, dict(row.scope or {}), row.label, row.prefix,
                       row.created_at, row.expires_at, row.revoked_at, row.last_used_at)  # fmt: skip


def issue_token(
    catalog: Catalog, kind: TokenKind, *, user_id: int | None = None, scope: dict[str, Any] | None = None,
    ttl: timedelta | None = None, label: str | None = None,
) -> IssuedToken:  # fmt: skip
    """A new token of `kind`; `ttl` None means it lasts until revoked."""
    if kind not in _PREFIX:
        raise InputError(f"token kind must be one of {', '.join(TOKEN_KINDS)}, got {kind!r}")
    if ttl is not None and ttl <= timedelta(0):
        raise InputError(f"a token's lifetime must be positive, got {ttl}")
    token = _PREFIX[kind] + secrets.token_urlsafe(32)
    now = utcnow()
    values = dict(token_sha256=_digest(token), kind=kind, user_id=user_id, scope=scope or {}, label=label,
                  prefix=token[:12], created_at=now, expires_at=now + ttl if ttl is not None else None)  # fmt: skip
    with catalog.begin() as conn:
        token_id = conn.execute(sa.insert(auth_tokens).values(**values)).inserted_primary_key[0]
        row = conn.execute(sa.select(auth_tokens).where(auth_tokens.c.id == token_id)).one()
    return IssuedToken(token, _record(row))


def issue_tokens(
    catalog: Catalog, kind: TokenKind, scopes: list[dict[str, Any]], *, user_id: int | None = None,
    ttl: timedelta | None = None, label: str | None = None,
) -> list[str]:  # fmt: skip
    """One new token per scope, written in one statement (an extension call over a chunk of documents
    gets one short-lived token per document); the tokens, in the order of `scopes`."""
    if kind not in _PREFIX:
        raise InputError(f"token kind must be one of {', '.join(TOKEN_KINDS)}, got {kind!r}")
    if ttl is not None and ttl <= timedelta(0):
        raise InputError(f"a token's lifetime must be positive, got {ttl}")
    if not scopes:
        return []
    now = utcnow()
    tokens = [_PREFIX[kind] + secrets.token_urlsafe(32) for _ in scopes]
    rows = [
        dict(token_sha256=_digest(token), kind=kind, user_id=user_id, scope=scope, label=label, prefix=token[:12],
             created_at=now, expires_at=now + ttl if ttl is not None else None)  # fmt: skip
        for token, scope in zip(tokens, scopes)
    ]
    with catalog.begin() as conn:
        conn.execute(sa.insert(auth_tokens), rows)
    return tokens


def resolve_token(catalog: Catalog, token: str, *, kinds: tuple[str, ...] | set[str]) -> TokenRecord | None:
    """The live token record for `token` if it is one of `kinds`; None when unknown, expired or revoked."""
    if not token or len(token) > 512:
        return None
    with catalog.read() as conn:
        row = conn.execute(sa.select(auth_tokens).where(auth_tokens.c.token_sha256 == _digest(token))).first()
    now = utcnow()
    if row is None or row.kind not in kinds or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_STEP:
        with catalog.begin() as conn:
            conn.execute(sa.update(auth_tokens).where(auth_tokens.c.id == row.id).values(last_used_at=now))
    return _record(row)


def list_tokens(catalog: Catalog, *, kind: str | None = None, include_revoked: bool = False) -> list[TokenRecord]:
    query = sa.select(auth_tokens).order_by(auth_tokens.c.id)
    if kind is not None:
        query = query.where(auth_tokens.c.kind == kind)
    if not include_revoked:
        query = query.where(auth_tokens.c.revoked_at.is_(None))
    with catalog.read() as conn:
        return [_record(r) for r in conn.execute(query)]


def revoke_token(catalog: Catalog, *, token: str | None = None, token_id: int | None = None, prefix: str | None = None) -> int:
    """Revoke by the token itself, its id, or its shown prefix; returns how many were revoked."""
    if token is not None:
        where = auth_tokens.c.token_sha256 == _digest(token)
    elif token_id is not None:
        where = auth_tokens.c.id == token_id
    elif prefix:
        where = auth_tokens.c.prefix.startswith(prefix, autoescape=True)
    else:
        raise InputError("revoke_token needs a token, a token id or a prefix")
    with catalog.begin() as conn:
        done = conn.execute(sa.update(auth_tokens).where(where, auth_tokens.c.revoked_at.is_(None)).values(revoked_at=utcnow()))
    if done.rowcount == 0:
        raise NotFoundError("no live token matches; `docket users tokens` or `docket api-keys list` shows them")
    return done.rowcount
