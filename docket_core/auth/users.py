"""Users: a name, an Argon2 hash of the password (argon2-cffi), and whether they may sign in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema_auth import users
from docket_core.errors import ConflictError, InputError, NotFoundError

__all__ = ["User", "authenticate", "create_user", "delete_user", "get_user", "list_users", "set_password"]

USERNAME_PATTERN = r"^[A-Za-z0-9_.@+-]{1,150}$"
_USERNAME = re.compile(USERNAME_PATTERN)
MIN_PASSWORD_LENGTH = 8
_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters
# Verifying against this when the user does not exist keeps the answer time the same either way.
_DUMMY_HASH = _hasher.hash("docket-no-such-user")


@dataclass(frozen=True)
class User:
    id: int
    username: str
    email: str | None
    first_name: str | None
    last_name: str | None
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


def _user(row: sa.Row) -> User:
    return User(row.id, row.username, row.email, row.first_name, row.last_name, bool(row.is_active),
                row.created_at, row.last_login_at)  # fmt: skip


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters, got {len(password)}")


def create_user(
    catalog: Catalog, username: str, password: str, *, email: str | None = None,
    first_name: str | None = None, last_name: str | None = None,
) -> User:  # fmt: skip
    """Add a user; the password is kept only as an Argon2id hash."""
    if not _USERNAME.match(username):
        raise InputError(f"a username must match {USERNAME_PATTERN}, got {username!r}")
    _check_password(password)
    values = dict(username=username, email=email, first_name=first_name, last_name=last_name,
                  password_hash=_hasher.hash(password), is_active=True, created_at=utcnow())  # fmt: skip
    with catalog.begin() as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first() is not None:
            raise ConflictError(f"a user named {username!r} exists already; pick another name or delete it first")
        user_id = conn.execute(sa.insert(users).values(**values)).inserted_primary_key[0]
        return _user(conn.execute(sa.select(users).where(users.c.id == user_id)).one())


def set_password(catalog: Catalog, username: str, password: str) -> None:
    _check_password(password)
    with catalog.begin() as conn:
        done = conn.execute(sa.update(users).where(users.c.username == username).values(password_hash=_hasher.hash(password)))
        if done.rowcount == 0:
            raise NotFoundError(f"no user named {username!r}; `docket users list` shows them")


def get_user(catalog: Catalog, user: int | str) -> User:
    """A user by id or name."""
    where = users.c.id == user if isinstance(user, int) else users.c.username == user
    with catalog.read() as conn:
        row = conn.execute(sa.select(users).where(where)).first()
    if row is None:
        raise NotFoundError(f"no user {user!r}; `docket users list` shows them")
    return _user(row)


def list_users(catalog: Catalog) -> list[User]:
    with catalog.read() as conn:
        return [_user(r) for r in conn.execute(sa.select(users).order_by(users.c.id))]


def delete_user(catalog: Catalog, username: str) -> None:
    """Remove a user and every token of theirs (the tokens stop working at once)."""
    from docket_core.catalog.schema_auth import auth_tokens

    with catalog.begin() as conn:
        row = conn.execute(sa.select(users.c.id).where(users.c.username == username)).first()
        if row is None:
            raise NotFoundError(f"no user named {username!r}; `docket users list` shows them")
        conn.execute(sa.delete(auth_tokens).where(auth_tokens.c.user_id == row.id))
        conn.execute(sa.delete(users).where(users.c.id == row.id))


def authenticate(catalog: Catalog, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (the same for every kind of wrong)."""
    with catalog.read() as conn:
        row = conn.execute(sa.select(users).where(users.c.username == username)).first()
    try:
        _hasher.verify(row.password_hash if row is not None else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or not row.is_active:
        return None
    values: dict[str, object] = {"last_login_at": utcnow()}
    if _hasher.check_needs_rehash(row.password_hash):
        values["password_hash"] = _hasher.hash(password)
    with catalog.begin() as conn:
        conn.execute(sa.update(users).where(users.c.id == row.id).values(**values))
    return _user(row)
