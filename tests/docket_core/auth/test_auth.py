from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from docket_core.auth import (
    authenticate,
    create_user,
    delete_user,
    issue_token,
    list_tokens,
    list_users,
    resolve_token,
    revoke_token,
)
from docket_core.catalog import Catalog
from docket_core.catalog.schema_auth import auth_tokens, users
from docket_core.errors import ConflictError, InputError, NotFoundError


class TestUsers:
    def test_a_user_signs_in_with_the_password_and_not_with_another(self, catalog: Catalog) -> None:
        create_user(catalog, "ana", "correct horse", email="ana@example.com")
        assert authenticate(catalog, "ana", "correct horse").username == "ana"
        assert authenticate(catalog, "ana", "wrong horse!") is None
        assert authenticate(catalog, "nobody", "correct horse") is None

    def test_the_password_is_stored_only_as_an_argon2_hash(self, catalog: Catalog) -> None:
        create_user(catalog, "ana", "correct horse")
        with catalog.read() as conn:
            stored = conn.execute(sa.select(users.c.password_hash)).scalar_one()
        assert "correct horse" not in stored and stored.startswith("$argon2id$")

    def test_names_are_unique_and_checked(self, catalog: Catalog) -> None:
        create_user(catalog, "ana", "correct horse")
        with pytest.raises(ConflictError, match="exists already"):
            create_user(catalog, "ana", "another pass")
        with pytest.raises(InputError, match=r"must match \^\[A-Za-z0-9_\.@\+-\]\{1,150\}\$, got 'a b'"):
            create_user(catalog, "a b", "correct horse")
        with pytest.raises(InputError, match="at least 8 characters, got 3"):
            create_user(catalog, "bob", "abc")

    def test_deleting_a_user_ends_their_tokens(self, catalog: Catalog) -> None:
        user = create_user(catalog, "ana", "correct horse")
        issued = issue_token(catalog, "api", user_id=user.id)
        delete_user(catalog, "ana")
        assert list_users(catalog) == []
        assert resolve_token(catalog, issued.token, kinds={"api"}) is None
        with pytest.raises(NotFoundError, match="no user named 'ana'"):
            delete_user(catalog, "ana")


class TestTokens:
    def test_a_token_resolves_to_its_kind_and_scope_and_only_its_hash_is_kept(self, catalog: Catalog) -> None:
        issued = issue_token(catalog, "hook", scope={"annotation": 12}, ttl=timedelta(minutes=10))
        record = resolve_token(catalog, issued.token, kinds={"hook"})
        assert record is not None and record.scope == {"annotation": 12}
        assert resolve_token(catalog, issued.token, kinds={"api"}) is None  # another door
        with catalog.read() as conn:
            stored = conn.execute(sa.select(auth_tokens.c.token_sha256)).scalar_one()
        assert issued.token not in stored

    def test_expired_revoked_and_unknown_tokens_are_refused(self, catalog: Catalog) -> None:
        expired = issue_token(catalog, "api", ttl=timedelta(microseconds=1))
        live = issue_token(catalog, "api-key", scope={"workspace": "acme"}, label="ci")
        assert resolve_token(catalog, expired.token, kinds={"api"}) is None
        assert resolve_token(catalog, "dkt_" + "x" * 43, kinds={"api"}) is None
        assert resolve_token(catalog, live.token, kinds={"api-key"}) is not None
        assert revoke_token(catalog, prefix=live.record.prefix) == 1
        assert resolve_token(catalog, live.token, kinds={"api-key"}) is None
        assert [t.label for t in list_tokens(catalog, kind="api-key", include_revoked=True)] == ["ci"]
        assert list_tokens(catalog, kind="api-key") == []
