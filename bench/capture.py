"""Capture evaluation: a workflow over a folder with a truth JSONL, per-field accuracy, automation, speed.

Data sets (`--data`):
- `zugferd-text`: the e-invoice PDFs of `$DOCKET_SAMPLE_DATA/zugferd-dev/` and `facturx-akretion/`,
  copied without their attachments so the embedded XML cannot be read: the text path. Truth: the
  XML, as Docket's e-invoice parser reads it, less the values the page does not print.
- `zugferd-ocr`: the same PDFs rendered to image-only PDFs at 200 dpi (pypdfium2): the OCR path.
- `receipts`: the 48 scanned shop receipts of `receipts-dev/` with their published key fields.
- `synth`: a generated corpus (`docket_core.synth`, seed `--seed`): text PDFs in six languages and
  eight layouts, receipts, and scanned, faxed and photographed copies; `synth-text` and `synth-ocr`
  take only the text PDFs or only the OCR copies.
- any folder holding files and a truth JSONL (`--truth`, default `<folder>/truth.jsonl`).

For each, prints per field: accuracy (right / documents whose truth has it), coverage (a value was
given) and precision (right / given); the share of documents confirmed automatically at
`--threshold` (every required field at or above it) and how often those are right; documents/s and
pages/s per core (CPU seconds of this process, all its threads, around `run_file`; OCR runs with one
thread unless `DOCKET_OCR_THREADS` says otherwise). Scoring rules:
`docket_core.evaluate.score`. Writes `bench/out/capture-<data>.json` and a list of misses
`bench/out/capture-<data>-misses.md` (field, expected, got) for whoever improves the engine.

Usage: `DOCKET_SAMPLE_DATA=/path/to/data .venv/bin/python bench/capture.py --data zugferd-text`
`[--threshold 0.9] [--limit N] [--json] [--page-cache DIR]`.

`--page-cache DIR` (or `DOCKET_BENCH_PAGE_CACHE`) keeps each file's page model (OCR done once, see
`bench/page_cache.py`) so extraction changes can be measured in seconds; the speed figures of a run
that hit the cache are not reading speed, and the table says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from docket_core.evaluate.datasets import einvoice_cases, receipt_cases, sample_data_root  # noqa: E402
from docket_core.evaluate.run import evaluate_files  # noqa: E402
from docket_core.evaluate.score import DocumentScore, score_document, summarize  # noqa: E402
from docket_core.evaluate.truth import TRUTH_FIELDS, TruthRecord, read_truth  # noqa: E402
from docket_core.workflows.registry import builtin_workflows  # noqa: E402

OUT = ROOT / "bench" / "out"
DEFAULT_THRESHOLD = 0.9
GOALS = {"field_accuracy": 0.90, "auto_confirm_precision": 0.97, "text_docs_per_core_s": 20.0, "ocr_pages_per_core_s": 0.5}


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def workflow(name: str = "invoice-capture"):  # noqa: ANN201 - a Workflow
    return next(w for w in builtin_workflows() if w.workflow_id == name)


def evaluate(cases: list[tuple[Path, TruthRecord]], *, threshold: float = DEFAULT_THRESHOLD,
             workflow_id: str = "invoice-capture", progress: bool = False) -> tuple[dict[str, Any], list[DocumentScore]]:  # fmt: skip
    """Capture each (file, truth) and return the report (`Summary.as_dict()`) and each document's score."""
    scores = []
    for n, score in enumerate(evaluate_files(workflow(workflow_id), cases), start=1):
        scores.append(score)
        if progress:
            right = sum(o.right for o in score.fields.values())
            print(f"{n}/{len(cases)} {score.file}: {right}/{len(score.fields)} right, {score.cpu_seconds:.2f} CPU-s",
                  file=sys.stderr, flush=True)  # fmt: skip
    report = summarize(scores, threshold).as_dict()
    heads = sorted({s.file.split("/", 1)[0] for s in scores if "/" in s.file})
    if len(heads) > 1:  # e.g. text/ and ocr/ of a generated corpus: separate figures, speed above all
        report["parts"] = {
            head: {k: v for k, v in summarize([s for s in scores if s.file.startswith(head + "/")], threshold)
                   .as_dict().items() if k not in ("by_group", "reliability")}
            for head in heads
        }  # fmt: skip
    return report, scores


def folder_cases(folder: Path, truth: Path | None = None, limit: int | None = None) -> list[tuple[Path, TruthRecord]]:
    records = read_truth(truth or folder / "truth.jsonl")
    return [(folder / r.file, r) for r in records[:limit]]


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def format_table(name: str, report: dict[str, Any]) -> str:
    """The report as the plain-text table the command prints."""
    rows = [f"Capture: {name}: {report['documents']} documents ({report['failed']} failed in the workflow)",
            f"{'field':<16}{'docs':>6}{'accuracy':>10}{'coverage':>10}{'precision':>11}{'>=thr':>7}{'prec>=thr':>11}"]  # fmt: skip
    for field_id, s in report["fields"].items():
        rows.append(f"{field_id:<16}{s['documents']:>6}{_pct(s['accuracy']):>10}{_pct(s['coverage']):>10}"
                    f"{_pct(s['precision']):>11}{s['at_threshold']:>7}{_pct(s['precision_at_threshold']):>11}")  # fmt: skip
    checks, auto, speed = report["field_checks"], report["auto_confirm"], report["speed"]
    rows.append(f"field checks right: {checks['right']}/{checks['total']} = {_pct(checks['accuracy']).strip()}")
    rows.append(f"documents with every required field right: {report['documents_all_required_right']}/{report['documents']}")
    rows.append(
        f"auto-confirmed at {auto['threshold']:.2f}: {auto['confirmed']}/{report['documents']} ({_pct(auto['share']).strip()}), "
        f"right {auto['right']}/{auto['confirmed']} = {_pct(auto['precision']).strip()}; "
        f"also without error messages: {auto['confirmed_without_errors']}, precision {_pct(auto['precision_without_errors']).strip()}"
    )
    per_s = speed["documents_per_s"] or 0.0
    rows.append(
        f"speed: {per_s:.2f} documents/s wall; per core: {speed['documents_per_cpu_s'] or 0:.2f} documents/s, "
        f"{speed['pages_per_cpu_s'] or 0:.2f} pages/s ({speed['pages']} pages, {speed['cpu_seconds']:.1f} CPU-s)"
    )
    rows.append("confidence -> accuracy: " + "; ".join(
        f"[{b['from']:.2f},{b['to']:.2f}) {b['values']} {_pct(b['accuracy']).strip()}" for b in report["reliability"]))  # fmt: skip
    for part, sub in report.get("parts", {}).items():
        c, sp = sub["field_checks"], sub["speed"]
        rows.append(f"part {part}: {sub['documents']} documents, field checks {c['right']}/{c['total']} = "
                    f"{_pct(c['accuracy']).strip()}, auto-confirmed {sub['auto_confirm']['confirmed']} "
                    f"(precision {_pct(sub['auto_confirm']['precision']).strip()}), per core "
                    f"{sp['documents_per_cpu_s'] or 0:.2f} documents/s, {sp['pages_per_cpu_s'] or 0:.2f} pages/s")  # fmt: skip
    if report.get("by_group"):
        rows.append("by group (field checks right): " + "; ".join(
            f"{g} {v['field_checks_right']}/{v['field_checks']}" for g, v in report["by_group"].items()))  # fmt: skip
    return "\n".join(rows)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def misses_markdown(name: str, scores: list[DocumentScore]) -> str:
    lines = [f"# Capture misses: {name}", "", "| file | field | expected | got | confidence |", "|---|---|---|---|---|"]
    for score in scores:
        if score.failed:
            lines.append(f"| {score.file} | (file) | processed | FAILED: {score.failed[:120]} | |")
        for o in score.fields.values():
            if not o.right:
                conf = "" if o.confidence is None else f"{o.confidence:.2f}"
                got = "—" if o.got is None else _cell(o.got)
                lines.append(f"| {score.file} | {o.field} | {_cell(o.expected)} | {got} | {conf} |")
    return "\n".join(lines) + "\n"


def rescore(previous: dict[str, Any], threshold: float) -> tuple[dict[str, Any], list[DocumentScore]]:
    """Score an earlier report's captured values again with today's rules (no capture is run)."""
    scores = []
    for d in previous["documents_detail"]:
        truth = TruthRecord(d["file"], d["kind"], d["language"], {f: o["expected"] for f, o in d["fields"].items()})
        got = {f: o["got"] for f, o in d["fields"].items()}
        conf = {f: o["confidence"] for f, o in d["fields"].items() if o["confidence"] is not None}
        score = score_document(truth, got, conf, failed=d["failed"])
        score.errors, score.seconds, score.cpu_seconds, score.pages = d["errors"], d["seconds"], d["cpu_seconds"], d["pages"]
        scores.append(score)
    return summarize(scores, threshold).as_dict(), scores


SUMMARY_ORDER = ("zugferd-text", "zugferd-ocr", "receipts", "synth-text", "synth-ocr", "synth")


def summary_markdown(out: Path) -> str:
    """One markdown table over the saved reports in `out`: per field, then automation and speed."""
    reports = {}
    for name in SUMMARY_ORDER:
        path = out / f"capture-{name}.json"
        if path.is_file():
            reports[name] = json.loads(path.read_text())
    if not reports:
        return f"no reports in {out}; run bench/capture.py --data ... first"
    head = "| field | " + " | ".join(f"{n} ({r['documents']})" for n, r in reports.items()) + " |"
    rows = [head, "|---|" + "---:|" * len(reports)]

    def cell(r: dict[str, Any], field_id: str) -> str:
        s = r["fields"].get(field_id)
        return "" if s is None else f"{_pct(s['accuracy']).strip()} ({s['documents']})"

    fields = [f for f in TRUTH_FIELDS if any(f in r["fields"] for r in reports.values())]
    rows += [f"| {f} | " + " | ".join(cell(r, f) for r in reports.values()) + " |" for f in fields]
    def line(label: str, fn: Any) -> str:
        return f"| {label} | " + " | ".join(fn(r) for r in reports.values()) + " |"

    rows.append(line("**field checks**", lambda r: f"**{_pct(r['field_checks']['accuracy']).strip()}**"))
    rows.append(line("every required field right", lambda r: f"{r['documents_all_required_right']}/{r['documents']}"))
    rows.append(line(f"auto-confirmed at {next(iter(reports.values()))['auto_confirm']['threshold']:.2f}",
                     lambda r: f"{r['auto_confirm']['confirmed']} ({_pct(r['auto_confirm']['share']).strip()})"))  # fmt: skip
    rows.append(line("of those right", lambda r: _pct(r["auto_confirm"]["precision"]).strip()))
    rows.append(line("documents/s per core", lambda r: f"{r['speed']['documents_per_cpu_s'] or 0:.2f}"))
    rows.append(line("pages/s per core", lambda r: f"{r['speed']['pages_per_cpu_s'] or 0:.2f}"))
    return "\n".join(rows)


def _cases(args: argparse.Namespace) -> tuple[str, list[tuple[Path, TruthRecord]], dict[str, Any]]:
    cache, extra = OUT / "cache", {}
    if args.data in ("zugferd-text", "zugferd-ocr"):
        cases, dropped, skipped = einvoice_cases(sample_data_root(), cache / "einvoices", ocr=args.data == "zugferd-ocr",
                                                 limit=args.limit)  # fmt: skip
        extra = {"dropped_unprinted": [d.__dict__ for d in dropped], "skipped": skipped}
        return args.data, cases, extra
    if args.data == "receipts":
        return "receipts", list(receipt_cases(sample_data_root()))[: args.limit], extra
    if args.data in ("synth", "synth-text", "synth-ocr"):
        from docket_core.synth import write_corpus

        folder = cache / f"synth-{args.seed}"
        if not (folder / "truth.jsonl").is_file():
            write_corpus(folder, seed=args.seed)
        cases = folder_cases(folder)
        if args.data != "synth":
            cases = [c for c in cases if c[1].file.startswith(args.data.removeprefix("synth-") + "/")]
        return args.data, cases[: args.limit], extra
    folder = Path(args.data)
    truth = Path(args.truth) if args.truth else None
    return folder.name, folder_cases(folder, truth, args.limit), extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="synth",
                        help="zugferd-text, zugferd-ocr, receipts, synth, synth-text, synth-ocr or a folder")  # fmt: skip
    parser.add_argument("--truth", help="truth JSONL (for a folder; default <folder>/truth.jsonl)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="auto-confirm confidence threshold")
    parser.add_argument("--limit", type=int, help="evaluate at most this many documents")
    parser.add_argument("--seed", type=int, default=12, help="seed of the generated corpus (--data synth)")
    parser.add_argument("--workflow", default="invoice-capture")
    parser.add_argument("--json", action="store_true", help="print the JSON report instead of the table")
    parser.add_argument("--quiet", action="store_true", help="no line per document on stderr")
    parser.add_argument("--summary", action="store_true", help="print one markdown table over the saved reports")
    parser.add_argument("--rescore", action="store_true",
                        help="score the values of the last report of --data again (no capture; after a scoring change)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the reports (default bench/out)")
    parser.add_argument("--page-cache", type=Path, default=os.environ.get("DOCKET_BENCH_PAGE_CACHE") or None,
                        help="folder caching each file's page model (OCR once; speed figures then meaningless)")  # fmt: skip
    args = parser.parse_args(argv)
    out = args.out

    # Per-core figures: one OCR thread, so CPU time is work done and not onnxruntime's threads spinning.
    os.environ.setdefault("DOCKET_OCR_THREADS", "1")
    if args.summary:
        print(summary_markdown(out))
        return 0
    cache_counts = None
    if args.page_cache and not args.rescore:
        from bench.page_cache import install

        cache_counts = install(args.page_cache)
    started = time.perf_counter()
    if args.rescore:
        previous = json.loads((out / f"capture-{args.data}.json").read_text())
        name, extra = args.data, {k: previous[k] for k in ("dropped_unprinted", "skipped") if k in previous}
        report, scores = rescore(previous, args.threshold)
    else:
        name, cases, extra = _cases(args)
        report, scores = evaluate(cases, threshold=args.threshold, workflow_id=args.workflow, progress=not args.quiet)
    report |= {"data": name, "machine": machine(), "goals": GOALS, "elapsed_s": time.perf_counter() - started}
    report["documents_detail"] = [
        {"file": s.file, "kind": s.kind, "language": s.language, "failed": s.failed, "errors": s.errors,
         "seconds": round(s.seconds, 4), "cpu_seconds": round(s.cpu_seconds, 4), "pages": s.pages,
         "fields": {f: {"expected": o.expected, "got": o.got, "right": o.right, "confidence": o.confidence}
                    for f, o in s.fields.items()}}
        for s in scores
    ]  # fmt: skip
    report |= extra
    if cache_counts is not None:
        report["page_cache"] = dict(cache_counts)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"capture-{name}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    (out / f"capture-{name}-misses.md").write_text(misses_markdown(name, scores))
    if args.json:
        print(json.dumps({k: v for k, v in report.items() if k != "documents_detail"}, indent=2, default=str))
    else:
        print(format_table(name, report))
        if cache_counts is not None:
            print(f"page cache {args.page_cache}: {cache_counts['hits']} hits, {cache_counts['misses']} misses"
                  + (" (speed above is not reading speed)" if cache_counts["hits"] else ""))  # fmt: skip
        print(f"machine: {report['machine']}; report: {out / f'capture-{name}.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
