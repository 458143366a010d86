"""Rossum's own clients against Docket, unchanged, each in a venv of its own (tests/clients/venvs.py):
the official Python client `rossum-api` and the `rossum` command line do the one-by-one flow (log in,
upload, wait, export as JSON and CSV), and a TxScript function, written the way Rossum's documentation
writes them, runs as a webhook in its own Python 3.12 interpreter: it reads the payload with its
sideloads, its operations land, and it calls the API back with its token."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from docket_core.auth import create_user
from docket_core.extensions.config import ExtensionSpec
from docket_core.extensions.registry import save_extensions
from docket_core.invoice_samples import write_sample_invoices
from docket_core.queues.documents import document_details
from docket_core.queues.importing import ImportRequest, StagedFile
from docket_core.queues.registry import save_queue
from docket_core.resources import Resources
from docket_core.rossum.ids import queue_numbers
from docket_core.settings import get_settings
from docket_core.staging.ingest import stage_file
from tests.clients.venvs import client_venv
from tests.docket_core.queues.conftest import invoice_queue
from tests.docket_core.server.rossum_server import docket_server, free_port, sqlite_env  # noqa: F401 - a fixture

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]
SCRIPTS = Path(__file__).parents[1] / "clients" / "scripts"
PASSWORD = "correct horse battery"


@dataclass
class Served:
    base: str
    resources: Resources
    number: int
    invoices: list[Path]


@pytest.fixture
def served(sqlite_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    resources = Resources.from_settings()
    with resources.catalog().begin() as conn:
        save_queue(conn, invoice_queue(), source="test")
    create_user(resources.catalog(), "alice", PASSWORD)
    with docket_server(monkeypatch) as base:
        yield Served(base, resources, queue_numbers(resources.catalog())["invoices"], write_sample_invoices(tmp_path / "in", count=2))


def _plain_values(content: list[dict[str, Any]]) -> dict[str, str]:
    return {n["schema_id"]: n["content"]["value"] for s in content for n in s.get("children") or [] if n["category"] == "datapoint"}


def _exported_values(result: dict[str, Any]) -> dict[str, str]:
    return {d["schema_id"]: d["value"] for s in result["content"] for d in s.get("children") or [] if d["category"] == "datapoint"}


def _env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {**keep, "NO_PROXY": "127.0.0.1", **extra}


class TestRossumApiClient:
    def test_the_official_client_logs_in_uploads_waits_and_exports_json_and_csv(self, served: Served) -> None:
        python = client_venv("rossum-api") / "python"
        path = served.invoices[0]
        done = subprocess.run(
            [str(python), str(SCRIPTS / "rossum_api_flow.py"), f"{served.base}/api/v1", "alice", PASSWORD, str(served.number), str(path)],
            capture_output=True, text=True, timeout=240, env=_env(),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        seen = json.loads(done.stdout)
        annotation_id = seen["annotation"]["id"]
        details = document_details(served.resources.catalog(), annotation_id)
        assert seen["queue"] == {"id": served.number, "name": "invoices", "schema": f"{served.base}/api/v1/schemas/{served.number}"}
        assert seen["schema_ids"][0] == "basic_info"
        assert seen["annotation"]["status"] == details["status"] == "to_review"
        assert _plain_values(seen["content"]) == _plain_values(details["content"])
        assert [a["status"] for a in seen["json_export"]] == ["to_review"] and seen["listed"] == [annotation_id]
        plain = _plain_values(details["content"])
        assert [{d["schema_id"]: d["content"]["value"] for d in c} for c in seen["sideloaded_content"]] == [
            {k: plain[k] for k in ("invoice_number", "gross_total")}]
        rows = list(csv.DictReader(io.StringIO(seen["csv_export"])))
        assert {rows[0][k] for k in ("invoice_number",)} == {details["content"][0]["children"][0]["content"]["value"]}
        assert rows[0]["gross_total"] == _plain_values(details["content"])["gross_total"]


class TestRossumCommandLine:
    def test_rossum_document_extract_gives_dockets_values_as_json_and_csv(self, served: Served) -> None:
        rossum = client_venv("rossum-cli") / "rossum"
        env = _env(ROSSUM_URL=f"{served.base}/api", ROSSUM_USERNAME="alice", ROSSUM_PASSWORD=PASSWORD)
        path = served.invoices[0]
        as_json = subprocess.run([str(rossum), "document", "extract", str(served.number), str(path), "--format", "json"],
                                 capture_output=True, text=True, timeout=240, env=env)  # fmt: skip
        assert as_json.returncode == 0, as_json.stderr[-3000:]
        (result,) = json.loads(as_json.stdout)["results"]
        annotation_id = result["id"]
        details = document_details(served.resources.catalog(), annotation_id)
        assert _exported_values(result) == _plain_values(details["content"])
        as_csv = subprocess.run([str(rossum), "document", "extract", str(served.number), str(path), "--format", "csv"],
                                capture_output=True, text=True, timeout=240, env=env)  # fmt: skip
        assert as_csv.returncode == 0, as_csv.stderr[-3000:]
        rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
        assert rows[0]["invoice_number"] == _plain_values(details["content"])["invoice_number"]


class TestTxScriptFunction:
    def test_a_txscript_function_reads_sideloads_its_operations_land_and_it_calls_back(self, served: Served) -> None:
        from flows.import_documents import import_documents

        python = client_venv("txscript") / "python"
        port = free_port()
        hook = subprocess.Popen([str(python), str(SCRIPTS / "txscript_hook.py"), str(port), "txs3cret"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=_env())  # fmt: skip
        try:
            assert hook.stdout is not None and hook.stdout.readline().strip() == "ready"
            spec = ExtensionSpec(
                name="txscript", type="webhook", url=f"http://127.0.0.1:{port}/", secret="txs3cret", events=["initialize"],
                queues=["invoices"], sideload=["schemas", "queues"], settings={"postpone_above": 100000, "big_line": 0},
            )  # fmt: skip
            with served.resources.catalog().begin() as conn:
                save_extensions(conn, [spec], source="test")
            settings = get_settings()
            staged = []
            for path in served.invoices:
                outcome = stage_file(path, path.name, batch_kind="documents", settings=settings, store=served.resources.store())
                staged.append(StagedFile(name=path.name, sha256=outcome.sha256 or "", media_type=outcome.media_type, size=outcome.size))
            summary = import_documents(request=ImportRequest(queue_id="invoices", source="files", files=staged))
        finally:
            hook.terminate()
            _, errors = hook.communicate(timeout=20)
        for doc_id in summary.document_ids:
            details = document_details(served.resources.catalog(), doc_id)
            number = _plain_values(details["content"])["invoice_number"]
            assert number.startswith("INV2024") and "-" not in number, (number, details["messages"], errors[-2000:])
            assert details["sources"]["invoice_number"] == "txscript"
            warnings = [m for m in details["messages"] if m["type"] == "warning" and m.get("source") == "txscript"]
            (gross,) = [n for s in details["content"] for n in s["children"] if n["schema_id"] == "gross_total"]
            assert gross["id"] in {m["id"] for m in warnings} and {m["content"] for m in warnings} == {"Value is too big"}
            assert {"type": "info", "content": "checked in queue invoices"}.items() <= next(
                m for m in details["messages"] if m.get("source") == "txscript" and m["type"] == "info").items()
        assert {document_details(served.resources.catalog(), d)["status"] for d in summary.document_ids} == {"to_review"}

    def test_a_txscript_function_postpones_through_the_api_with_its_token(self, served: Served) -> None:
        from flows.import_documents import import_documents

        python = client_venv("txscript") / "python"
        port = free_port()
        hook = subprocess.Popen([str(python), str(SCRIPTS / "txscript_hook.py"), str(port), "txs3cret"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=_env())  # fmt: skip
        try:
            assert hook.stdout is not None and hook.stdout.readline().strip() == "ready"
            spec = ExtensionSpec(name="txscript", type="webhook", url=f"http://127.0.0.1:{port}/", secret="txs3cret",
                                 events=["initialize"], queues=["invoices"], sideload=["schemas", "queues"],
                                 settings={"postpone_above": 0, "big_line": 10**9})  # fmt: skip
            with served.resources.catalog().begin() as conn:
                save_extensions(conn, [spec], source="test")
            path = served.invoices[0]
            outcome = stage_file(path, path.name, batch_kind="documents", settings=get_settings(), store=served.resources.store())
            staged = [StagedFile(name=path.name, sha256=outcome.sha256 or "", media_type=outcome.media_type, size=outcome.size)]
            summary = import_documents(request=ImportRequest(queue_id="invoices", source="files", files=staged))
        finally:
            hook.terminate()
            _, errors = hook.communicate(timeout=20)
        (doc_id,) = summary.document_ids
        details = document_details(served.resources.catalog(), doc_id)
        assert details["status"] == "postponed", errors[-2000:]
        assert details["history"][-1]["actor"].startswith("extension-token:")
