"""Tiny hostile inputs (issue 11): how much time and memory each costs now that it is refused or stopped.

    .venv/bin/python bench/hostile.py [--old-xml]

1. an 8 MiB XML attribute validated by `inspect_file` (with `--old-xml`, also fed to expat 2 KiB at a
   time with `ParseFile`, as before: tens of seconds);
2. compression bombs downloaded from a loopback server (`gzip, gzip` of 2 KB and gzip of 1 MB, both
   1 GiB decoded): peak Python memory (tracemalloc) and time to refusal;
3. a PDF with eight 64 MiB XML attachments through `find_embedded_xml`: peak memory;
4. a PDF whose ten pages share one 1 MiB content stream through the `invoice-capture` workflow with a
   1 s `time_budget`: CPU used, against one page's CPU.

Figures go to stdout and to bench/out/hostile.json.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from xml.parsers import expat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pypdf  # noqa: E402

from docket_core.einvoice.pdf import find_embedded_xml  # noqa: E402
from docket_core.jobs.process import run_file  # noqa: E402
from docket_core.media.inspect import inspect_file  # noqa: E402
from docket_core.safefetch.address import URLPolicy  # noqa: E402
from docket_core.safefetch.fetch import FetchJob, fetch_many  # noqa: E402
from docket_core.settings import DocketSettings  # noqa: E402
from docket_core.workflows.registry import get_workflow, load_workflows  # noqa: E402
from tests.docket_core.test_httpbody import _bombs, _Server  # noqa: E402
from tests.helpers import serving  # noqa: E402
from tests.hostile import MiB, pdf_with_attachments, peak_memory, shared_content_pdf, zlib_of  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-xml", action="store_true", help="also time the old 2 KiB feeding (slow)")
    args = parser.parse_args()
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        xml = b'<?xml version="1.0"?><invoice note="' + b"x" * (8 * MiB) + b'"/>'
        (root / "big.xml").write_bytes(xml)
        started = time.perf_counter()
        inspect_file(root / "big.xml", batch_kind="documents", settings=DocketSettings())
        out["xml_8mib_attribute_s"] = round(time.perf_counter() - started, 3)
        if args.old_xml:
            started = time.perf_counter()
            expat.ParserCreate().ParseFile(io.BytesIO(xml))
            out["xml_8mib_attribute_old_parsefile_s"] = round(time.perf_counter() - started, 3)

        with serving(_Server(_bombs())) as srv:
            for route in ("double", "single"):
                started = time.perf_counter()
                with peak_memory() as peak:
                    [outcome] = fetch_many([FetchJob("k", f"{srv.base}/{route}", root / "dl", 8 * MiB)],
                                           policy=URLPolicy(allow_private_network=True), concurrency=1, timeout=30,
                                           connect_timeout=5, max_redirects=0)  # fmt: skip
                out[f"bomb_{route}"] = {"error": type(outcome.error).__name__, "peak_mib": round(peak.mib, 1),
                                        "seconds": round(time.perf_counter() - started, 3)}  # fmt: skip

        junk = zlib_of(b'<?xml version="1.0"?><junk>', 0x20, 64, b"</junk>")
        reader = pypdf.PdfReader(io.BytesIO(pdf_with_attachments([(f"a{i}.xml", junk) for i in range(8)])))
        with peak_memory() as peak:
            find_embedded_xml(reader)
        out["eight_64mib_attachments_peak_mib"] = round(peak.mib, 1)

        hostile = shared_content_pdf()
        (root / "hostile.pdf").write_bytes(hostile)
        cpu = time.process_time()
        pypdf.PdfReader(io.BytesIO(hostile)).pages[0].extract_text()
        one_page = time.process_time() - cpu
        workflow = get_workflow("invoice-capture", load_workflows())
        cpu = time.process_time()
        result = run_file(workflow, root / "hostile.pdf", "hostile.pdf", "application/pdf", None, time_budget=1.0)
        out["shared_content_pdf"] = {"bytes": len(hostile), "one_page_cpu_s": round(one_page, 2),
                                     "job_file_cpu_s": round(time.process_time() - cpu, 2), "error_type": result.error_type}  # fmt: skip
    print(json.dumps(out, indent=2))
    dest = Path(__file__).parent / "out" / "hostile.json"
    dest.parent.mkdir(exist_ok=True)
    dest.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
