"""The Rossum-compatible REST API on a real server: log in, upload, poll, read, change, export."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest

from docket_core.auth import create_user, issue_token
from docket_core.invoice_samples import write_sample_invoices
from docket_core.queues.documents import document_details
from docket_core.queues.registry import save_queue
from docket_core.resources import Resources
from docket_core.rossum.ids import queue_numbers
from tests.docket_core.queues.conftest import invoice_queue
from tests.docket_core.server.rossum_server import docket_server, sqlite_env  # noqa: F401 - a fixture

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]
PASSWORD = "correct horse battery"


class Api:
    def __init__(self, base: str, resources: Resources, invoices: list[Path]) -> None:
        self.base, self.resources, self.invoices = base, resources, invoices
        self.http = httpx.Client(base_url=f"{base}/api/v1", timeout=60)
        self.number = queue_numbers(resources.catalog())["invoices"]

    def login(self) -> dict[str, str]:
        key = self.http.post("/auth/login", json={"username": "alice", "password": PASSWORD}).json()["key"]
        return {"Authorization": f"Bearer {key}"}

    def wait(self, annotation_id: int, headers: dict[str, str]) -> dict[str, Any]:
        deadline = time.monotonic() + 120
        while True:
            annotation = self.http.get(f"/annotations/{annotation_id}", headers=headers).json()
            if annotation["status"] != "importing" or time.monotonic() > deadline:
                return annotation
            time.sleep(0.3)

    def upload(self, headers: dict[str, str], index: int = 0, **form: str) -> int:
        path = self.invoices[index]
        answer = self.http.post(f"/queues/{self.number}/upload", headers=headers, files={"content": (path.name, path.read_bytes())},
                                data=form or None)  # fmt: skip
        assert answer.status_code == 201, answer.text
        return int(answer.json()["results"][0]["annotation"].rsplit("/", 1)[1])


@pytest.fixture
def api(sqlite_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    resources = Resources.from_settings()
    with resources.catalog().begin() as conn:
        save_queue(conn, invoice_queue(), source="test")
    create_user(resources.catalog(), "alice", PASSWORD)
    invoices = write_sample_invoices(tmp_path / "invoices", count=3)
    with docket_server(monkeypatch) as base:
        api = Api(base, resources, invoices)
        try:
            yield api
        finally:
            api.http.close()


class TestAuthentication:
    def test_every_endpoint_wants_a_token_and_login_gives_one(self, api: Api) -> None:
        for path in ("/queues", f"/queues/{api.number}", "/annotations", "/schemas", f"/queues/{api.number}/export"):
            refused = api.http.get(path)
            assert refused.status_code == 401 and refused.json() == {"detail": "Authentication credentials were not provided."}
        assert api.http.get("/queues", headers={"Authorization": "Bearer nope"}).status_code == 401
        wrong = api.http.post("/auth/login", data={"username": "alice", "password": "wrong password"})
        assert wrong.status_code == 401 and "detail" in wrong.json()
        key = api.http.post("/auth/login", data={"username": "alice", "password": PASSWORD}).json()["key"]  # a form, as rossum-api sends
        for scheme in ("Bearer", "Token", "token"):
            assert api.http.get("/queues", headers={"Authorization": f"{scheme} {key}"}).status_code == 200
        assert api.http.post("/auth/logout", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert api.http.get("/queues", headers={"Authorization": f"Bearer {key}"}).status_code == 401

    def test_a_hook_token_opens_its_own_annotation_only(self, api: Api) -> None:
        headers = api.login()
        first, second = api.upload(headers, 0), api.upload(headers, 1)
        api.wait(first, headers), api.wait(second, headers)
        hook = issue_token(api.resources.catalog(), "hook", scope={"annotation": first}).token
        mine = {"Authorization": f"Bearer {hook}"}
        assert api.http.get(f"/annotations/{first}/content", headers=mine).status_code == 200
        assert api.http.get(f"/annotations/{second}", headers=mine).status_code == 403
        assert api.http.get(f"/schemas/{api.number}", headers=mine).status_code == 200
        assert [a["id"] for a in api.http.get("/annotations", headers=mine).json()["results"]] == [first]
        assert api.http.post(f"/queues/{api.number}/upload", headers=mine, content=b"%PDF").status_code == 403
        for_email = issue_token(api.resources.catalog(), "hook", scope={"queue": "invoices", "email": "m1"}).token
        assert api.http.get("/annotations", headers={"Authorization": f"Bearer {for_email}"}).json()["results"] == []


class TestOneByOne:
    def test_upload_poll_and_export_as_json_csv_and_xml_match_dockets_view(self, api: Api) -> None:
        headers = api.login()
        annotation_id = api.upload(headers, metadata='{"project": "Market ABC"}')
        annotation = api.wait(annotation_id, headers)
        assert annotation["status"] == "to_review" and annotation["queue"] == f"{api.base}/api/v1/queues/{api.number}"
        assert annotation["metadata"] == {"project": "Market ABC"}
        details = document_details(api.resources.catalog(), annotation_id)
        exported = api.http.get(f"/queues/{api.number}/export", headers=headers, params={"format": "json", "id": annotation_id}).json()
        assert exported["pagination"] == {"total": 1, "total_pages": 1, "next": None, "previous": None}
        (result,) = exported["results"]
        values = {d["schema_id"]: d["value"] for s in result["content"] for d in s["children"] if d["category"] == "datapoint"}
        plain = {n["schema_id"]: n["content"]["value"] for s in details["content"] for n in s["children"] if n["category"] == "datapoint"}
        assert values == plain and result["document"]["file_name"] == details["file_name"]
        text = api.http.get(f"/queues/{api.number}/export", headers=headers, params={"format": "csv", "id": annotation_id}).text
        rows = list(csv.DictReader(io.StringIO(text)))
        assert rows[0]["invoice_number"] == plain["invoice_number"] and rows[0]["gross_total"] == plain["gross_total"]
        assert len(rows) == max(1, len(details["values"]["line_items"]))
        xml = ET.fromstring(api.http.get(f"/queues/{api.number}/export", headers=headers, params={"format": "xml", "id": annotation_id}).text)
        assert xml.find("results/annotation/status").text == "to_review"  # type: ignore[union-attr]

    def test_export_with_to_status_exports_the_confirmed_documents(self, api: Api) -> None:
        headers = api.login()
        annotation_id = api.upload(headers)
        api.wait(annotation_id, headers)
        assert api.http.post(f"/annotations/{annotation_id}/confirm", headers=headers).status_code == 204
        moved = api.http.post(f"/queues/{api.number}/export", headers=headers, params={"to_status": "exported", "status": "confirmed"})
        assert moved.status_code == 200, moved.text
        assert [r["status"] for r in moved.json()["results"]] == ["exported"]
        assert document_details(api.resources.catalog(), annotation_id)["status"] == "exported"
        assert api.http.get(f"/queues/{api.number}/export", headers=headers, params={"to_status": "exported"}).status_code == 400

    def test_error_messages_refuse_confirmation_with_the_messages(self, api: Api) -> None:
        headers = api.login()
        bad = api.upload(headers, 2)  # the third sample's totals do not add up
        api.wait(bad, headers)
        refused = api.http.post(f"/annotations/{bad}/confirm", headers=headers)
        assert refused.status_code == 400 and "gross" in refused.json()["detail"]
        assert api.http.get(f"/annotations/{bad}", headers=headers).json()["status"] == "to_review"

    def test_operations_change_the_content_and_pages_follow_rossums_envelope(self, api: Api) -> None:
        headers = api.login()
        ids = [api.upload(headers, i) for i in range(3)]
        for i in ids:
            api.wait(i, headers)
        content = api.http.get(f"/annotations/{ids[0]}/content", headers=headers).json()["content"]
        (buyer,) = [n for s in content for n in s["children"] if n["schema_id"] == "buyer_name"]
        answer = api.http.post(f"/annotations/{ids[0]}/content/operations", headers=headers,
                               json={"operations": [{"op": "replace", "id": str(buyer["id"]), "value": {"content": {"value": "ACME"}}}]})  # fmt: skip
        assert answer.status_code == 200
        assert [n["content"]["value"] for s in answer.json()["content"] for n in s["children"] if n["schema_id"] == "buyer_name"] == ["ACME"]
        assert document_details(api.resources.catalog(), ids[0])["values"]["buyer_name"] == "ACME"
        page = api.http.get("/annotations", headers=headers, params={"queue": api.number, "page_size": 2}).json()
        assert page["pagination"]["total"] == 3 and page["pagination"]["total_pages"] == 2 and len(page["results"]) == 2
        assert page["pagination"]["next"].startswith(f"{api.base}/api/v1/annotations?") and page["pagination"]["previous"] is None
        assert api.http.get("/annotations/999999", headers=headers).json() == {"detail": "Not found."}
