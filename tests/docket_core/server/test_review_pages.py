"""The review pages over HTTP (ASGI, in process): sign-in, CSRF, the document beside its fields, actions."""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from docket_core.auth import create_user, issue_token
from docket_core.queues.capture import capture_chunk
from docket_core.queues.documents import document_details
from docket_core.queues.importing import ImportRequest, StagedFile, register_import
from docket_core.queues.locks import acquire_lock
from docket_core.queues.models import QueueSpec
from docket_core.resources import Resources
from docket_core.server.app import ServerContext
from docket_core.server.review import mount
from docket_core.settings import DocketSettings

pytestmark = pytest.mark.usefixtures("prefect_harness")


def sync(test: Callable[..., Coroutine]) -> Callable[..., None]:
    """Run an async test body on its own event loop (the app is served in process by ASGITransport)."""

    @functools.wraps(test)
    def run(*args: object, **kwargs: object) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


@pytest.fixture
def doc_ids(resources: Resources, settings: DocketSettings, queue: QueueSpec, staged_invoices: list[StagedFile]) -> list[int]:
    plan = register_import(ImportRequest(queue_id=queue.queue_id, source="files", files=staged_invoices[:3]), resources, settings)
    capture_chunk(plan.document_ids, queue.queue_id, resources, settings, actor="capture")
    return plan.document_ids


@pytest.fixture
def app(resources: Resources, tmp_path: Path, doc_ids: list[int], monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv("DOCKET_STORE_URL", resources.store_url)
    monkeypatch.setenv("DOCKET_CATALOG_URL", resources.catalog_url.get_secret_value())
    settings = DocketSettings(home=tmp_path / "home", review_frame_origins=["http://app.example"])  # type: ignore[call-arg]
    create_user(resources.catalog(), "ana", "correct horse")
    app = FastAPI()
    mount(app, ServerContext(resources, settings, emit=lambda request: None))
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver", follow_redirects=False)


async def sign_in(http: httpx.AsyncClient, password: str = "correct horse") -> httpx.Response:
    form = await http.get("/review/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    return await http.post("/review/login", data={"username": "ana", "password": password, "csrf": csrf, "next": "/review/"})


def csrf_of(page: str) -> str:
    return re.search(r'data-csrf="([^"]+)"', page).group(1)


class TestSignIn:
    @sync
    async def test_nothing_is_served_before_sign_in_but_the_sign_in_page(self, app: FastAPI, doc_ids: list[int]) -> None:
        async with client(app) as http:
            for path in ("/review/", f"/review/documents/{doc_ids[0]}", f"/review/documents/{doc_ids[0]}/pages/1.jpg"):
                answer = await http.get(path)
                assert answer.status_code == 303 and answer.headers["location"].startswith("/review/login")
            assert (await http.post(f"/review/api/documents/{doc_ids[0]}/confirm")).status_code == 401
            login = await http.get("/review/login")
            assert login.status_code == 200 and '<label for="password">' in login.text

    @sync
    async def test_a_wrong_password_does_not_sign_in_and_a_forged_form_is_refused(self, app: FastAPI) -> None:
        async with client(app) as http:
            assert (await sign_in(http, "wrong horse")).headers["location"].startswith("/review/login?failed=1")
            forged = await http.post("/review/login", data={"username": "ana", "password": "correct horse", "csrf": "guess"})
            assert forged.status_code == 403
            assert (await http.get("/review/")).status_code == 303

    @sync
    async def test_a_queue_lists_its_documents_filtered_by_status_and_searched(self, app: FastAPI, resources: Resources, doc_ids: list[int]) -> None:
        async with client(app) as http:
            await sign_in(http)
            listed = await http.get("/review/queues/invoices?status=to_review")
            assert listed.status_code == 200 and all(f"/review/documents/{d}" in listed.text for d in doc_ids)
            name = document_details(resources.catalog(), doc_ids[1])["file_name"]
            searched = await http.get(f"/review/queues/invoices?q={name}")
            assert searched.status_code == 200 and f"/review/documents/{doc_ids[1]}" in searched.text
            assert f"/review/documents/{doc_ids[0]}\"" not in searched.text
            assert (await http.get("/review/queues/invoices?status=confirmed")).text.count("/review/documents/") == 0

    @sync
    async def test_a_signed_in_reviewer_sees_the_queues_with_counts(self, app: FastAPI) -> None:
        async with client(app) as http:
            assert (await sign_in(http)).headers["location"] == "/review/"
            page = await http.get("/review/")
            assert page.status_code == 200 and "/review/queues/invoices" in page.text
            assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in page.headers["content-security-policy"]


class TestDocumentPage:
    @sync
    async def test_the_document_page_shows_pages_fields_and_takes_the_lock(self, app: FastAPI, resources: Resources, doc_ids: list[int]) -> None:
        async with client(app) as http:
            await sign_in(http)
            page = await http.get(f"/review/documents/{doc_ids[0]}")
            assert page.status_code == 200
            assert f'/review/documents/{doc_ids[0]}/pages/1.jpg' in page.text
            assert 'for="f-' in page.text  # every input has its label
            image = await http.get(f"/review/documents/{doc_ids[0]}/pages/1.jpg")
            assert image.status_code == 200 and image.content[:3] == b"\xff\xd8\xff"
        assert document_details(resources.catalog(), doc_ids[0])["status"] == "reviewing"

    @sync
    async def test_a_second_reviewer_sees_who_holds_the_document(self, app: FastAPI, resources: Resources, doc_ids: list[int]) -> None:
        acquire_lock(resources.catalog(), doc_ids[0], "bob", ttl=timedelta(minutes=5))
        async with client(app) as http:
            await sign_in(http)
            page = await http.get(f"/review/documents/{doc_ids[0]}")
            assert "Being reviewed by bob" in page.text

    @sync
    async def test_actions_need_the_pages_csrf_token(self, app: FastAPI, doc_ids: list[int]) -> None:
        async with client(app) as http:
            await sign_in(http)
            await http.get(f"/review/documents/{doc_ids[0]}")
            answer = await http.post(f"/review/api/documents/{doc_ids[0]}/reject", json={"note": "x"})
            assert answer.status_code == 403 and "CSRF" in answer.json()["detail"]

    @sync
    async def test_a_save_shows_the_new_values_and_a_stale_save_is_refused(self, app: FastAPI, resources: Resources, doc_ids: list[int]) -> None:
        details = document_details(resources.catalog(), doc_ids[0])
        number = next(c for c in details["content"][0]["children"] if c["schema_id"] == "invoice_number")
        async with client(app) as http:
            await sign_in(http)
            csrf = csrf_of((await http.get(f"/review/documents/{doc_ids[0]}")).text)
            saved = await http.post(f"/review/api/documents/{doc_ids[0]}/save", headers={"X-CSRF-Token": csrf},
                                    json={"revision": details["revision"], "changes": {str(number["id"]): "INV-NEW"}})  # fmt: skip
            assert saved.status_code == 200 and saved.json()["cells"][str(number["id"])]["value"] == "INV-NEW"
            stale = await http.post(f"/review/api/documents/{doc_ids[0]}/save", headers={"X-CSRF-Token": csrf},
                                    json={"revision": details["revision"], "changes": {str(number["id"]): "INV-OLD"}})  # fmt: skip
            assert stale.status_code == 409 and "changed since this edit was made" in stale.json()["detail"]
        assert document_details(resources.catalog(), doc_ids[0])["values"]["invoice_number"] == "INV-NEW"

    @sync
    async def test_confirm_is_refused_while_an_error_stands_and_names_it(self, app: FastAPI, resources: Resources, doc_ids: list[int]) -> None:
        bad = next(d for d in doc_ids if any(m["type"] == "error" for m in document_details(resources.catalog(), d)["messages"]))
        async with client(app) as http:
            await sign_in(http)
            csrf = csrf_of((await http.get(f"/review/documents/{bad}")).text)
            refused = await http.post(f"/review/api/documents/{bad}/confirm", headers={"X-CSRF-Token": csrf})
            assert refused.status_code == 409 and refused.json()["detail"].startswith("fix the errors first")
        assert document_details(resources.catalog(), bad)["status"] == "reviewing"


class TestEmbedded:
    @sync
    async def test_an_embed_url_opens_its_document_only_and_may_be_framed_by_the_allowed_origin(
        self, app: FastAPI, resources: Resources, doc_ids: list[int]
    ) -> None:
        issued = issue_token(resources.catalog(), "review", scope={"document": doc_ids[0], "return_url": "http://app.example/done"},
                             ttl=timedelta(minutes=5))  # fmt: skip
        async with client(app) as http:
            entered = await http.get(f"/review/embed?token={issued.token}")
            assert entered.status_code == 303 and entered.headers["location"] == f"/review/documents/{doc_ids[0]}"
            page = await http.get(f"/review/documents/{doc_ids[0]}")
            assert page.status_code == 200 and "frame-ancestors http://app.example" in page.headers["content-security-policy"]
            assert "x-frame-options" not in page.headers
            assert (await http.get(f"/review/documents/{doc_ids[1]}")).status_code == 403
            assert (await http.get("/review/")).status_code == 403
            assert (await http.get(f"/review/leave/{doc_ids[0]}")).headers["location"] == "http://app.example/done"

    @sync
    async def test_an_unknown_or_expired_embed_token_gets_a_page_saying_so(self, app: FastAPI) -> None:
        async with client(app) as http:
            answer = await http.get("/review/embed?token=dkr_nothing")
            assert answer.status_code == 401 and "not valid" in answer.text


class TestReviewLinks:
    @sync
    async def test_another_app_gets_a_link_with_a_users_api_token_and_only_then(self, app: FastAPI, resources: Resources, doc_ids: list[int]) -> None:
        user_token = issue_token(resources.catalog(), "api", user_id=1).token
        async with client(app) as http:
            refused = await http.post("/review/api/review-urls", json={"document_id": doc_ids[0]})
            assert refused.status_code == 401
            bad_return = await http.post("/review/api/review-urls", headers={"Authorization": f"Bearer {user_token}"},
                                         json={"document_id": doc_ids[0], "return_url": "https://evil.example/x"})  # fmt: skip
            assert bad_return.status_code == 400 and "DOCKET_REVIEW_FRAME_ORIGINS" in bad_return.json()["detail"]
            made = await http.post("/review/api/review-urls", headers={"Authorization": f"Bearer {user_token}"},
                                   json={"document_id": doc_ids[0], "return_url": "http://app.example/back"})  # fmt: skip
            assert made.status_code == 201
            path = made.json()["url"].split("127.0.0.1:8787", 1)[1]
            assert (await http.get(path)).headers["location"] == f"/review/documents/{doc_ids[0]}"
            assert (await http.get(f"/review/documents/{doc_ids[0]}")).status_code == 200


class TestPausedReviewRuns:
    def test_a_decision_on_the_page_resumes_the_review_run_waiting_for_that_document(
        self, app: FastAPI, resources: Resources, doc_ids: list[int]
    ) -> None:
        import threading

        from flows.review_document import review_document

        clean = next(d for d in doc_ids if not any(m["type"] == "error" for m in document_details(resources.catalog(), d)["messages"]))
        outcome: dict = {}
        waiting = threading.Thread(target=lambda: outcome.update(summary=review_document(document_id=clean, timeout_s=120)))
        waiting.start()
        deadline = time.monotonic() + 60
        while document_details(resources.catalog(), clean)["status"] != "reviewing":
            assert time.monotonic() < deadline, "the review run did not start"
            time.sleep(0.2)
        time.sleep(2)  # let it reach its pause

        async def confirm_on_the_page() -> None:
            async with client(app) as http:
                await sign_in(http)
                csrf = csrf_of((await http.get(f"/review/documents/{clean}")).text)
                done = await http.post(f"/review/api/documents/{clean}/confirm", headers={"X-CSRF-Token": csrf})
                assert done.status_code == 200 and done.json()["confirmed"] is True

        asyncio.run(confirm_on_the_page())
        waiting.join(timeout=90)
        assert not waiting.is_alive() and outcome["summary"].action == "confirm"
        assert document_details(resources.catalog(), clean)["status"] == "confirmed"


class TestSignOut:
    @sync
    async def test_signing_out_ends_the_session_at_once(self, app: FastAPI) -> None:
        async with client(app) as http:
            await sign_in(http)
            page = await http.get("/review/")
            stolen = http.cookies.get("docket_review")
            assert (await http.post("/review/logout", data={"csrf": csrf_of(page.text)})).headers["location"] == "/review/login"
            http.cookies.set("docket_review", stolen, path="/review")  # a copy of the cookie kept elsewhere
            assert (await http.get("/review/")).status_code == 303
