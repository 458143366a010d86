"""auth: users (Argon2 password hashes) and tokens (SHA-256 of the token, kind, scope, expiry)

Revision ID: 0007_auth
Revises: 0006
Create Date: 2026-12-04 18:30:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = "0007_auth"
down_revision = "0006"
branch_labels = None
depends_on = None

import docket_core.catalog.schema

UTC_TS = docket_core.catalog.schema.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
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
    op.create_table(
        "auth_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
        sa.Column("scope", sa.JSON, nullable=False),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("expires_at", UTC_TS, nullable=True),
        sa.Column("revoked_at", UTC_TS, nullable=True),
        sa.Column("last_used_at", UTC_TS, nullable=True),
    )
    op.create_index("ix_auth_tokens_kind", "auth_tokens", ["kind"])


def downgrade() -> None:
    op.drop_index("ix_auth_tokens_kind", table_name="auth_tokens")
    op.drop_table("auth_tokens")
    op.drop_table("users")
