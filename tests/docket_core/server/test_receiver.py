"""The push receiver through `httpx.ASGITransport`, signed by the `standardwebhooks` library."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from docket_core.errors import NotFoundError
from docket_core.pushes import resolve_push
from docket_core.resources import Resources
from docket_core.server.receiver import create_app, push_ingest_id, references_key
from docket_core.settings import DocketSettings
from docket_core.settings.notify import NotifySettings
from docket_core.signing import generate_secret
from docket_core.staging.models import IngestRequest

SECRET = generate_secret()


class Announcer:
    def __init__(self) -> None:
        self.requests: list[IngestRequest] = []
        self.answer: str | None = "evt-1"

    def __call__(self, request: IngestRequest) -> str | None:
        self.requests.append(request)
        return self.answer


@pytest.fixture
def announcer() -> Announcer:
    return Announcer()


@pytest.fixture
def make_app(catalog_url: str, tmp_path: Path, announcer: Announcer):  # noqa: ANN201
    def make(**notify: Any) -> Any:
        docket = DocketSettings(home=tmp_path / "home", allowed_url_hosts=["127.0.0.1"])
        settings = NotifySettings(home=tmp_path / "home", receiver_secret=SECRET, **notify)
        resources = Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url)
        return create_app(resources=resources, settings=settings, docket_settings=docket, emit=announcer)

    return make


def signed(body: bytes | str, msg_id: str = "msg_1", *, secret: str = SECRET, at: datetime | None = None) -> dict[str, str]:
    text = body.decode() if isinstance(body, bytes) else body
    when = at or datetime.now(timezone.utc)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, when, text), "content-type": "application/json"}  # fmt: skip


def call(app: Any, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver") as client:
            return await client.request(method, path, content=body, headers=headers)

    return asyncio.run(go())


def push(**fields: Any) -> bytes:
    data = {"batch_id": "pushed", "references": [{"name": "a.jpg", "url": "https://files.example.com/a.jpg?sig=s"}]} | fields
    return json.dumps({k: v for k, v in data.items() if v is not None}).encode()


class TestAccepted:
    def test_a_signed_push_is_accepted_fast_and_announced_once_without_its_urls(
        self, make_app: Any, announcer: Announcer, tmp_path: Path, catalog_url: str
    ) -> None:
        app = make_app()
        body = push(workflow_id="image-metadata", notifications_url="http://127.0.0.1:9/hook")
        started = time.monotonic()
        response = call(app, "POST", "/v1/ingest", body=body, headers=signed(body, "msg_a"))
        assert time.monotonic() - started < 1.0
        assert response.status_code == 202, response.text
        assert response.json() == {"accepted": True, "duplicate": False, "webhook_id": "msg_a",
                                   "ingest_id": push_ingest_id("msg_a"), "batch_id": "pushed", "event_id": "evt-1"}  # fmt: skip
        [event] = announcer.requests
        assert (event.source_kind, event.media_kind, event.workflow_id, event.allow_private_network) == (
            "references", "images", "image-metadata", False)  # fmt: skip
        assert (event.source, event.notifications_url) == ("push:msg_a", None)  # no URL reaches Prefect
        request = resolve_push(Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url).catalog(), event)
        assert (request.notifications_url, request.notification_category) == ("http://127.0.0.1:9/hook", "ingest-status")
        assert request.model_dump(exclude={"source", "notifications_url"}) == event.model_dump(exclude={"source", "notifications_url"})
        resources = Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url)
        assert request.source == f"store:{references_key(push_ingest_id('msg_a'))}"  # in the store every worker shares
        held = resources.store().read_bytes(request.source.removeprefix("store:")).decode()
        assert [json.loads(line) for line in held.splitlines()] == [{"name": "a.jpg", "url": "https://files.example.com/a.jpg?sig=s"}]

    def test_a_references_url_is_the_source_the_ingest_resolves_from_the_catalog(
        self, make_app: Any, announcer: Announcer, catalog_url: str, tmp_path: Path
    ) -> None:
        body = push(references=None, references_url="http://127.0.0.1:9/refs.jsonl?sig=secret", ingest_id="mine-1", media_kind="documents")
        response = call(make_app(), "POST", "/v1/ingest", body=body, headers=signed(body))
        assert response.status_code == 202 and response.json()["ingest_id"] == "mine-1"
        [event] = announcer.requests
        assert "secret" not in event.model_dump_json()
        catalog = Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url).catalog()
        assert resolve_push(catalog, event).source == "http://127.0.0.1:9/refs.jsonl?sig=secret"

    def test_an_unknown_push_reference_says_the_worker_needs_the_receivers_catalog(self, catalog_url: str, tmp_path: Path) -> None:
        catalog = Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url).catalog()
        orphan = IngestRequest(batch_id="b", media_kind="images", source_kind="references", source="push:never-seen")
        with pytest.raises(NotFoundError, match="no push 'never-seen' is recorded in the catalog; the worker must use the receiver's DOCKET_CATALOG_URL"):
            resolve_push(catalog, orphan)


class TestBadNames:
    def test_a_name_that_is_not_utf8_is_400_naming_the_reference(self, make_app: Any, announcer: Announcer) -> None:
        body = b'{"batch_id": "pushed", "references": [{"name": "bad\\udc80.jpg", "url": "https://f.example/a"}]}'
        response = call(make_app(), "POST", "/v1/ingest", body=body, headers=signed(body, "msg_surrogate"))
        assert response.status_code == 400 and response.json()["detail"].startswith("references.0.name:"), response.text
        assert announcer.requests == []

    def test_a_bidi_override_in_a_name_is_accepted_and_fails_alone_at_ingest(
        self, make_app: Any, announcer: Announcer, tmp_path: Path, catalog_url: str
    ) -> None:
        from docket_core.references import iter_references

        body = push(references=[{"name": "gpj.\u202eexe.jpg", "url": "https://f.example/a"}, {"name": "ok.jpg", "url": "https://f.example/b"}])
        response = call(make_app(), "POST", "/v1/ingest", body=body, headers=signed(body, "msg_bidi"))
        assert response.status_code == 202, response.text
        resources = Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url)
        request = resolve_push(resources.catalog(), announcer.requests[0])
        with resources.store().open(request.source.removeprefix("store:")) as fh:
            bad, good = iter_references(fh)
        assert (bad.error_type, good.name) == ("invalid-file-name", "ok.jpg")
        assert "U+202E" in bad.reason


class TestDuplicates:
    def test_the_same_webhook_id_again_changes_nothing_even_after_a_restart(self, make_app: Any, announcer: Announcer) -> None:
        body = push()
        first = call(make_app(), "POST", "/v1/ingest", body=body, headers=signed(body, "msg_d"))
        again = call(make_app(), "POST", "/v1/ingest", body=body, headers=signed(body, "msg_d"))  # a new process
        assert (first.status_code, again.status_code) == (202, 202)
        assert again.json() | {"duplicate": False} == first.json() and again.json()["duplicate"] is True
        assert len(announcer.requests) == 1

    def test_the_same_webhook_id_with_another_body_is_a_conflict(self, make_app: Any) -> None:
        app = make_app()
        body = push()
        call(app, "POST", "/v1/ingest", body=body, headers=signed(body, "msg_c"))
        other = push(batch_id="other")
        response = call(app, "POST", "/v1/ingest", body=other, headers=signed(other, "msg_c"))
        assert response.status_code == 409 and "used before for another body" in response.json()["detail"]

    def test_a_push_that_could_not_be_announced_is_not_recorded_so_its_retry_works(self, make_app: Any, announcer: Announcer) -> None:
        app = make_app()
        body = push()
        announcer.answer = None
        response = call(app, "POST", "/v1/ingest", body=body, headers=signed(body, "msg_r"))
        assert response.status_code == 503 and "retry" in response.json()["detail"]
        announcer.answer = "evt-2"
        retry = call(app, "POST", "/v1/ingest", body=body, headers=signed(body, "msg_r"))
        assert (retry.status_code, retry.json()["duplicate"], retry.json()["event_id"]) == (202, False, "evt-2")


class TestRefused:
    def test_no_signature_is_401(self, make_app: Any) -> None:
        response = call(make_app(), "POST", "/v1/ingest", body=push(), headers={"content-type": "application/json"})
        assert response.status_code == 401 and "webhook-id header" in response.json()["detail"]

    def test_a_signature_with_another_secret_is_401(self, make_app: Any) -> None:
        body = push()
        response = call(make_app(), "POST", "/v1/ingest", body=body, headers=signed(body, secret=generate_secret()))
        assert response.status_code == 401 and "signature" in response.json()["detail"]

    def test_a_stale_timestamp_is_401(self, make_app: Any, announcer: Announcer) -> None:
        body = push()
        old = datetime.now(timezone.utc) - timedelta(minutes=10)
        response = call(make_app(), "POST", "/v1/ingest", body=body, headers=signed(body, at=old))
        assert response.status_code == 401 and "within 300 s" in response.json()["detail"]
        assert announcer.requests == []

    @pytest.mark.parametrize(("body", "reason"), [
        (b"{not json", "invalid JSON"),
        (b'{"references": [{"name": "a", "url": "https://x.example/a"}]}', "batch_id: Field required"),
        (b'{"batch_id": "b"}', "exactly one of references"),
        (b'{"batch_id": "B A D", "references_url": "https://x.example/r"}', "batch id must match"),
        (b'{"batch_id": "b", "references_url": "https://x.example/r", "workflow_id": "nope"}', "no workflow 'nope'"),
        (b'{"batch_id": "b", "references_url": "https://x.example/r", "workflow_id": "invoice-capture"}', "processes documents"),
        (b'{"batch_id": "b", "references_url": "https://x.example/r", "colour": "red"}', "colour: Extra inputs"),
        (b'{"batch_id": "b", "references": []}', "references: List should have at least 1 item"),
        (b'{"batch_id": "b", "n": ' + b"9" * 5000 + b"}", "invalid JSON: Exceeds the limit"),  # a signed 5000-digit number
        (b'{"batch_id": "b", "n": ' + b"[" * 2000 + b"]" * 2000 + b"}", "JSON nested too deeply"),  # nested 2000 deep
    ])  # fmt: skip
    def test_a_malformed_body_is_400_with_the_reason(self, make_app: Any, announcer: Announcer, body: bytes, reason: str) -> None:
        response = call(make_app(), "POST", "/v1/ingest", body=body, headers=signed(body))
        assert response.status_code == 400 and reason in response.json()["detail"], response.text
        assert announcer.requests == []

    @pytest.mark.parametrize("field", ["notifications_url", "references_url"])
    def test_a_url_into_the_private_network_is_400_unless_its_host_is_allowed(self, make_app: Any, field: str) -> None:
        fields = {"references": None, "references_url": "https://files.example.com/r.jsonl", field: "http://10.1.2.3/x"}
        body = push(**fields)
        response = call(make_app(), "POST", "/v1/ingest", body=body, headers=signed(body))
        assert response.status_code == 400
        assert response.json()["detail"].startswith(field) and "DOCKET_ALLOWED_URL_HOSTS" in response.json()["detail"]

    def test_a_body_over_the_limit_is_413(self, make_app: Any) -> None:
        body = push(references=[{"name": f"f{i}.jpg", "url": f"https://x.example/{i}"} for i in range(200)])
        response = call(make_app(receiver_max_body_bytes=2048), "POST", "/v1/ingest", body=body, headers=signed(body))
        assert response.status_code == 413 and "at most 2048 bytes" in response.json()["detail"]


class TestDocs:
    def test_health_answers(self, make_app: Any) -> None:
        response = call(make_app(), "GET", "/healthz")
        assert response.status_code == 200 and response.json() == {"status": "ok"}

    def test_the_openapi_document_describes_the_body_headers_and_answers(self, make_app: Any) -> None:
        spec = call(make_app(), "GET", "/openapi.json").json()
        post = spec["paths"]["/v1/ingest"]["post"]
        assert {p["name"] for p in post["parameters"]} == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        assert set(post["responses"]) >= {"202", "400", "401", "409", "413", "503"}
        body = post["requestBody"]["content"]["application/json"]["schema"]
        assert {"batch_id", "references", "references_url", "workflow_id", "notifications_url"} <= set(body["properties"])
        assert "PushReference" in spec["components"]["schemas"]
