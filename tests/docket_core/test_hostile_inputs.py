"""Tiny hostile files must not exhaust disk, memory or CPU (issue 11, items 2 and 4), end to end.

Each attack is built in the test: a 10 KB sparse tar whose member declares 1 GiB, a 70 KB .tar.gz
of zeros, an 8 MiB XML attribute, a PDF carrying eight 64 MiB XML attachments, and a 4 KB PDF
whose ten pages share one 1 MiB content stream.
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

import pypdf
import pytest

from docket_core.einvoice.pdf import find_embedded_xml
from docket_core.errors import InputError
from docket_core.jobs.models import JobRequest
from docket_core.media.inspect import inspect_file
from docket_core.resources import Resources
from docket_core.settings import DocketSettings
from docket_core.staging.models import IngestRequest
from docket_core.staging.queries import batch_content
from docket_core.steps.invoice import extract_fields
from docket_core.workflows.model import FileContext
from docket_core.workflows.registry import get_workflow, load_workflows
from tests.docket_core.jobs.test_jobs import read_documents, run, stage
from tests.docket_core.staging.test_ingest import ingest
from tests.docket_core.steps.test_invoice import ENGLISH
from tests.helpers import jpeg_bytes, write
from tests.hostile import (
    MiB,
    pdf_with_attachments,
    peak_memory,
    shared_content_pdf,
    sparse_tar,
    targz_of_zeros,
    text_pdf,
    written_bytes,
    zlib_of,
)


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


class TestXmlValidation:
    def test_an_8_mib_attribute_validates_in_one_pass(self, tmp_path: Path) -> None:
        # expat fed 2 KiB at a time rescanned the attribute on every call: 18 to 67 s for this file
        path = write(tmp_path / "big.xml", b'<?xml version="1.0"?><invoice note="' + b"x" * (8 * MiB) + b'"/>')
        started = time.monotonic()
        assert inspect_file(path, batch_kind="documents", settings=DocketSettings()) == "application/xml"
        assert time.monotonic() - started < 5  # about 0.2 s; only the quadratic feeding reaches this


_JUNK = (b'<?xml version="1.0"?><junk>', 0x20, 64, b"</junk>")  # 64 MiB of XML, 66 KB compressed


def _junk_attachments(count: int) -> list[tuple[str, bytes]]:
    return [(f"attachment-{i}.xml", zlib_of(*_JUNK)) for i in range(count)]


class TestEmbeddedInvoiceXml:
    """A PDF of 530 KB carrying eight 64 MiB XML attachments (issue 11, item 4)."""

    def test_eight_64_mib_attachments_are_not_all_decoded(self, tmp_path: Path) -> None:
        pdf = write(tmp_path / "eight.pdf", pdf_with_attachments(_junk_attachments(8)))
        assert pdf.stat().st_size < 600 * 1024
        reader = pypdf.PdfReader(pdf)
        with peak_memory() as peak:
            assert find_embedded_xml(reader) is None  # no invoice among them: each root read from its first 64 KiB
        assert peak.bytes < 16 * MiB, f"peak {peak.mib:.0f} MiB"

    def test_the_standard_name_is_chosen_before_anything_is_decoded(self, tmp_path: Path) -> None:
        invoice = b'<?xml version="1.0"?><rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"/>'
        attachments = _junk_attachments(7) + [("factur-x.xml", zlib_of(invoice, 0x20, 0, b""))]
        reader = pypdf.PdfReader(io.BytesIO(pdf_with_attachments(attachments)))
        with peak_memory() as peak:
            assert find_embedded_xml(reader) == ("factur-x.xml", invoice)
        assert peak.bytes < 4 * MiB, f"peak {peak.mib:.0f} MiB"

    def test_a_chosen_attachment_over_the_cap_is_refused_while_decoding(self, tmp_path: Path) -> None:
        reader = pypdf.PdfReader(io.BytesIO(pdf_with_attachments([("factur-x.xml", zlib_of(*_JUNK))])))
        with peak_memory() as peak, pytest.raises(InputError, match=r"at most 4194304 bytes, 'factur-x.xml' is larger"):
            find_embedded_xml(reader, max_bytes=4 * MiB)
        assert peak.bytes < 16 * MiB, f"peak {peak.mib:.0f} MiB"

    def test_the_invoice_step_reads_the_page_text_in_bounded_memory(self, tmp_path: Path) -> None:
        pdf = write(tmp_path / "eight.pdf", pdf_with_attachments(_junk_attachments(8)))
        with peak_memory() as peak:
            out = extract_fields(FileContext(name="eight.pdf", media_type="application/pdf", path=pdf, datapoints={}))
        assert out.datapoints["invoice_number"] == "77" and out.datapoints["source"] == "pdf-text"
        assert peak.bytes < 32 * MiB, f"peak {peak.mib:.0f} MiB"


class TestTimeBudgetInJobs:
    @pytest.mark.slow
    def test_a_pdf_whose_pages_share_a_1_mib_content_stream_is_read_within_its_budget_and_the_job_goes_on(
        self, tmp_path: Path, resources: Resources
    ) -> None:
        hostile = shared_content_pdf(pages=10, content_mib=1)
        assert len(hostile) < 8 * 1024
        write(tmp_path / "in/hostile.pdf", hostile)
        write(tmp_path / "in/fine.pdf", text_pdf("\n".join(ENGLISH)))
        write(tmp_path / "in/also-fine.pdf", text_pdf("\n".join(ENGLISH).replace("2024-0042", "2024-0043")))
        # The time budget is far away here: what stops the work is capture's reading budget (page
        # objects and characters over the document), which the time budget backs up
        # (tests/docket_core/test_deadline.py stops runaway steps with it).
        settings = DocketSettings(file_time_budget=60, file_workers=1)
        stage(tmp_path / "in", resources, settings, batch_id="docs", kind="documents")

        one_page = time.process_time()
        pypdf.PdfReader(io.BytesIO(hostile)).pages[0].extract_text()
        one_page = time.process_time() - one_page  # what each of the ten pages costs a plain reader

        workflow = get_workflow("invoice-capture", load_workflows())
        cpu = time.process_time()
        details = run(JobRequest(batch_id="docs", workflow_id="invoice-capture", job_id="jt"), workflow, resources, settings)
        cpu = time.process_time() - cpu
        assert (details["state"], details["files_succeeded"], details["files_failed"]) == ("succeeded", 3, 0)
        docs = read_documents(resources, "jt").set_index("file_name")
        said = [m["content"] for m in docs.loc["hostile.pdf", "messages"]]
        assert any("reading budget is spent" in m for m in said), said
        # the reading stopped pages before the end, not after all ten pages
        assert cpu < 4 * one_page, f"job used {cpu:.1f} s of CPU, one page costs {one_page:.1f} s"
