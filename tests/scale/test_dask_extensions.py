"""The extension subflow on a local Dask cluster of worker processes (prefect-dask): `DOCKET_TASK_RUNNER`
read when the subflow runs, the tasks in the workers, the same documents as with threads, and a chunk
saved twice (a task Dask runs again) written once."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from docket_core.catalog.schema_queues import document_history
from docket_core.extensions.config import ExtensionSpec
from docket_core.extensions.hookdoc import HookDocument
from docket_core.extensions.registry import save_extensions
from docket_core.extensions.runner import run_chunk_locally
from docket_core.queues.documents import NewDocument, document_details, register_documents, write_content
from docket_core.queues.fields import build_content
from docket_core.queues.lifecycle import change_status
from docket_core.queues.registry import save_queue
from docket_core.queues.runs import DocOutcome
from docket_core.resources import Resources
from docket_core.settings import get_settings
from tasks.extensions import build_extension_runner, load_documents_chunk, plan_extensions, run_extension, save_results
from tasks.resources import build_task_runner
from tests.docket_core.extensions.hook_server import hook_server
from tests.docket_core.queues.conftest import invoice_queue

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.usefixtures("prefect_harness")]

DOCUMENTS, CHUNK = 36, 6
BUILTIN = "docket_core.extensions.builtin"
TRACED = f"{__name__}:traced"
KEPT = ["status", "revision", "values", "content", "sources", "messages", "automation_blockers", "error"]


def traced(payload: dict[str, Any]) -> dict[str, Any]:
    """A function extension that notes which process ran it (`<DOCKET_TEST_TRACE>/<pid>.log`, one line
    per document) and fills the buyer from the invoice number."""
    doc = HookDocument(payload)
    number = doc.text("invoice_number") or "?"
    folder = os.environ.get("DOCKET_TEST_TRACE")
    if folder:
        with open(Path(folder) / f"{os.getpid()}.log", "a") as fh:
            fh.write(f"{payload.get('action')} {number}\n")
    return doc.answer(operations=[doc.replace("buyer_name", f"Buyer of {number}")], messages=[doc.message("info", "traced", "buyer_name")])


def stamp(payload: dict[str, Any]) -> tuple[int, Any]:
    """A webhook answer: the currency when it is missing, and a message naming the invoice."""
    doc = HookDocument(payload)
    operations = [doc.replace("currency", "EUR")] if not doc.text("currency") else []
    return 200, doc.answer(operations=operations, messages=[doc.message("info", f"stamped {doc.text('invoice_number')}")])


def audit(payload: dict[str, Any]) -> tuple[int, Any]:
    """A webhook of the last level: what its predecessors left (tax filled, currency stamped, buyer set)."""
    doc = HookDocument(payload)
    seen = ", ".join(f"{f}={doc.text(f)}" for f in ("tax_total", "currency", "buyer_name"))
    return 200, doc.answer(messages=[doc.message("info", f"audit saw {seen}")])


def captured(i: int) -> dict[str, Any]:
    """Invoice values that differ by document: a missing tax (tax-fill), wrong totals, dates in the wrong order."""
    net = 100 + i
    return {
        "invoice_number": f"INV-{i:03d}", "issue_date": "2024-03-01", "due_date": "2024-02-01" if i % 5 == 0 else "2024-03-31",
        "seller_name": "Nordlicht Werkzeuge GmbH", "currency": "" if i % 2 else "CHF", "net_total": net,
        "tax_total": None if i % 3 == 0 else round(net * 0.19, 2), "gross_total": round(net * 1.19, 2) + (1 if i % 7 == 0 else 0),
        "line_items": [{"description": f"item {i}", "quantity": 1, "unit_price": net, "net_amount": net}],
    }  # fmt: skip


def setup(extensions: list[dict[str, Any]]) -> Resources:
    resources = Resources.from_settings()
    with resources.catalog().begin() as conn:
        save_queue(conn, invoice_queue(), source="test")
        save_extensions(conn, [ExtensionSpec.model_validate(e) for e in extensions], source="test")
    return resources


def documents(resources: Resources, prefix: str, count: int = DOCUMENTS, status: str | None = None) -> list[int]:
    """`count` documents of the invoice queue, the i-th with `captured(i)`, optionally moved to `status`."""
    queue = invoice_queue()
    with resources.catalog().begin() as conn:
        ids = register_documents(conn, "invoices", [NewDocument(f"{prefix}{i}", f"inv-{i}.pdf", {}) for i in range(count)], actor="t").created
        for i, doc in enumerate(ids):
            write_content(conn, doc, revision=None, content=build_content(queue, captured(i)), field_values={}, sources={},
                          messages=[], automation_blockers=[], actor="t")  # fmt: skip
        if status:
            change_status(conn, ids, status, actor="t")
    return ids


def state(resources: Resources, doc: int) -> dict[str, Any]:
    details = document_details(resources.catalog(), doc)
    return {key: details[key] for key in KEPT}


def outcomes(found: list[DocOutcome]) -> list[tuple[Any, ...]]:
    """The outcomes in document order (a run lists them as its chunks finish), without the ids."""
    return [(o.saved, o.run_errors, o.blocking, o.failed_extensions, o.conflicts) for o in sorted(found, key=lambda o: o.document_id)]


def traces(folder: Path) -> list[tuple[int, str]]:
    """(pid, "<event> <invoice number>") of every call of `traced`, and the folder emptied."""
    found = [(int(log.stem), line) for log in sorted(folder.glob("*.log")) for line in log.read_text().splitlines()]
    for log in folder.glob("*.log"):
        log.unlink()
    return found


@pytest.fixture(scope="module")
def cluster(trace: Path) -> Iterator[tuple[str, set[int]]]:
    """A local Dask cluster of two worker processes: its address and the workers' pids."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, host="127.0.0.1") as lc:
        with Client(lc) as client:
            pids = set(client.run(os.getpid).values())
        yield lc.scheduler_address, pids


@pytest.fixture
def env(pg_env: Path, trace: Path, cluster: tuple[str, set[int]], monkeypatch: pytest.MonkeyPatch) -> Path:
    """Small extension chunks, so each run has several tasks per extension; the trace emptied."""
    monkeypatch.setenv("DOCKET_EXTENSION_CHUNK_SIZE", str(CHUNK))
    monkeypatch.setenv("DOCKET_DASK_ADDRESS", cluster[0])
    traces(trace)
    return trace


class TestExtensionRunner:
    def test_the_runner_follows_docket_task_runner_as_set_when_it_is_built(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from prefect_dask import DaskTaskRunner

        monkeypatch.setenv("DOCKET_EXTENSION_WORKERS", "5")
        threads = build_extension_runner()
        assert isinstance(threads, ThreadPoolTaskRunner) and threads._max_workers == 5
        monkeypatch.setenv("DOCKET_TASK_RUNNER", "dask")
        monkeypatch.setenv("DOCKET_DASK_ADDRESS", "tcp://10.0.0.5:8786")
        on_dask = build_extension_runner()
        assert isinstance(on_dask, DaskTaskRunner) and on_dask.address == "tcp://10.0.0.5:8786"


class TestExtensionsOnDask:
    def test_a_dag_of_functions_and_webhooks_gives_the_thread_runs_documents_from_the_dask_workers(
        self, env: Path, cluster: tuple[str, set[int]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from flows.run_extensions import run_extensions

        _, workers = cluster
        handlers = {"/stamp": stamp, "/audit": audit}
        with hook_server(handlers, secrets={p: f"secret{p}" for p in handlers}) as server:
            resources = setup([
                {"name": "tax-fill", "type": "function", "function": f"{BUILTIN}:fill_tax_rate", "events": ["initialize"], "queues": ["invoices"]},
                {"name": "traced", "type": "function", "function": TRACED, "events": ["initialize"], "queues": ["invoices"]},
                {"name": "stamp", "type": "webhook", "url": f"{server.url}/stamp", "secret": "secret/stamp", "events": ["initialize"],
                 "queues": ["invoices"]},
                {"name": "checks", "type": "function", "function": f"{BUILTIN}:check_fields", "events": ["initialize"],
                 "queues": {"invoices": ["tax-fill", "stamp"]}},
                {"name": "audit", "type": "webhook", "url": f"{server.url}/audit", "secret": "secret/audit", "events": ["initialize"],
                 "queues": {"invoices": ["checks", "traced"]}},
            ])  # fmt: skip
            by_threads_ids, by_dask_ids = documents(resources, "t"), documents(resources, "d")

            # The runner is built at the call, as the queue flows do, after the environment changed.
            monkeypatch.setenv("DOCKET_TASK_RUNNER", "threads")
            by_threads = run_extensions.with_options(task_runner=build_extension_runner())("invoices", "initialize", document_ids=by_threads_ids)
            threads_trace = traces(env)
            monkeypatch.setenv("DOCKET_TASK_RUNNER", "dask")
            by_dask = run_extensions.with_options(task_runner=build_extension_runner())("invoices", "initialize", document_ids=by_dask_ids)
            dask_trace = traces(env)

        assert by_dask.levels == by_threads.levels == [["stamp", "tax-fill", "traced"], ["checks"], ["audit"]]
        assert {pid for pid, _ in threads_trace} == {os.getpid()}
        dask_pids = {pid for pid, _ in dask_trace}
        assert dask_pids <= workers and os.getpid() not in dask_pids, f"traced ran in Dask workers {workers}: {dask_pids}"
        expected = Counter(f"initialize INV-{i:03d}" for i in range(DOCUMENTS))
        assert Counter(line for _, line in dask_trace) == Counter(line for _, line in threads_trace) == expected  # each once
        assert all(r.signed_ok for r in server.received) and len(server.received) == 2 * 2 * DOCUMENTS

        assert by_dask.errors_by_extension == by_threads.errors_by_extension == {}
        assert outcomes(by_dask.outcomes) == outcomes(by_threads.outcomes)
        for thread_doc, dask_doc in zip(by_threads_ids, by_dask_ids, strict=True):
            assert state(resources, dask_doc) == state(resources, thread_doc), f"documents {thread_doc} and {dask_doc}"
        sample = state(resources, by_dask_ids[3])
        assert sample["values"]["buyer_name"] == "Buyer of INV-003" and sample["sources"]["tax_total"] == "tax-fill"
        assert "audit saw tax_total=19.57, currency=EUR, buyer_name=Buyer of INV-003" in [m["content"] for m in sample["messages"]]
        assert sum(bool(o.run_errors) for o in by_dask.outcomes) > 0  # check_fields flagged some, the same ones

    def test_a_queue_flow_runs_its_confirm_extensions_on_dask_chosen_at_run_time(
        self, env: Path, cluster: tuple[str, set[int]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from flows.document_action import document_action

        resources = setup([
            {"name": "traced", "type": "function", "function": TRACED, "events": ["confirm"], "queues": ["invoices"]},
            {"name": "checks", "type": "function", "function": f"{BUILTIN}:check_fields", "events": ["confirm"],
             "queues": {"invoices": ["traced"]}},
        ])  # fmt: skip
        ids = documents(resources, "c", count=12, status="to_review")
        monkeypatch.setenv("DOCKET_TASK_RUNNER", "dask")  # after document_action and run_extensions were imported
        summary = document_action(action="confirm", document_ids=ids)

        dask_trace = traces(env)
        assert {pid for pid, _ in dask_trace} <= cluster[1] and len(dask_trace) == len(ids)
        assert summary.refused and set(summary.moved) == set(ids) - set(summary.refused)
        for doc in ids:
            moves = [(h["from"], h["to"]) for h in document_details(resources.catalog(), doc)["history"] if h["action"] == "status"]
            confirmed = [] if doc in summary.refused else [("to_review", "confirmed")]
            assert moves == [(None, "importing"), ("importing", "to_review"), *confirmed]


class TestSavedTwice:
    def test_a_chunk_saved_twice_at_once_on_dask_and_once_more_after_is_written_once(
        self, env: Path, cluster: tuple[str, set[int]]
    ) -> None:
        resources = setup([
            {"name": "tax-fill", "type": "function", "function": f"{BUILTIN}:fill_tax_rate", "events": ["initialize"], "queues": ["invoices"]},
            {"name": "checks", "type": "function", "function": f"{BUILTIN}:check_fields", "events": ["initialize"],
             "queues": {"invoices": ["tax-fill"]}},
        ])  # fmt: skip
        ids = documents(resources, "s", count=CHUNK)
        settings = get_settings()
        plan = plan_extensions.fn("invoices", "annotation_content.initialize", resources)
        chunk = load_documents_chunk.fn("invoices", "annotation_content.initialize", ids, {}, 0, resources)
        chunk = run_chunk_locally(plan, chunk, lambda name, c, level: run_extension.fn(name, c, level, 0, resources, settings))

        def history() -> int:
            with resources.catalog().read() as conn:
                query = sa.select(sa.func.count()).select_from(document_history).where(document_history.c.document_id.in_(ids))
                return conn.execute(query).scalar_one()

        before, rows_before = {doc: state(resources, doc) for doc in ids}, history()

        @flow(task_runner=build_task_runner(get_settings(task_runner="dask", dask_address=cluster[0])))
        def saved_twice() -> list[list[DocOutcome]]:
            # unquoted: prefect-dask would hand the task a tuple (see flows.run_extensions._as_argument)
            futures = [save_results.submit("invoices", chunk, n, resources, "twice") for n in (0, 1)]
            return [f.result() for f in futures]

        first, second = saved_twice()
        after = {doc: state(resources, doc) for doc in ids}
        again = save_results.fn("invoices", chunk, 2, resources, "twice")  # a retry after the first commit

        assert [o.document_id for o in first] == [o.document_id for o in second] == ids
        # written once, and every run of the same save reports it saved, with the same blocking reasons
        assert [o.saved for o in first + second + again] == [True] * 3 * len(ids)
        assert [o.blocking for o in first] == [o.blocking for o in second] == [o.blocking for o in again]
        assert {doc: state(resources, doc) for doc in ids} == after
        assert history() == rows_before, "saving content moves no status and records no history"
        for doc, subject in zip(ids, chunk.subjects):
            assert after[doc]["revision"] == before[doc]["revision"] + 1 and after[doc]["status"] == before[doc]["status"]
            assert after[doc]["content"] == subject.content
