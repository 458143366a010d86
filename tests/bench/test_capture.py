"""`bench/capture.py` end to end: generated text PDFs through the real invoice-capture workflow."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from docket_core.evaluate.score import is_right
from docket_core.evaluate.truth import TRUTH_FIELDS, write_truth
from docket_core.synth import write_corpus

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_capture", ROOT / "bench" / "capture.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_capture"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth")
    write_corpus(folder, invoices_per_language=4, receipts_per_language=1, raster_every=0, seed=21,
                 languages=("en", "de", "fr"))  # fmt: skip
    return folder


class TestCaptureBench:
    def test_the_report_scores_every_truth_field_as_the_rules_say(self, folder: Path) -> None:
        bench = _bench()
        cases = bench.folder_cases(folder)
        report, scores = bench.evaluate(cases, threshold=0.9)
        assert report["documents"] == len(cases) == 15 and report["failed"] == 0
        for field_id, stats in report["fields"].items():
            assert field_id in TRUTH_FIELDS
            expected = [s.fields[field_id] for s in scores if field_id in s.fields]
            assert stats["documents"] == len(expected)
            assert stats["right"] == sum(o.right for o in expected)
            assert stats["given"] == sum(o.got is not None for o in expected)
            assert stats["accuracy"] == pytest.approx(stats["right"] / stats["documents"])
            for o in expected:
                assert o.right == is_right(field_id, o.expected, o.got)
        auto = report["auto_confirm"]
        assert auto["confirmed"] == sum(s.auto_confirmed(0.9) for s in scores)
        assert report["speed"]["pages"] >= 15 and report["speed"]["cpu_seconds"] > 0
        # A sanity floor on clean generated text PDFs, far below what the engine reaches on them.
        assert report["field_checks"]["accuracy"] >= 0.6

    def test_a_truth_value_the_page_does_not_show_counts_as_a_miss(self, folder: Path) -> None:
        bench = _bench()
        cases = bench.folder_cases(folder)[:3]
        path, truth = cases[0]
        wrong = dataclasses.replace(truth, fields=truth.fields | {"gross_total": "0.01", "invoice_number": "NOT-PRINTED"})
        report, scores = bench.evaluate([(path, wrong)] + cases[1:], threshold=0.0)
        first = scores[0].fields
        assert not first["gross_total"].right and not first["invoice_number"].right
        assert not scores[0].required_right()
        confirmed_right = sum(s.auto_confirmed(0.0) and s.required_right() for s in scores)
        assert report["auto_confirm"]["right"] == confirmed_right <= len(scores) - 1

    def test_the_command_prints_the_table_and_writes_both_reports(self, folder: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
        bench = _bench()
        records = [r for _, r in bench.folder_cases(folder)][:4]
        write_truth(tmp_path / "few.jsonl", records)
        assert bench.main(["--data", str(folder), "--truth", str(tmp_path / "few.jsonl"), "--out", str(tmp_path / "out")]) == 0
        table = capsys.readouterr().out
        assert f"Capture: {folder.name}: 4 documents" in table
        assert "field" in table and "accuracy" in table and "gross_total" in table and "auto-confirmed at 0.90" in table
        report = json.loads((tmp_path / "out" / f"capture-{folder.name}.json").read_text())
        assert report["documents"] == 4 and len(report["documents_detail"]) == 4 and report["machine"]
        misses = (tmp_path / "out" / f"capture-{folder.name}-misses.md").read_text()
        assert misses.startswith(f"# Capture misses: {folder.name}") and "| file | field | expected | got |" in misses
        # Scoring the saved values again gives the same figures without capturing anything.
        assert bench.main(["--data", folder.name, "--rescore", "--out", str(tmp_path / "out")]) == 0
        again = json.loads((tmp_path / "out" / f"capture-{folder.name}.json").read_text())
        assert again["fields"] == report["fields"] and again["auto_confirm"] == report["auto_confirm"]
