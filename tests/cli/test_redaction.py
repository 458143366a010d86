"""Credentials inside URLs never show: store/catalog passwords in `docket settings`, and the path
tokens of known webhook hosts (Slack, Discord, Teams, ...) wherever a URL is listed or quoted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docket_core.cli import app
from docket_core.redact import redact_config_url, scrub_url_secrets
from docket_core.references import redact_url

runner = CliRunner()
SLACK = "https://hooks.slack.com/services/T0ACME/B0HOOK/SLACKTOKEN123"
DISCORD = "https://discord.com/api/webhooks/1234567/DISCORDTOKEN456"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


class TestSettings:
    def test_a_store_userinfo_password_and_a_catalog_password_query_never_show(self, docket_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DOCKET_STORE_URL", "s3://AKIDEXAMPLE:St0rePassw0rd@bucket/docket")
        monkeypatch.setenv("DOCKET_CATALOG_URL", "postgresql+psycopg://docket@db.internal/docket?password=Cat4logPass&sslmode=require")
        code, out, err = run("settings", "--json")
        assert code == 0, err
        rows = {r["variable"]: r["value"] for r in json.loads(out)}
        assert rows["DOCKET_STORE_URL"] == "s3://AKIDEXAMPLE:***@bucket/docket"
        assert rows["DOCKET_CATALOG_URL"] == "postgresql+psycopg://docket@db.internal/docket?password=<redacted>&sslmode=require"
        text = run("settings")[1]
        for secret in ("St0rePassw0rd", "Cat4logPass"):
            assert secret not in out and secret not in text


    def test_urls_without_secrets_are_shown_exactly_as_set(self, docket_env: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DOCKET_STORE_URL", "s3://bucket/docket?region=eu-west-1")
        rows = {r["variable"]: r["value"] for r in json.loads(run("settings", "--json")[1])}
        assert rows["DOCKET_STORE_URL"] == "s3://bucket/docket?region=eu-west-1"
        if catalog_url.startswith("sqlite"):
            assert rows["DOCKET_CATALOG_URL"] == catalog_url  # sqlite:////abs/path keeps its four slashes


class TestWebhookPathTokens:
    @pytest.mark.parametrize(("url", "shown"), [
        (SLACK, "https://hooks.slack.com/services/<redacted>"),
        (DISCORD + "?wait=true", "https://discord.com/api/webhooks/<redacted>?<redacted>"),
        ("https://acme.webhook.office.com/webhookb2/aa-bb@cc/IncomingWebhook/TEAMSTOKEN/dd", "https://acme.webhook.office.com/webhookb2/<redacted>"),
        ("https://api.telegram.org/bot123:TELEGRAMTOKEN/sendMessage", "https://api.telegram.org/bot<redacted>"),
        ("https://erp.example.com/hooks/orders", "https://erp.example.com/hooks/orders"),  # unknown host: path kept
    ])  # fmt: skip
    def test_listed_urls_hide_the_token_in_the_path(self, url: str, shown: str) -> None:
        assert redact_url(url) == shown

    def test_error_text_quoting_the_url_hides_its_path_token(self) -> None:
        text = f"Client error '404 Not Found' for url '{SLACK}'"
        assert scrub_url_secrets(text, SLACK) == "Client error '404 Not Found' for url 'https://hooks.slack.com/services/<redacted>'"
        assert "SLACKTOKEN123" not in redact_config_url(SLACK)

    def test_queue_subscriptions_list_and_errors_show_no_webhook_token(self, docket_env: Path) -> None:
        assert run("queues", "create", "--queue", "invoices", "--workflow", "invoice-capture", "--json")[0] == 0
        outputs = []
        for url in (SLACK, DISCORD):
            code, out, err = run("queues", "subscribe", "--queue", "invoices", "--url", url)
            assert code == 0, err
            outputs.append(out)
        code, out, err = run("queues", "subscriptions", "--json")
        assert code == 0, err
        assert sorted(s["url"] for s in json.loads(out)) == [
            "https://discord.com/api/webhooks/<redacted>", "https://hooks.slack.com/services/<redacted>"]  # fmt: skip
        outputs += [out, run("queues", "subscriptions")[1]]
        code, _, err = run("queues", "unsubscribe", "--queue", "invoices", "--endpoint", SLACK + "X")
        assert code == 2
        outputs.append(err)
        shown = "\n".join(outputs)
        assert "SLACKTOKEN123" not in shown and "DISCORDTOKEN456" not in shown

    def test_an_extension_webhook_listing_shows_no_token(self, docket_env: Path) -> None:
        assert run("queues", "create", "--queue", "invoices", "--workflow", "invoice-capture", "--json")[0] == 0
        code, out, err = run("extensions", "create", "-n", "slack", "--type", "webhook", "--url", SLACK, "-e", "initialize",
                             "-q", "invoices", "--json")  # fmt: skip
        assert code == 0, err
        assert json.loads(out)["url"] == "https://hooks.slack.com/services/<redacted>"
        shown = out + run("extensions", "list")[1] + run("extensions", "show", "-n", "slack")[1]
        assert "SLACKTOKEN123" not in shown
