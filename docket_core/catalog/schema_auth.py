"""Catalog tables of authentication: people who sign in, and the tokens that stand for them.

Passwords and tokens are never stored: a user keeps an Argon2 hash of the password, a token row keeps
the SHA-256 of the token (tokens are long random strings, so a fast hash is enough to look them up).
They live on the catalog's one `metadata`, so `TestMigrations` compares them with migration 0007_auth.
"""

from __future__ import annotations

import sqlalchemy as sa

from docket_core.catalog.schema import UTC_TS, metadata

__all__ = ["auth_tokens", "users"]

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(150), nullable=False, unique=True),
    sa.Column("email", sa.String(254), nullable=True),
    sa.Column("first_name", sa.String(150), nullable=True),
    sa.Column("last_name", sa.String(150), nullable=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTC_TS, nullable=False),
    sa.Column("last_login_at", UTC_TS, nullable=True),
)

auth_tokens = sa.Table(
    "auth_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    # api (a user's REST token), hook (handed to one extension call), review (one document's embedded
    # review page), session (a browser session), api-key (a workspace key of the Roboflow-style API)
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    sa.Column("scope", sa.JSON, nullable=False),  # e.g. {"annotation": 12}, {"workspace": "acme"}, {}
    sa.Column("label", sa.String(200), nullable=True),
    sa.Column("prefix", sa.String(16), nullable=False),  # the token's first characters, to tell keys apart
    sa.Column("created_at", UTC_TS, nullable=False),
    sa.Column("expires_at", UTC_TS, nullable=True),
    sa.Column("revoked_at", UTC_TS, nullable=True),
    sa.Column("last_used_at", UTC_TS, nullable=True),
    sa.Index("ix_auth_tokens_kind", "kind"),
)
