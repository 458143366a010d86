"""Wall time of the README tour's commands, each a fresh `docket` process, with the shared local Prefect server.

    .venv/bin/python bench/cli.py [--rounds 2] [--photos 3] [--runner auto|off]

A fresh DOCKET_HOME (SQLite catalog, local store, and the local Prefect server under <home>/prefect),
a folder of `--photos` small JPEGs, then the tour in order (README "A tour": stage the photos, list and
show the batch, run the image-metadata job, show it, export its output batch), `--rounds` times. Round
1 includes starting the background Prefect server (the first command that runs a flow starts it);
later rounds attach to it, with new batch and job ids so every command does its whole work again.
`--runner auto` (the default) lets commands after the first run in the warm runner that command starts
(docket_core/cli/runner.py); `--runner off` makes every command import and run in its own process. The
goal (issue 17): a command staging three files answers in at most 2 s after the first one. The server
is stopped at the end (`docket server stop`). Figures go to stdout and bench/out/cli.json, with the core
count and the 1-minute load average before each command; the exit status is 0 whether or not the goal
is met.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "cli.json"  # cli-off.json with --runner off
STAGE_GOAL_S = 2.0  # staging three files, after the first command


def _env(home: Path, runner: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKET_", "PREFECT_"))}
    env.update({"DOCKET_HOME": str(home), "PYTHONPATH": str(ROOT), "DO_NOT_TRACK": "1", "DOCKET_PREFECT_RUNNER": runner,
                "PREFECT_HOME": str(home / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_LOGGING_LEVEL": "WARNING"})  # fmt: skip
    return env


def _photos(folder: Path, count: int) -> None:
    sys.path.insert(0, str(ROOT))
    from docket_core.samples import write_sample_images

    write_sample_images(folder, count=count)


def _tour(photos: Path, results: Path, n: int) -> list[tuple[str, list[str]]]:
    batch, job = f"photos-{n}", f"photos-meta-{n}"
    return [
        ("stage 3 photos", ["staging", "create-batch-of-images", "--images-dir", str(photos), "--batch-id", batch]),
        ("list batches", ["staging", "list-batches"]),
        ("show batch", ["staging", "show-batch-details", "--batch-id", batch, "--json"]),
        ("list workflows", ["workflows", "list"]),
        ("run a job", ["jobs", "process-images-with-workflow", "--workflow-id", "image-metadata", "--batch-id", batch,
                       "--job-id", job]),  # fmt: skip
        ("show job", ["jobs", "show-job-details", "--job-id", job, "--json"]),
        ("export results", ["staging", "export-batch", "--batch-id", f"{job}-out", "--target-dir", str(results / job)]),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="times the tour runs (default 2: first and later)")
    parser.add_argument("--photos", type=int, default=3, help="photos staged (default 3)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds one command may take")
    parser.add_argument("--runner", choices=("auto", "off"), default="auto",
                        help="auto: later commands run in the warm runner; off: each in its own process")  # fmt: skip
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="docket-bench-cli-"))
    home, photos = scratch / "home", scratch / "photos"
    _photos(photos, args.photos)
    env = _env(home, args.runner)
    docket = [sys.executable, "-m", "docket_core.cli"]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{cores} cores, load average {os.getloadavg()[0]:.1f}; runner {args.runner}; home {home}", flush=True)
    rows: list[dict[str, object]] = []
    try:
        for n in range(1, args.rounds + 1):
            for label, command in _tour(photos, scratch / "results", n):
                load = os.getloadavg()[0]
                started = time.perf_counter()
                done = subprocess.run([*docket, *command], env=env, capture_output=True, text=True, timeout=args.timeout)
                seconds = time.perf_counter() - started
                if done.returncode != 0:
                    raise SystemExit(f"{label} failed ({done.returncode}): {done.stderr[-2000:]}")
                rows.append({"round": n, "command": label, "seconds": round(seconds, 2), "load": round(load, 1)})
                print(f"  round {n}: {label}: {seconds:.2f} s (load {load:.1f})", flush=True)
    finally:
        subprocess.run([*docket, "server", "stop"], env=env, capture_output=True, text=True, timeout=120)
        shutil.rmtree(scratch, ignore_errors=True)

    base = [sys.executable, "-c", "import docket_core.cli"]
    started = time.perf_counter()
    subprocess.run(base, env=env, check=True, capture_output=True, timeout=args.timeout)
    import_s = time.perf_counter() - started

    print()
    labels = list(dict.fromkeys(str(r["command"]) for r in rows))
    head = ["command", *(f"round {n} s (load)" for n in range(1, args.rounds + 1))]
    lines = [[label, *(f"{r['seconds']:.2f} ({r['load']:.1f})" for r in rows if r["command"] == label)] for label in labels]
    totals = ["whole tour", *(f"{sum(float(r['seconds']) for r in rows if r['round'] == n):.2f}" for n in range(1, args.rounds + 1))]  # type: ignore[arg-type]
    widths = [max(len(x) for x in col) for col in zip(head, *lines, totals)]
    for line in [head, ["-" * w for w in widths], *lines, totals]:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)))
    later = [float(r["seconds"]) for r in rows if r["round"] > 1 and r["command"] == "stage 3 photos"]  # type: ignore[arg-type]
    met = bool(later) and max(later) <= STAGE_GOAL_S
    print(f"\nstaging {args.photos} photos after the first round: {', '.join(f'{s:.2f}' for s in later) or 'not run'} s "
          f"(goal <= {STAGE_GOAL_S} s: {'met' if met else 'NOT met'}); `import docket_core.cli` alone: {import_s:.2f} s")  # fmt: skip
    out = OUT if args.runner == "auto" else OUT.with_name("cli-off.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cores": cores, "runner": args.runner, "python": platform.python_version(), "platform": platform.platform(),
                               "import_seconds": round(import_s, 2), "stage_goal_s": STAGE_GOAL_S, "stage_goal_met": met,
                               "rows": rows}, indent=2) + "\n")  # fmt: skip
    print(f"written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
