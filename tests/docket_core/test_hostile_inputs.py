"""Tiny hostile files must not exhaust disk, memory or CPU (issue 11, items 2 and 4), end to end.

Each attack is built in the test: a 10 KB sparse tar whose member declares 1 GiB, a 70 KB .tar.gz
of zeros, an 8 MiB XML attribute, a PDF carrying eight 64 MiB XML attachments, and a 4 KB PDF
whose ten pages share one 1 MiB content stream.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.staging.models import IngestRequest
from docket_core.staging.queries import batch_content
from tests.docket_core.staging.test_ingest import ingest
from tests.helpers import jpeg_bytes
from tests.hostile import MiB, sparse_tar, targz_of_zeros, written_bytes


@pytest.fixture
def resources(catalog_url: str, tmp_path: Path) -> Resources:
    return Resources(store_url=str(tmp_path / "store"), catalog_url=catalog_url)


def _regular_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class TestTarBundles:
    def _ingest(self, bundle: Path, resources: Resources) -> dict[str, dict]:
        request = IngestRequest(batch_id="b1", media_kind="images", source_kind="archive", source=str(bundle))
        ingest(request, resources, DocketSettings(max_image_bytes=MiB))
        return {f["name"]: f for f in batch_content(resources.catalog(), "b1")}

    def test_a_sparse_member_declaring_a_gib_is_refused_without_being_written(self, tmp_path: Path, resources: Resources) -> None:
        bundle = tmp_path / "sparse.tar"
        # the sparse member (header and its one data block), then an ordinary bundle with a good image
        bundle.write_bytes(sparse_tar("big.jpg", 1 << 30)[:1024] + _regular_tar({"ok.jpg": jpeg_bytes(1)}))
        assert bundle.stat().st_size <= 20 * 1024
        before = written_bytes()
        files = self._ingest(bundle, resources)
        assert written_bytes() - before < 8 * MiB  # the bundle copied twice, the image, the catalog: not 1 GiB
        assert files["ok.jpg"]["status"] == "ingested"
        assert (files["big.jpg"]["status"], files["big.jpg"]["error_type"]) == ("failed", "file-size-limit-exceeded")

    def test_a_targz_of_zeros_far_over_the_cap_is_refused_without_being_written(self, tmp_path: Path, resources: Resources) -> None:
        bundle = tmp_path / "zeros.tar.gz"
        bundle.write_bytes(targz_of_zeros("zeros.jpg", 64))
        before = written_bytes()
        files = self._ingest(bundle, resources)
        assert written_bytes() - before < 8 * MiB
        assert files["zeros.jpg"]["error_type"] == "file-size-limit-exceeded"
