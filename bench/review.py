"""How fast the review page opens: a document page and its page image, first open and later ones.

Captures a few generated invoices into a queue (no Prefect: the domain functions), serves the review
door with uvicorn on 127.0.0.1, signs in, and times `GET /review/documents/{id}` (which also takes the
review lock, a catalog write) and `GET .../pages/1.jpg` (rendered once, then from the cache).

    .venv/bin/python bench/review.py [--documents 6] [--opens 30]

Goal (issue 16): a document page opens in under 300 ms with its page images cached.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=6)
    parser.add_argument("--opens", type=int, default=30)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="docket-bench-review-"))
    os.environ.update(DOCKET_HOME=str(tmp / "home"), DOCKET_PREFECT_SERVER="ephemeral")

    import uvicorn
    from fastapi import FastAPI

    from docket_core.auth import create_user
    from docket_core.invoice_samples.sample_set import write_sample_invoices
    from docket_core.queues.capture import capture_chunk
    from docket_core.queues.defaults import schema_for_workflow
    from docket_core.queues.importing import ImportRequest, StagedFile, register_import
    from docket_core.queues.models import QueueSpec
    from docket_core.queues.registry import save_queue
    from docket_core.resources import Resources
    from docket_core.server.app import ServerContext
    from docket_core.server.review import mount
    from docket_core.settings import get_settings
    from docket_core.staging.ingest import stage_file
    from docket_core.workflows.registry import builtin_workflows

    settings = get_settings()
    resources = Resources.from_settings(settings)
    invoice = next(w for w in builtin_workflows() if w.workflow_id == "invoice-capture")
    with resources.catalog().begin() as conn:
        save_queue(conn, QueueSpec(queue_id="invoices", workflow_id="invoice-capture", fields=schema_for_workflow(invoice)[0]), source="bench")
    staged = []
    for path in write_sample_invoices(tmp / "in", count=args.documents):
        o = stage_file(path, path.name, batch_kind="documents", settings=settings, store=resources.store())
        staged.append(StagedFile(name=path.name, sha256=o.sha256 or "", media_type=o.media_type, size=o.size))
    plan = register_import(ImportRequest(queue_id="invoices", source="files", files=staged), resources, settings)
    capture_chunk(plan.document_ids, "invoices", resources, settings, actor="bench")
    create_user(resources.catalog(), "bench", "bench-password")

    app = FastAPI()
    mount(app, ServerContext(resources, settings, emit=lambda request: None))
    with socket_port() as port:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as http:
            form = http.get("/review/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
            http.post("/review/login", data={"username": "bench", "password": "bench-password", "csrf": csrf})
            pdfs = [d for d, s in zip(plan.document_ids, staged) if s.name.endswith(".pdf")]
            first_page, first_image = [], []
            for doc in pdfs:
                first_page.append(timed(lambda: http.get(f"/review/documents/{doc}")))
                first_image.append(timed(lambda: http.get(f"/review/documents/{doc}/pages/1.jpg")))
            later = [timed(lambda: http.get(f"/review/documents/{pdfs[i % len(pdfs)]}")) for i in range(args.opens)]
            images = [timed(lambda: http.get(f"/review/documents/{pdfs[i % len(pdfs)]}/pages/1.jpg")) for i in range(args.opens)]
        server.should_exit = True
        thread.join(timeout=10)
    cores = os.cpu_count()
    load = os.getloadavg()[0]
    print(f"review page, {cores} cores, load average {load:.1f}, {len(pdfs)} PDF documents, {args.opens} later opens")
    print(f"{'what':<38} {'median ms':>10} {'p90 ms':>8}")
    for name, values in [("document page, first open", first_page), ("page image, first render", first_image),
                         ("document page, later opens", later), ("page image, cached", images),
                         ("page + image, later (what a reviewer waits)", [a + b for a, b in zip(later, images)])]:  # fmt: skip
        print(f"{name:<38} {statistics.median(values):>10.1f} {quantile(values, 0.9):>8.1f}")
    worst = quantile([a + b for a, b in zip(later, images)], 0.9)
    print(f"goal: under 300 ms with page images cached: {'met' if worst < 300 else 'not met'} (p90 {worst:.0f} ms)")


def timed(call) -> float:  # noqa: ANN001
    started = time.perf_counter()
    answer = call()
    answer.raise_for_status()
    return (time.perf_counter() - started) * 1000


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class socket_port:
    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        pass


if __name__ == "__main__":
    main()
