"""`docket queues`, `docket extensions` and `docket documents` as a user types them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docket_core.cli import app
from docket_core.invoice_samples.sample_set import write_sample_invoices

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> dict | list:
    code, out, err = run(*args, "--json")
    assert code == 0, err
    return json.loads(out)


CONFIG = """
queues:
  - id: invoices
    workflow: invoice-capture
extensions:
  - name: tax-fill
    builtin: tax-fill
    events: [initialize, updated]
    queues: [invoices]
  - name: checks
    builtin: field-checks
    events: [initialize, updated, confirm]
    queues: {invoices: [tax-fill]}
"""


class TestQueues:
    def test_create_list_and_show_from_a_workflow(self, docket_env: Path) -> None:
        created = ok("queues", "create", "--queue", "invoices", "--workflow", "invoice-capture", "--auto-confirm")
        assert created["created"] and created["auto_confirm"] and created["fields"][0] == {"id": "invoice_number", "required": True}
        assert [q["queue_id"] for q in ok("queues", "list")] == ["invoices"]
        shown = ok("queues", "show", "--queue", "invoices")
        assert shown["workflow_id"] == "invoice-capture" and shown["documents"] == {} and shown["order"] == {}

    def test_create_from_a_schema_file(self, tmp_path: Path, docket_env: Path) -> None:
        schema = tmp_path / "schema.yaml"
        schema.write_text("- {id: total, type: number, required: true}\n- {id: kind, type: enum, options: [meal, travel]}\n")
        created = ok("queues", "create", "--queue", "receipts", "--schema", str(schema))
        assert [f["id"] for f in created["fields"]] == ["total", "kind"]

    def test_a_bad_field_type_exits_2_saying_what_is_allowed(self, tmp_path: Path, docket_env: Path) -> None:
        schema = tmp_path / "schema.yaml"
        schema.write_text("- {id: total, type: money}\n")
        code, _, err = run("queues", "create", "--queue", "r", "--schema", str(schema))
        assert code == 2 and "Input should be 'string', 'number', 'date', 'enum' or 'multivalue'" in err

    def test_score_thresholds_are_set_on_create_and_changed_by_update_keeping_the_schema(self, docket_env: Path) -> None:
        created = ok("queues", "create", "--queue", "invoices", "--workflow", "invoice-capture", "--score-threshold", "0.95",
                     "--field-threshold", "gross_total=0.99")  # fmt: skip
        thresholds = {f["id"]: f.get("score_threshold") for f in created["fields"]}
        assert created["default_score_threshold"] == 0.95 and thresholds["gross_total"] == 0.99 and thresholds["invoice_number"] is None
        updated = ok("queues", "update", "--queue", "invoices", "--auto-confirm", "--score-threshold", "0.8",
                     "--field-threshold", "currency=1")  # fmt: skip
        thresholds = {f["id"]: f.get("score_threshold") for f in updated["fields"]}
        assert (updated["auto_confirm"], updated["default_score_threshold"]) == (True, 0.8)
        assert (thresholds["gross_total"], thresholds["currency"]) == (0.99, 1.0) and updated["fields"] == [
            {**f, **({"score_threshold": thresholds[f["id"]]} if thresholds[f["id"]] is not None else {})} for f in created["fields"]
        ]
        code, _, err = run("queues", "update", "--queue", "invoices", "--field-threshold", "gross_total:0.9")
        assert code == 2 and "--field-threshold must be FIELD=THRESHOLD like gross_total=0.97, got 'gross_total:0.9'" in err
        code, _, err = run("queues", "update", "--queue", "invoices", "--field-threshold", "totl=0.9")
        assert code == 2 and "queue 'invoices' has no plain field 'totl'" in err

    def test_a_bad_subscription_names_the_option_and_what_it_accepts(self, docket_env: Path) -> None:
        ok("queues", "create", "--queue", "invoices", "--workflow", "invoice-capture")
        code, _, err = run("queues", "subscribe", "--queue", "invoices", "--url", "https://erp.example.com/h", "--event", "ready")
        assert code == 2 and "--event: Input should be 'status-changed' or 'exported'" in err
        code, _, err = run("queues", "subscribe", "--queue", "invoices", "--url", "ftp://erp.example.com/h")
        assert code == 2 and "--url: notification URL refused: expected an http or https URL, got scheme 'ftp'" in err
        code, _, err = run("queues", "subscribe", "--queue", "ghost", "--url", "https://erp.example.com/h")
        assert code == 2 and "no queue 'ghost'" in err
        assert ok("queues", "subscriptions") == []

    def test_an_unknown_queue_says_how_to_list_them(self, docket_env: Path) -> None:
        code, _, err = run("queues", "show", "--queue", "ghost")
        assert code == 2 and "no queue 'ghost'; `docket queues list`" in err

    def test_apply_a_yaml_file_then_show_the_order(self, tmp_path: Path, docket_env: Path) -> None:
        (tmp_path / "docket.yaml").write_text(CONFIG)
        applied = ok("queues", "apply", str(tmp_path / "docket.yaml"))
        assert applied["queues_created"] == ["invoices"] and applied["extensions"] == ["tax-fill", "checks"]
        order = ok("queues", "show", "--queue", "invoices")["order"]
        assert order["annotation_content.initialize"]["levels"] == [["tax-fill"], ["checks"]]
        assert order["annotation_content.confirm"]["levels"] == [["checks"]]


class TestExtensions:
    @pytest.fixture(autouse=True)
    def _queue(self, docket_env: Path) -> None:
        ok("queues", "create", "--queue", "invoices", "--workflow", "invoice-capture")

    def test_create_update_show_list_graph_and_delete(self) -> None:
        ok("extensions", "create", "-n", "tax-fill", "--builtin", "tax-fill", "-e", "initialize", "-q", "invoices")
        ok("extensions", "create", "-n", "vendor", "--builtin", "vendor-match", "-e", "initialize", "-q", "invoices",
           "--setting", "master_data=/data/vendors.csv")  # fmt: skip
        hook = ok("extensions", "create", "-n", "erp", "--type", "webhook", "--url", "https://erp.example.com/h", "--secret", "hunter2",
                  "-e", "initialize", "-e", "export", "-q", "invoices", "--run-after", "tax-fill,vendor", "--timeout", "5")  # fmt: skip
        assert hook["has_secret"] and "hunter2" not in json.dumps(hook) and hook["queues"] == {"invoices": ["tax-fill", "vendor"]}
        updated = ok("extensions", "update", "-n", "erp", "--run-after", "invoices=vendor", "--inactive")
        assert updated["queues"] == {"invoices": ["vendor"]} and updated["active"] is False and updated["has_secret"]
        ok("extensions", "update", "-n", "erp", "--active")
        assert ok("extensions", "show", "-n", "vendor")["settings"] == {"master_data": "/data/vendors.csv"}
        assert [e["name"] for e in ok("extensions", "list", "--queue", "invoices")] == ["erp", "tax-fill", "vendor"]

        graph = ok("extensions", "graph", "--queue", "invoices", "--event", "initialize")
        assert graph["annotation_content.initialize"]["levels"] == [["tax-fill", "vendor"], ["erp"]]
        assert graph["annotation_content.initialize"]["edges"] == [["vendor", "erp"]]
        code, out, _ = run("extensions", "graph", "--queue", "invoices")
        assert code == 0 and "level 2: erp (after vendor)" in out and "annotation_content.export" in out
        code, out, _ = run("extensions", "graph", "--queue", "invoices", "--mermaid", "-e", "initialize")
        assert "flowchart LR" in out and "-->" in out

        code, _, err = run("extensions", "delete", "-n", "vendor")
        assert code == 2 and "extension 'erp' on queue 'invoices' runs after unknown 'vendor'" in err
        assert ok("extensions", "delete", "-n", "erp") == {"name": "erp", "deleted": True}

    def test_rossums_hook_options_are_kept_and_changed(self) -> None:
        made = ok("extensions", "create", "-n", "tx", "--type", "webhook", "--url", "https://hooks.example.com/tx", "-e", "annotation_content",
                  "-e", "user_update", "-q", "invoices", "--sideload", "schemas", "--sideload", "queues", "--legacy-signature")  # fmt: skip
        assert made["events"] == ["annotation_content", "annotation_content.user_update"]
        assert (made["sideload"], made["token_lifetime_s"], made["legacy_signature"]) == (["schemas", "queues"], 600, True)
        changed = ok("extensions", "update", "-n", "tx", "--token-lifetime", "0", "--no-legacy-signature")
        assert (changed["sideload"], changed["token_lifetime_s"], changed["legacy_signature"]) == (["schemas", "queues"], 0, False)
        code, _, err = run("extensions", "create", "-n", "bad", "--url", "https://h.example.com", "-e", "initialize", "-q", "invoices",
                           "--sideload", "pictures")  # fmt: skip
        assert code == 2 and "sideload must be among" in err

    def test_a_cycle_is_refused_with_its_path_and_nothing_changes(self) -> None:
        ok("extensions", "create", "-n", "a", "--builtin", "tax-fill", "-e", "initialize", "-q", "invoices")
        ok("extensions", "create", "-n", "b", "--builtin", "field-checks", "-e", "initialize", "-q", "invoices", "--run-after", "a")
        code, _, err = run("extensions", "update", "-n", "a", "--run-after", "b")
        assert code == 2 and "cycle among extensions on queue 'invoices': a -> b -> a" in err
        assert ok("extensions", "show", "-n", "a")["queues"] == {"invoices": []}

    def test_an_unknown_name_and_an_ordered_connector_are_refused_by_name(self) -> None:
        code, _, err = run("extensions", "create", "-n", "x", "--builtin", "tax-fill", "-e", "initialize", "-q", "invoices", "--run-after", "ghost")
        assert code == 2 and "runs after unknown 'ghost'" in err
        ok("extensions", "create", "-n", "legacy", "--type", "connector", "--url", "https://c.example.com", "-q", "invoices")
        code, _, err = run("extensions", "create", "-n", "y", "--builtin", "tax-fill", "-e", "initialize", "-q", "invoices", "--run-after", "legacy")
        assert code == 2 and "runs after connector 'legacy': connectors are never ordered" in err

    def test_a_webhook_without_a_url_says_what_it_needs(self) -> None:
        code, _, err = run("extensions", "create", "-n", "w", "--type", "webhook", "-e", "initialize", "-q", "invoices")
        assert code == 2 and "webhook extension 'w' needs url starting with http:// or https://, got None" in err


@pytest.mark.usefixtures("prefect_harness")
class TestDocuments:
    def test_show_prints_where_each_value_was_read_and_with_what_confidence(self, tmp_path: Path, docket_env: Path) -> None:
        from docket_core.resources import Resources
        from docket_core.settings import get_settings
        from tests.docket_core.queues.scored_workflow import MODULE, capture, scored_queue, write_scored

        path = write_scored(tmp_path / "a.xml", {"invoice_number": ("INV-7", 0.97), "gross_total": ("119.00", 0.62)})
        (doc,) = capture(Resources.from_settings(), get_settings(workflow_modules=[MODULE]), scored_queue(), [path])
        code, out, err = run("documents", "show", "--id", str(doc))
        assert code == 0, err
        rows = {cells[2]: cells for line in out.splitlines() if (cells := [c.strip() for c in line.split("│")])[1:2] and cells[1].startswith("#")}
        assert (rows["invoice_number"][5], rows["gross_total"][5], rows["note"][5]) == ("p1 0.97", "p1 0.62", ""), out
        content = ok("documents", "show", "--id", str(doc))["content"][0]["children"][0]["content"]
        assert (content["position"], content["rir_confidence"]) == ([0.1, 0.1, 0.4, 0.13], 0.97)

    def test_upload_show_edit_confirm_reject_and_export_from_the_command_line(self, tmp_path: Path, docket_env: Path) -> None:
        (tmp_path / "docket.yaml").write_text(CONFIG)
        ok("queues", "apply", str(tmp_path / "docket.yaml"))
        files = [str(p) for p in write_sample_invoices(tmp_path / "in", count=3)]
        (tmp_path / "notes.txt").write_text("not an invoice")
        code, out, _ = run("documents", "upload", "--queue", "invoices", *files, str(tmp_path / "notes.txt"), "--json")
        uploaded = json.loads(out)
        assert code == 1 and list(uploaded["rejected"]) == [str(tmp_path / "notes.txt")]
        ids = uploaded["imports"][0]["document_ids"]
        assert [d["status"] for d in ok("documents", "list", "--queue", "invoices")] == ["to_review"] * 3

        bad = ok("documents", "show", "--id", str(ids[2]))  # its totals do not add up
        assert any("but the gross total is" in m["content"] for m in bad["messages"] if m["type"] == "error")
        code, out, _ = run("documents", "confirm", "--id", str(ids[2]), "--json")  # its error message refuses it
        refused = json.loads(out)
        assert code == 1 and refused["moved"] == {} and any("but the gross total is" in why for why in refused["refused"][str(ids[2])])
        fixed = f"{bad['values']['net_total'] + bad['values']['tax_total']:.2f}"
        edited = ok("documents", "edit", "--id", str(ids[2]), "--set", f"gross_total={fixed}")
        assert edited["document"]["values"]["gross_total"] == float(fixed)
        assert not [m for m in edited["document"]["messages"] if m["type"] == "error"]
        code, _, err = run("documents", "edit", "--id", str(ids[2]), "--set", "gross_total=lots")
        assert code == 2 and "gross_total must be a number like 1234.56, got 'lots'" in err

        assert ok("documents", "confirm", "--id", str(ids[0]), "--id", str(ids[2]))["moved"] == {str(ids[0]): "confirmed", str(ids[2]): "confirmed"}
        assert ok("documents", "reject", "--id", str(ids[1]), "--note", "duplicate")["moved"] == {str(ids[1]): "rejected"}
        code, _, err = run("documents", "postpone", "--id", str(ids[1]))
        assert code == 2 and "is rejected; it can become postponed only from reviewing, to_review" in err
        code, out, _ = run("documents", "show", "--id", str(ids[1]))
        assert "to_review -> rejected" in out and "duplicate" in out

        exported = ok("queues", "export", "--queue", "invoices")
        assert exported["exported"] == 2
        assert ok("queues", "export", "--queue", "invoices")["exports"] == []
        assert [e["documents"] for e in ok("queues", "show", "--queue", "invoices")["exports"]] == [2]

    def test_extract_prints_the_captured_data_as_json_or_csv(self, tmp_path: Path, docket_env: Path) -> None:
        (tmp_path / "docket.yaml").write_text(CONFIG)
        ok("queues", "apply", str(tmp_path / "docket.yaml"))
        (invoice,) = write_sample_invoices(tmp_path / "in", count=1)
        code, out, _ = run("documents", "extract", "--queue", "invoices", str(invoice))
        (record,) = json.loads(out)
        assert code == 0 and record["values"]["invoice_number"] == "INV-2024-0001" and record["status"] == "to_review"
        code, out, _ = run("documents", "extract", "--queue", "invoices", "--format", "csv", str(invoice))
        (row,) = list(csv.DictReader(io.StringIO(out)))
        assert row["invoice_number"] == "INV-2024-0001" and json.loads(row["line_items"])

    def test_import_a_batch_by_id(self, tmp_path: Path, docket_env: Path) -> None:
        (tmp_path / "docket.yaml").write_text(CONFIG)
        ok("queues", "apply", str(tmp_path / "docket.yaml"))
        write_sample_invoices(tmp_path / "in", count=2)
        ok("staging", "create-batch-of-documents", "--documents-dir", str(tmp_path / "in"), "--batch-id", "inv")
        summary = ok("queues", "import", "--queue", "invoices", "--batch", "inv")
        assert (summary["created"], summary["captured"]) == (2, 2)
        assert ok("queues", "import", "--queue", "invoices", "--batch", "inv")["created"] == 0
        code, _, err = run("queues", "import", "--queue", "invoices")
        assert code == 2 and "give exactly one of --batch, --job or --email" in err


@pytest.mark.usefixtures("prefect_harness")
class TestSubscriptions:
    def test_subscribers_get_signed_status_changes_and_exports_from_the_commands_that_make_them(
        self, tmp_path: Path, docket_env: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from standardwebhooks import Webhook

        from docket_core.signing import generate_secret
        from tests.docket_core.notifications.webhook_server import webhook_server

        secret = generate_secret()
        monkeypatch.setenv("DOCKET_WEBHOOK_SECRET", secret)
        monkeypatch.setenv("DOCKET_ALLOWED_URL_HOSTS", "127.0.0.1")
        (tmp_path / "docket.yaml").write_text(CONFIG)
        ok("queues", "apply", str(tmp_path / "docket.yaml"))
        with webhook_server() as hooks:
            ready, erp = hooks.url("/ready"), hooks.url("/erp?token=abc")
            assert ok("queues", "subscribe", "--queue", "invoices", "--url", ready, "--event", "status-changed", "--status", "to_review")["created"]
            shown = ok("queues", "subscribe", "--queue", "invoices", "--url", erp, "--event", "exported")
            assert shown["url"].endswith("/erp?<redacted>") and shown["events"] == ["exported"]
            assert len(ok("queues", "subscriptions", "--queue", "invoices")) == 2

            files = [str(p) for p in write_sample_invoices(tmp_path / "in", count=2)]
            ids = ok("documents", "upload", "--queue", "invoices", *files)["imports"][0]["document_ids"]
            hooks.wait_for(2, path="/ready")  # the upload's delivery pass sent them before the command returned
            code, _, err = run("documents", "reject", "--id", str(ids[1]))
            assert code == 0 and "queued for subscribers" not in err  # moves to rejected: nobody subscribed to them
            ok("documents", "confirm", "--id", str(ids[0]))
            assert ok("queues", "export", "--queue", "invoices")["exported"] == 1
            hooks.wait_for(1, path="/erp")

            verifier = Webhook(secret)
            for request in hooks.received:
                verifier.verify(request.body, request.headers)  # raises on a bad or missing signature
            ready_bodies = hooks.bodies("/ready")
            assert sorted(b["document_id"] for b in ready_bodies) == sorted(ids)
            assert {(b["notification"]["previous_status"], b["notification"]["status"]) for b in ready_bodies} == {("importing", "to_review")}
            (exported,) = hooks.bodies("/erp")
            assert exported["document_id"] == ids[0] and exported["notification"]["content"]["invoice_number"] == "INV-2024-0001"

            code, _, err = run("documents", "reopen", "--id", str(ids[1]))  # starts no Prefect: the schedule sends it
            assert code == 0 and "1 notifications queued for subscribers; `docket serve`" in err
            assert len(hooks.bodies("/ready")) == 2
            gone = ok("queues", "unsubscribe", "--queue", "invoices", "--endpoint", shown["endpoint_key"][:10])
            assert gone["events"] == ["exported"]
            assert [s["events"] for s in ok("queues", "subscriptions")] == [["status-changed"]]
