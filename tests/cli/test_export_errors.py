"""`docket staging export-batch` fails file by file: a name the target folder cannot hold is listed
with its reason and every other file is exported (it used to stop with a traceback after one file)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from docket_core.catalog.schema import files
from docket_core.cli import app
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.staging.models import IngestRequest
from tests.docket_core.staging.test_ingest import ingest
from tests.helpers import jpeg_bytes, png_bytes

runner = CliRunner()
LONG = "long/" + "n" * 300 + ".png"  # a 304-character part: more than any file system holds


def staged_batch(tmp_path: Path) -> Resources:
    """A batch holding both `x` and `x/y.png`, and (as batches ingested before names were limited to
    255 bytes a part may) a name with a 304-character part."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("x", jpeg_bytes(1)), ("x/y.png", png_bytes(2)), ("a.png", png_bytes(3)), ("old.png", png_bytes(4)),
                           ("z.jpg", jpeg_bytes(5))):  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (tmp_path / "b.tar").write_bytes(buffer.getvalue())
    resources = Resources.from_settings()
    summary = ingest(IngestRequest(batch_id="mixed", media_kind="images", source_kind="archive", source=str(tmp_path / "b.tar")),
                     resources, DocketSettings())  # fmt: skip
    assert (summary.ingested, summary.failed) == (5, 0)
    with resources.catalog().begin() as conn:
        conn.execute(sa.update(files).where(files.c.batch_id == "mixed", files.c.name == "old.png").values(name=LONG))
    return resources


class TestExportErrors:
    def test_a_file_and_a_folder_of_one_name_and_an_overlong_part_fail_alone_and_the_rest_is_exported(
        self, tmp_path: Path, docket_env: Path
    ) -> None:
        staged_batch(tmp_path)
        out = tmp_path / "out"
        result = runner.invoke(app, ["staging", "export-batch", "--batch-id", "mixed", "--target-dir", str(out), "--json"])
        assert result.exit_code == 1, result.output
        summary = json.loads(result.stdout)
        assert summary["copied"] == 3
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["a.png", "x", "z.jpg"]
        failed = {f["name"]: f["reason"] for f in summary["failed"]}
        assert set(failed) == {"x/y.png", LONG}
        assert "the batch also holds a file named like one of its folders" in failed["x/y.png"]
        assert "File name too long" in failed[LONG]
        assert str(tmp_path) not in json.dumps(summary["failed"])  # reasons name the file, not local paths
        assert not [p for p in out.rglob(".docket-*.part")]

        again = runner.invoke(app, ["staging", "export-batch", "--batch-id", "mixed", "--target-dir", str(out)])
        assert again.exit_code == 1 and "Traceback" not in again.output
        assert "0 files copied, 3 already there, 2 failed" in again.stdout
        assert "cannot export 'x/y.png'" in again.stdout
