"""The review pages in a real browser (Debian's Chromium, driven by Playwright): keyboard, boxes, actions.

A reviewer signs in, opens a queue and a document, sees the captured values' boxes over the page,
edits a field and sees the `updated` extension's message change, is refused confirmation while an
error stands, fixes it and confirms with the keyboard; the catalog and the export agree. An embedded
review URL is opened in an iframe of another origin and confirmed from there. Screenshots of the main
screens land in `.artifacts/review/` (CI keeps them; two are in the README).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from docket_core.auth import create_user, issue_token
from docket_core.extensions.config import ExtensionSpec
from docket_core.extensions.registry import save_extensions
from docket_core.invoice_samples import write_sample_invoices
from docket_core.queues.documents import document_details
from docket_core.queues.importing import ImportRequest
from docket_core.queues.registry import save_queue
from docket_core.resources import Resources
from docket_core.settings import get_settings
from tests.e2e.processes import free_port
from tests.flows.test_queue_flows import stage
from tests.docket_core.queues.conftest import invoice_queue

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "review"
BUILTIN = "docket_core.extensions.builtin"


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser tests: install Debian's chromium (.ci/run does)")
        pytest.skip("no Chromium on this machine (apt-get install chromium runs these tests)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


class _Server:
    """`docket serve`'s app (receiver plus review pages) in a uvicorn thread on loopback."""

    def __init__(self, app, port: int) -> None:  # noqa: ANN001
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> "_Server":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the review server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _embedding_page(frame_url: str, port: int) -> ThreadingHTTPServer:
    html = f'<!doctype html><title>Host app</title><h1>Host app</h1><iframe id="review" src="{frame_url}" width="1200" height="900" title="Review"></iframe>'.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html if self.path == "/" else b"<!doctype html><title>Done</title><p id=done>back in the host app</p>")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    host_port = free_port()
    home = tmp_path / "home"
    monkeypatch.setenv("DOCKET_HOME", str(home))
    monkeypatch.setenv("DOCKET_CATALOG_URL", f"sqlite:///{home / 'catalog.db'}")
    monkeypatch.setenv("DOCKET_STORE_URL", str(home / "store"))
    # Another origin on the same site (as app.example.com and docket.example.com are): the session
    # cookie is SameSite=Lax on plain http; across sites it must be https (SameSite=None; Secure).
    monkeypatch.setenv("DOCKET_REVIEW_FRAME_ORIGINS", f"http://127.0.0.1:{host_port}")
    from flows.import_documents import import_documents

    resources = Resources.from_settings()
    with resources.catalog().begin() as conn:
        save_queue(conn, invoice_queue(), source="test")
        save_extensions(conn, [ExtensionSpec.model_validate(
            {"name": "checks", "type": "function", "function": f"{BUILTIN}:check_fields", "events": ["initialize", "updated", "confirm"],
             "queues": ["invoices"]})], source="test")  # fmt: skip
    files = write_sample_invoices(tmp_path / "in", count=5)
    staged = stage([files[1], files[2], files[4]], resources)  # English, German with bad totals, German without rate
    summary = import_documents(request=ImportRequest(queue_id="invoices", source="files", files=staged))
    create_user(resources.catalog(), "ana", "correct horse")
    return {"resources": resources, "ids": summary.document_ids, "host_port": host_port}


def shot(page, name: str) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


class TestReviewInTheBrowser:
    def test_a_reviewer_works_through_a_queue_with_the_keyboard(self, browser, env: dict) -> None:  # noqa: ANN001
        from docket_core.server.app import ServerContext, build_app
        from flows.export_queue import export_queue

        resources, (first, bad, third) = env["resources"], env["ids"]
        app = build_app(ServerContext(resources, get_settings(), emit=lambda request: None), doors=["review"])
        with _Server(app, free_port()) as server:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server.url}/review/documents/{bad}")
            assert "/review/login" in page.url  # nothing without sign-in
            page.keyboard.type("ana")
            page.keyboard.press("Tab")
            page.keyboard.type("correct horse")
            page.keyboard.press("Enter")
            page.wait_for_url(f"**/review/documents/{bad}")

            # The page: its image, a box per captured value, the error of the bad totals by its field.
            page.wait_for_selector(".page img")
            assert page.locator(".box").count() >= 3
            gross = page.locator('[data-field="gross_total"] input')
            assert "but the gross total is" in page.locator('[data-field="gross_total"] .msgs.error, [data-field="gross_total"] .msgs').inner_text()
            assert page.locator('[data-field="gross_total"].has-error').count() == 1  # shown next to its field, as an error
            gross.focus()
            assert page.locator(".box.active").count() == 1  # focusing a field highlights its box
            shot(page, "document-with-error")

            page.keyboard.press("Control+Enter")  # confirm while the error stands: refused, saying why
            page.wait_for_selector("#notice.error")
            assert "fix the errors first" in page.locator("#notice").inner_text()
            assert document_details(resources.catalog(), bad)["status"] == "reviewing"

            details = document_details(resources.catalog(), bad)
            right = details["values"]["net_total"] + details["values"]["tax_total"]
            gross.fill(f"{right:.2f}")
            page.click("#save")
            page.wait_for_selector("#notice.ok")  # the `updated` extension ran; its error is gone, without a reload
            assert "but the gross total is" not in page.locator(".fields").inner_text()
            shot(page, "document-fixed")
            page.keyboard.press("Control+Enter")
            page.wait_for_url(lambda url: f"/review/documents/{bad}" not in url)
            assert document_details(resources.catalog(), bad)["status"] == "confirmed"

            # The next document waiting opened: postpone it with a note, then reject the one after.
            page.wait_for_selector("#note")
            postponed = int(page.url.rsplit("/", 1)[1])
            page.fill("#note", "waiting for the purchase order")
            page.click("#postpone")
            page.wait_for_url(lambda url: url.rsplit("/", 1)[1] != str(postponed))
            held = document_details(resources.catalog(), postponed)
            assert held["status"] == "postponed" and held["history"][-1]["note"] == "waiting for the purchase order"
            page.wait_for_selector("#note")
            rejected = int(page.url.rsplit("/", 1)[1])
            page.fill("#note", "not our invoice")
            page.click("#reject")
            page.wait_for_url(lambda url: f"/review/documents/{rejected}" not in url)
            assert document_details(resources.catalog(), rejected)["status"] == "rejected"

            page.goto(f"{server.url}/review/documents/{postponed}")  # a postponed document reopens for review
            page.wait_for_selector("#confirm")
            page.keyboard.press("Escape")  # back to the queue's list
            page.wait_for_url("**/review/queues/invoices")
            assert page.get_by_role("link", name="Review next").is_visible()  # the list itself, not an error page
            shot(page, "queue")
            page.close()

            # At 200 % zoom (half the CSS pixels across) the page still fits: no sideways scrolling, and
            # every control stays reachable and labelled.
            zoomed = browser.new_page(viewport={"width": 700, "height": 500}, device_scale_factor=2)
            zoomed.goto(f"{server.url}/review/documents/{third}")
            zoomed.fill("#username", "ana")
            zoomed.fill("#password", "correct horse")
            zoomed.keyboard.press("Enter")
            zoomed.wait_for_url(f"**/review/documents/{third}")
            zoomed.wait_for_selector("#confirm", state="attached")
            shot(zoomed, "document-200-percent")
            wide = zoomed.evaluate("""Array.from(document.querySelectorAll('body *')).filter(
                el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1).map(
                el => el.tagName + '.' + el.className + '#' + el.id + ' ' + Math.round(el.getBoundingClientRect().right)).slice(0, 8)""")
            assert zoomed.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"), wide
            zoomed.locator("#confirm").scroll_into_view_if_needed()
            assert zoomed.locator("#confirm").is_visible()
            unlabelled = zoomed.evaluate("""Array.from(document.querySelectorAll('input, select, button')).filter(
                el => el.type !== 'hidden' && !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby') && !(el.tagName === 'BUTTON' && el.textContent.trim())).length""")
            assert unlabelled == 0
            zoomed.close()
        exported = export_queue(queue_id="invoices")
        assert exported.exported >= 1
        assert document_details(resources.catalog(), bad)["status"] == "exported"

    def test_an_embedded_review_is_confirmed_inside_another_apps_iframe(self, browser, env: dict) -> None:  # noqa: ANN001
        from docket_core.server.app import ServerContext, build_app

        resources, (first, _, _) = env["resources"], env["ids"]
        host = f"http://127.0.0.1:{env['host_port']}"
        issued = issue_token(resources.catalog(), "review", scope={"document": first, "return_url": f"{host}/done"},
                             ttl=timedelta(minutes=5))  # fmt: skip
        app = build_app(ServerContext(resources, get_settings(), emit=lambda request: None), doors=["review"])
        with _Server(app, free_port()) as server:
            embedding = _embedding_page(f"{server.url}/review/embed?token={issued.token}", env["host_port"])
            try:
                page = browser.new_page(viewport={"width": 1300, "height": 1000})
                page.goto(f"{host}/")
                frame = page.frame_locator("#review")
                frame.locator("#confirm").wait_for()
                shot(page, "embedded")
                frame.locator("#confirm").click()
                frame.locator("#done").wait_for()  # the frame went back to the host app's return URL
                page.close()
            finally:
                embedding.shutdown()
                embedding.server_close()
        assert document_details(resources.catalog(), first)["status"] == "confirmed"
