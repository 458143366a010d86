"""Who may do what: users with hashed passwords, and tokens (kind, scope, expiry) that stand for them.

Every HTTP entry point of `docket serve` (the Rossum-compatible REST API, the Roboflow-style batch API,
the review pages) authenticates through this package, so one user table and one token table serve them
all. The domain knows no HTTP: routers read the header or cookie and call `resolve_token`.
"""

from docket_core.auth.tokens import (
    TOKEN_KINDS,
    IssuedToken,
    TokenKind,
    TokenRecord,
    issue_token,
    issue_tokens,
    list_tokens,
    resolve_token,
    revoke_token,
)
from docket_core.auth.users import User, authenticate, create_user, delete_user, get_user, list_users, set_password

__all__ = [
    "TOKEN_KINDS",
    "IssuedToken",
    "TokenKind",
    "TokenRecord",
    "User",
    "authenticate",
    "create_user",
    "delete_user",
    "get_user",
    "issue_token",
    "issue_tokens",
    "list_tokens",
    "list_users",
    "resolve_token",
    "revoke_token",
    "set_password",
]
