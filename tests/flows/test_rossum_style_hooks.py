"""Webhooks written like Rossum's published examples run unchanged in Docket's import flow: a tax
checksum on normalized_value, vendor matching into enum options, a settings-driven string rewrite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from docket_core.extensions.config import ExtensionSpec
from docket_core.extensions.registry import save_extensions
from docket_core.invoice_samples import write_sample_invoices
from docket_core.queues.defaults import schema_for_workflow
from docket_core.queues.documents import document_details
from docket_core.queues.importing import ImportRequest, StagedFile
from docket_core.queues.models import QueueSpec
from docket_core.queues.registry import save_queue
from docket_core.resources import Resources
from docket_core.settings import get_settings
from docket_core.staging.ingest import stage_file
from tests.docket_core.extensions import rossum_style_hooks as hooks
from tests.docket_core.extensions.hook_server import hook_server
from tests.docket_core.queues.conftest import INVOICE
from tests.docket_core.server.rossum_server import sqlite_env  # noqa: F401 - a fixture

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]


def _webhook(name: str, url: str, **extra: Any) -> ExtensionSpec:
    return ExtensionSpec(name=name, type="webhook", url=f"{url}/{name}", secret=f"s-{name}", events=["initialize"], queues=["invoices"], **extra)


class TestRossumStyleHooks:
    def test_checksum_vendor_matching_and_string_rewrite_land_on_the_documents(self, sqlite_env: Path, tmp_path: Path) -> None:
        from flows.import_documents import import_documents

        fields = [*schema_for_workflow(INVOICE)[0], {"id": "vendor", "type": "enum", "options": ["none"]}]
        resources = Resources.from_settings()
        with resources.catalog().begin() as conn:
            save_queue(conn, QueueSpec(queue_id="invoices", workflow_id="invoice-capture", fields=fields), source="test")
        routes = {"/tax": lambda p: (200, hooks.tax_checksum(p)), "/vendors": lambda p: (200, hooks.vendor_matching(p)),
                  "/strings": lambda p: (200, hooks.string_manipulation(p))}  # fmt: skip
        with hook_server(routes, secrets={f"/{n}": f"s-{n}" for n in ("tax", "vendors", "strings")}) as server:
            with resources.catalog().begin() as conn:
                save_extensions(conn, [
                    _webhook("tax", server.url), _webhook("vendors", server.url),
                    _webhook("strings", server.url, settings={"fields": ["invoice_number"], "remove": "-", "upper": True}),
                ], source="test")  # fmt: skip
            settings = get_settings()
            staged = []
            for path in write_sample_invoices(tmp_path / "in", count=3):
                o = stage_file(path, path.name, batch_kind="documents", settings=settings, store=resources.store())
                staged.append(StagedFile(name=path.name, sha256=o.sha256 or "", media_type=o.media_type, size=o.size))
            summary = import_documents(request=ImportRequest(queue_id="invoices", source="files", files=staged))
        assert all(r.signed_ok for r in server.received)
        clean, _, bad = (document_details(resources.catalog(), d) for d in summary.document_ids)
        assert [m["content"] for m in clean["messages"] if m.get("source") == "tax"] == ["Tax checksum OK"]
        assert [m["type"] for m in bad["messages"] if m.get("source") == "tax"] == ["error"]
        for details in (clean, bad):
            assert "-" not in details["values"]["invoice_number"] and details["sources"]["invoice_number"] == "strings"
        (vendor,) = [n for s in clean["content"] for n in s["children"] if n["schema_id"] == "vendor"]
        assert vendor["options"] == [{"value": v["id"], "label": v["name"]} for v in hooks.VENDORS]
        by_name = {v["name"]: v["id"] for v in hooks.VENDORS}
        assert clean["values"]["vendor"] == vendor["content"]["value"] == by_name[clean["values"]["seller_name"]]
