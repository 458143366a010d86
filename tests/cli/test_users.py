"""`docket users create|list|delete`: the people who log in to `docket serve`'s APIs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docket_core.auth import authenticate, issue_token, resolve_token
from docket_core.cli import app
from docket_core.resources import Resources

runner = CliRunner()


class TestUsers:
    def test_create_list_and_delete_a_user_whose_tokens_then_stop(self, docket_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("NEW_PASSWORD", "correct horse battery")
        made = runner.invoke(app, ["users", "create", "alice", "--email", "alice@example.com", "--password-env", "NEW_PASSWORD", "--json"])
        assert made.exit_code == 0, made.stderr
        user = json.loads(made.stdout)
        assert (user["username"], user["email"], user["is_active"]) == ("alice", "alice@example.com", True)
        catalog = Resources.from_settings().catalog()
        assert authenticate(catalog, "alice", "correct horse battery") is not None
        token = issue_token(catalog, "api", user_id=user["id"]).token
        listed = json.loads(runner.invoke(app, ["users", "list", "--json"]).stdout)
        assert [u["username"] for u in listed] == ["alice"] and listed[0]["last_login_at"] is not None
        assert runner.invoke(app, ["users", "delete", "alice", "--json"]).exit_code == 0
        assert resolve_token(catalog, token, kinds={"api"}) is None
        assert json.loads(runner.invoke(app, ["users", "list", "--json"]).stdout) == []

    def test_a_short_password_and_a_second_user_of_one_name_are_refused(self, docket_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SHORT", "short")
        refused = runner.invoke(app, ["users", "create", "bob", "--password-env", "SHORT"])
        assert refused.exit_code != 0 and "at least 8 characters" in refused.stderr
        monkeypatch.setenv("GOOD", "long enough password")
        assert runner.invoke(app, ["users", "create", "bob", "--password-env", "GOOD"]).exit_code == 0
        again = runner.invoke(app, ["users", "create", "bob", "--password-env", "GOOD"])
        assert again.exit_code != 0 and "exists already" in again.stderr
        missing = runner.invoke(app, ["users", "delete", "nobody"])
        assert missing.exit_code != 0 and "no user named 'nobody'" in missing.stderr
