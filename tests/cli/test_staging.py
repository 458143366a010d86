"""`docket staging ...` as a user types it (in-process, under the Prefect test server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docket_core.cli import app
from tests.helpers import file_server, image_folder, jpeg_bytes, write

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.usefixtures("prefect_harness")
class TestCreateBatch:
    def test_images_from_a_folder_print_one_json_summary(self, tmp_path: Path, docket_env: Path) -> None:
        image_folder(tmp_path / "in/a", 2)
        image_folder(tmp_path / "in/b", 2)
        code, out, _ = run("staging", "create-batch-of-images", "--images-dir", str(tmp_path / "in"), "--batch-id", "cli-b", "--json")
        assert code == 0
        summary = json.loads(out)
        assert {k: summary[k] for k in ("batch_id", "ingested", "failed", "duplicates")} == {
            "batch_id": "cli-b", "ingested": 4, "failed": 0, "duplicates": 0,
        }  # fmt: skip
        assert summary["ingest_id"]

        code, out, _ = run("staging", "list-batch-content", "--batch-id", "cli-b", "--json")
        lines = [json.loads(line) for line in out.splitlines()]
        assert [line["name"] for line in lines] == ["a/img0000.jpg", "a/img0001.jpg", "b/img0000.jpg", "b/img0001.jpg"]
        assert set(lines[0]) >= {"name", "status", "error_type", "reason", "sha256", "size"}

        code, out, _ = run("staging", "show-batch-details", "--batch-id", "cli-b", "--json")
        details = json.loads(out)
        assert (details["batch_id"], details["files_count"], details["failed_count"]) == ("cli-b", 4, 0)
        assert details["bytes"] == sum(p.stat().st_size for p in (tmp_path / "in").rglob("*.jpg"))

    def test_references_with_a_malformed_line_report_it_by_number(self, tmp_path: Path, docket_env: Path) -> None:
        with file_server({"/x.jpg": jpeg_bytes(7)}) as base:
            refs = tmp_path / "refs.jsonl"
            refs.write_text(json.dumps({"name": "x.jpg", "url": f"{base}/x.jpg?sig=abc"}) + "\n{broken\n")
            code, out, _ = run(
                "staging", "create-batch-of-images", "--batch-id", "cli-r", "--data-source", "references-file",
                "--references", str(refs), "--allow-private-network", "--json",
            )  # fmt: skip
        assert code == 0
        assert (json.loads(out)["ingested"], json.loads(out)["failed"]) == (1, 1)
        out_file = tmp_path / "details.jsonl"
        code, _, _ = run("staging", "list-ingest-details", "--batch-id", "cli-r", "-o", str(out_file))
        [shard] = [json.loads(line) for line in out_file.read_text().splitlines()]
        assert shard["failed_files"][0]["file_name"] == "line 2"
        assert "line 2" in shard["failed_files"][0]["reason"]


class TestErrors:
    def test_a_missing_folder_exits_2_with_what_was_expected(self, tmp_path: Path, docket_env: Path) -> None:
        code, _, err = run("staging", "create-batch-of-images", "--images-dir", str(tmp_path / "nope"), "--batch-id", "b")
        assert code == 2
        assert "expected an existing folder of images" in err and "not found" in err

    def test_a_bad_batch_id_exits_2_naming_the_rule(self, tmp_path: Path, docket_env: Path) -> None:
        code, _, err = run("staging", "create-batch-of-images", "--images-dir", str(tmp_path), "--batch-id", "Bad!")
        assert code == 2 and "must match" in err and "'Bad!'" in err

    def test_an_unknown_batch_exits_2_and_says_how_to_list_them(self, docket_env: Path) -> None:
        code, _, err = run("staging", "show-batch-details", "--batch-id", "ghost")
        assert code == 2 and "no batch 'ghost'" in err and "list-batches" in err

    def test_references_mode_without_a_file_says_what_it_needs(self, docket_env: Path) -> None:
        code, _, err = run("staging", "create-batch-of-images", "--batch-id", "b", "--data-source", "references-file")
        assert code == 2 and "--references" in err


class TestHelp:
    def test_help_teaches_the_verbs(self) -> None:
        code, out, _ = run("staging", "--help")
        assert code == 0
        for verb in ("create-batch-of-images", "create-batch-from-archive", "list-ingest-details", "export-batch"):
            assert verb in out
