"""Outside text and error messages print as they are: square brackets are not rich markup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docket_core.cli import app
from tests.helpers import jpeg_bytes, write

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


class TestErrors:
    def test_a_bad_batch_id_prints_the_whole_pattern(self, tmp_path: Path, docket_env: Path) -> None:
        code, _, err = run("staging", "create-batch-of-images", "--images-dir", str(tmp_path), "--batch-id", "Bad_ID")
        assert code == 2
        assert "batch id must match ^[a-z0-9_-]{1,64}$" in err and "'Bad_ID'" in err

    def test_an_error_naming_something_with_brackets_and_a_closing_tag_prints_it(self, tmp_path: Path, docket_env: Path) -> None:
        missing = tmp_path / "[bold]in[/]"
        code, _, err = run("staging", "create-batch-of-images", "--images-dir", str(missing), "--batch-id", "b")
        assert code == 2 and f"got {str(missing)!r} (not found)" in err


@pytest.mark.usefixtures("prefect_harness")
class TestNames:
    def test_file_names_with_brackets_print_as_they_are_in_tables_and_failure_lists(self, tmp_path: Path, docket_env: Path) -> None:
        write(tmp_path / "in/[red]x[/].jpg", jpeg_bytes(1))
        write(tmp_path / "in/[/]:smile:.jpg", b"not an image")
        code, out, err = run("staging", "create-batch-of-images", "-i", str(tmp_path / "in"), "-b", "brackets", "--json")
        assert code == 0, err
        assert (json.loads(out)["ingested"], json.loads(out)["failed"]) == (1, 1)

        code, out, err = run("staging", "list-batch-content", "--batch-id", "brackets")
        assert code == 0, err
        assert "[red]x[/].jpg" in out and "[/]:smile:.jpg" in out
        code, out, err = run("staging", "list-ingest-details", "--batch-id", "brackets")
        assert code == 0, err
        assert "  [/]:smile:.jpg: " in out
