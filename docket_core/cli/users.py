"""`docket users ...`: the people who sign in to Docket's APIs (the Rossum-compatible one first)."""

from __future__ import annotations

import os
from typing import Any, Optional

import typer

from docket_core.cli.output import JsonOption, emit, guarded, stdout, table
from docket_core.errors import InputError
from docket_core.resources import Resources

app = typer.Typer(
    help="Users of Docket's HTTP APIs: `POST /api/v1/auth/login` of `docket serve` gives them a token "
    "(Rossum's clients log in this way). Passwords are kept only as Argon2 hashes.",
    no_args_is_help=True,
)


def _shown(user: Any) -> dict[str, Any]:
    return {
        "id": user.id, "username": user.username, "email": user.email, "first_name": user.first_name,
        "last_name": user.last_name, "is_active": user.is_active, "created_at": user.created_at.isoformat(),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }  # fmt: skip


def _password(password_env: Optional[str]) -> str:
    if password_env:
        value = os.environ.get(password_env)
        if not value:
            raise InputError(f"--password-env names {password_env!r}, which is not set (or empty)")
        return value
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@app.command("create")
@guarded
def create(
    username: str = typer.Argument(..., help="The name to log in with (letters, digits, _.@+-)."),
    email: Optional[str] = typer.Option(None, "--email", help="The user's e-mail address."),
    first_name: Optional[str] = typer.Option(None, "--first-name"),
    last_name: Optional[str] = typer.Option(None, "--last-name"),
    password_env: Optional[str] = typer.Option(
        None, "--password-env", help="Read the password from this environment variable (else it is asked for)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Add a user who may log in to the APIs of `docket serve`.

    Example: DOCKET_NEW_PASSWORD=... docket users create alice --email alice@example.com --password-env DOCKET_NEW_PASSWORD
    """
    from docket_core.auth import create_user

    user = create_user(Resources.from_settings().catalog(), username, _password(password_env), email=email,
                       first_name=first_name, last_name=last_name)  # fmt: skip
    if as_json:
        emit(_shown(user))
        return
    stdout.print(f"User {user.username} created (id {user.id}).")


@app.command("list")
@guarded
def list_(as_json: bool = JsonOption) -> None:
    """Every user, with when they last logged in."""
    from docket_core.auth import list_users

    users = [_shown(u) for u in list_users(Resources.from_settings().catalog())]
    if as_json:
        emit(users)
        return
    table("Users", ["id", "username", "email", "active", "last login"],
          [[u["id"], u["username"], u["email"] or "", "yes" if u["is_active"] else "no", u["last_login_at"] or "never"] for u in users])  # fmt: skip


@app.command("delete")
@guarded
def delete(username: str = typer.Argument(..., help="The user to remove; their tokens stop working at once."), as_json: bool = JsonOption) -> None:
    """Remove a user and every token of theirs."""
    from docket_core.auth import delete_user

    delete_user(Resources.from_settings().catalog(), username)
    if as_json:
        emit({"deleted": username})
        return
    stdout.print(f"User {username} deleted.")
