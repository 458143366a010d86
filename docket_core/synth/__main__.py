"""`python -m docket_core.synth FOLDER`: write a generated corpus with its truth.jsonl into FOLDER."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from docket_core.synth.corpus import write_corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docket_core.synth", description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--invoices", type=int, default=8, help="invoices per language (layouts cycle)")
    parser.add_argument("--receipts", type=int, default=2, help="receipts per language")
    parser.add_argument("--raster-every", type=int, default=2, help="every n-th document also as a scan or photo (0: none)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--languages", help="comma-separated subset of en,de,fr,nl,es,it")
    args = parser.parse_args(argv)
    languages = tuple(args.languages.split(",")) if args.languages else None
    files = write_corpus(args.folder, invoices_per_language=args.invoices, receipts_per_language=args.receipts,
                         raster_every=args.raster_every, seed=args.seed, languages=languages)  # fmt: skip
    counts = Counter(f.variant for f in files)
    print(f"wrote {len(files)} files to {args.folder} ({', '.join(f'{v} {n}' for v, n in sorted(counts.items()))}) "
          f"and {args.folder / 'truth.jsonl'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
