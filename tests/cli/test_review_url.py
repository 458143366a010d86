"""`docket documents review-url`: a link that opens one document's review page, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docket_core.auth import resolve_token
from docket_core.cli import app
from docket_core.invoice_samples import write_sample_invoices
from docket_core.resources import Resources

pytestmark = pytest.mark.usefixtures("prefect_harness")
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


class TestReviewUrl:
    def test_a_link_is_scoped_to_its_document_and_its_return_url_must_be_allowed(
        self, tmp_path: Path, docket_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("DOCKET_REVIEW_FRAME_ORIGINS", "https://erp.example.com")
        monkeypatch.setenv("DOCKET_PUBLIC_BASE_URL", "https://docket.example.com")
        assert invoke("queues", "create", "--queue", "invoices", "--workflow", "invoice-capture")[0] == 0
        [invoice] = write_sample_invoices(tmp_path / "in", count=2)[1:]
        code, out, err = invoke("documents", "upload", "--queue", "invoices", str(invoice), "--json")
        assert code == 0, err
        document_id = json.loads(out)["imports"][0]["document_ids"][0]

        code, out, err = invoke("documents", "review-url", str(document_id), "--return-url", "https://erp.example.com/i/1", "--json")
        assert code == 0, err
        link = json.loads(out)
        assert link["url"].startswith("https://docket.example.com/review/embed?token=dkr_")
        token = link["url"].split("token=", 1)[1]
        record = resolve_token(Resources.from_settings().catalog(), token, kinds={"review"})
        assert record.scope == {"document": document_id, "return_url": "https://erp.example.com/i/1"}

        code, _, err = invoke("documents", "review-url", str(document_id), "--return-url", "https://evil.example.com/")
        assert code == 2 and "DOCKET_REVIEW_FRAME_ORIGINS (https://erp.example.com), got https://evil.example.com" in err
        code, _, err = invoke("documents", "review-url", "9999")
        assert code == 2 and "no document 9999" in err
