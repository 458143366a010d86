"""The YAML file of queues and extensions: applied all or nothing, refusals naming what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from docket_core.errors import InputError
from docket_core.extensions.config import ExtensionConfigError
from docket_core.extensions.registry import delete_extension, load_extensions, queue_plan
from docket_core.queues.config_file import apply_config, load_config
from docket_core.queues.registry import get_queue, list_queues
from docket_core.resources import Resources
from docket_core.settings import DocketSettings

GOOD = """
queues:
  - id: invoices
    name: Supplier invoices
    workflow: invoice-capture
    auto_confirm: true
  - id: receipts
    schema:
      - {id: total, type: number, required: true}
      - {id: kind, type: enum, options: [meal, travel]}
extensions:
  - name: tax-fill
    builtin: tax-fill
    events: [initialize, updated]
    queues: [invoices]
  - name: vendor-match
    builtin: vendor-match
    settings: {master_data: vendors.csv}
    events: [initialize]
    queues: {invoices: [tax-fill]}
  - name: erp
    type: webhook
    url: https://erp.example.com/hook
    secret_env: DOCKET_TEST_ERP_SECRET
    events: [export]
    queues: [invoices]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "docket.yaml"
    path.write_text(text)
    return path


class TestApply:
    def test_a_file_creates_queues_and_ordered_extensions(
        self, tmp_path: Path, resources: Resources, settings: DocketSettings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("DOCKET_TEST_ERP_SECRET", "s3cret")
        applied = apply_config(resources.catalog(), load_config(write(tmp_path, GOOD), settings))
        assert applied.queues_created == ["invoices", "receipts"] and applied.extensions == ["tax-fill", "vendor-match", "erp"]
        with resources.catalog().read() as conn:
            assert get_queue(conn, "invoices").auto_confirm and get_queue(conn, "invoices").field("line_items") is not None
            assert queue_plan(conn, "invoices", "initialize").levels == (("tax-fill",), ("vendor-match",))
            extensions = load_extensions(conn)
        assert extensions["erp"].secret is not None and extensions["erp"].secret.get_secret_value() == "s3cret"
        assert extensions["vendor-match"].settings["master_data"] == str((tmp_path / "vendors.csv").resolve())
        assert [q["queue_id"] for q in list_queues(resources.catalog())] == ["invoices", "receipts"]

    def test_applying_again_updates_in_place(self, tmp_path: Path, resources: Resources, settings: DocketSettings, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DOCKET_TEST_ERP_SECRET", "s")
        path = write(tmp_path, GOOD)
        apply_config(resources.catalog(), load_config(path, settings))
        again = apply_config(resources.catalog(), load_config(path, settings))
        assert again.queues_created == [] and again.queues_updated == ["invoices", "receipts"]

    def test_a_cycle_in_the_file_writes_nothing_and_shows_the_path(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        text = GOOD.split("  - name: erp")[0].replace("queues: [invoices]\n  - name: vendor-match", "queues: {invoices: [vendor-match]}\n  - name: vendor-match", 1)
        with pytest.raises(ExtensionConfigError, match="cycle among extensions on queue 'invoices': tax-fill -> vendor-match -> tax-fill"):
            apply_config(resources.catalog(), load_config(write(tmp_path, text), settings))
        assert list_queues(resources.catalog()) == []  # the queues of the file were not kept either

    def test_prune_deletes_what_this_file_made_and_no_longer_lists(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        path = write(tmp_path, GOOD.split("  - name: erp")[0])
        apply_config(resources.catalog(), load_config(path, settings))
        path.write_text(GOOD.split("  - name: vendor-match")[0])
        applied = apply_config(resources.catalog(), load_config(path, settings), prune=True)
        assert applied.pruned == ["vendor-match"]


class TestRefusals:
    def test_a_missing_secret_variable_is_named(self, tmp_path: Path, settings: DocketSettings, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("DOCKET_TEST_ERP_SECRET", raising=False)
        with pytest.raises(InputError, match=r"extensions\[3\] \('erp'\): secret_env names 'DOCKET_TEST_ERP_SECRET', which is not set"):
            load_config(write(tmp_path, GOOD), settings)

    def test_a_bad_field_names_the_queue_entry_and_the_field(self, tmp_path: Path, settings: DocketSettings) -> None:
        with pytest.raises(InputError, match=r"queues\[1\]: schema.0.type: Input should be 'string', 'number', 'date', 'enum' or 'multivalue'"):
            load_config(write(tmp_path, "queues:\n  - id: q\n    schema: [{id: x, type: money}]\n"), settings)

    def test_an_unknown_builtin_lists_the_builtins(self, tmp_path: Path, settings: DocketSettings) -> None:
        text = "extensions:\n  - name: x\n    builtin: magic\n    events: [initialize]\n"
        with pytest.raises(InputError, match=r"builtin must be one of \['field-checks', 'tax-fill', 'vendor-fill', 'vendor-match'\]"):
            load_config(write(tmp_path, text), settings)

    def test_deleting_an_extension_others_run_after_is_refused(self, tmp_path: Path, resources: Resources, settings: DocketSettings) -> None:
        apply_config(resources.catalog(), load_config(write(tmp_path, GOOD.split("  - name: erp")[0]), settings))
        with pytest.raises(ExtensionConfigError, match="extension 'vendor-match' on queue 'invoices' runs after unknown 'tax-fill'"):
            with resources.catalog().begin() as conn:
                delete_extension(conn, "tax-fill")
