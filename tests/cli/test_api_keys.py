"""`docket api-keys`: a key is shown once, listed by prefix and workspace, and revoked at once."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from docket_core.auth import resolve_token
from docket_core.cli import app
from docket_core.resources import Resources

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


class TestApiKeys:
    def test_a_key_is_shown_once_listed_without_its_secret_and_stops_working_when_revoked(self, docket_env: Path) -> None:
        code, out = run("api-keys", "create", "--workspace", "acme", "--label", "nightly", "--json")
        assert code == 0
        created = json.loads(out)
        key = created["api_key"]
        assert key.startswith("dka_") and created["workspace"] == "acme"
        catalog = Resources.from_settings().catalog()
        assert resolve_token(catalog, key, kinds={"api-key"}).scope == {"workspace": "acme"}

        code, out = run("api-keys", "list", "--json")
        [listed] = json.loads(out)
        assert (listed["prefix"], listed["workspace"], listed["label"]) == (key[:12], "acme", "nightly") and key not in out

        assert run("api-keys", "revoke", "--id", str(created["id"]), "--json")[1].strip() == '{"revoked": 1}'
        assert resolve_token(catalog, key, kinds={"api-key"}) is None
        assert json.loads(run("api-keys", "list", "--json")[1]) == []
        code, _ = run("api-keys", "revoke", "--id", str(created["id"]))
        assert code == 2

    def test_a_workspace_name_must_be_plain(self, docket_env: Path) -> None:
        code, _ = run("api-keys", "create", "--workspace", "a b/c")
        assert code == 2
