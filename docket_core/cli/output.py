"""How commands talk: JSON on stdout with `--json`, tables for people, errors on stderr, progress bars."""

from __future__ import annotations

import functools
import json
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from docket_core import progress as live
from docket_core.errors import DocketError, InputError, NotFoundError

__all__ = ["JsonOption", "emit", "emit_line", "fail", "guarded", "progress_bar", "stderr", "table"]

# What commands print is mostly outside text (names, URLs, reasons, error messages): neither console
# reads markup, highlights or emoji codes, so `[a-z0-9_-]` or `a[/]b.jpg` print as they are. Style,
# where wanted, is given as `rich.text.Text` with a style, never by markup inside a string.
stdout = Console(soft_wrap=True, markup=False, highlight=False, emoji=False)
stderr = Console(stderr=True, soft_wrap=True, markup=False, highlight=False, emoji=False)

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")

F = TypeVar("F", bound=Callable[..., Any])


def _default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")  # type: ignore[union-attr]
    raise TypeError(f"cannot serialise {type(value).__name__}")


def emit(obj: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(obj, default=_default, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def emit_line(obj: Any) -> None:
    """One JSON line (for JSONL streams)."""
    sys.stdout.write(json.dumps(obj, default=_default, ensure_ascii=False) + "\n")


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(title=Text(title), show_lines=False)
    for column in columns:
        t.add_column(column)
    for row in rows:
        t.add_row(*[Text("" if v is None else str(v)) for v in row])  # cells hold outside text: never markup
    stdout.print(t)


def fail(message: str, code: int = 2) -> None:
    stderr.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)
    raise typer.Exit(code)


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "input"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def guarded(fn: F) -> F:
    """Turn Docket's errors into one clear line on stderr and an exit code (2: bad input, 1: failure)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (InputError, NotFoundError) as exc:
            fail(str(exc), 2)
        except ValidationError as exc:
            fail(_validation_message(exc), 2)
        except DocketError as exc:
            fail(str(exc), 1)
        except KeyboardInterrupt:
            fail("interrupted; run the same command again to resume", 130)

    return wrapper  # type: ignore[return-value]


@contextmanager
def progress_bar(
    key: str,
    description: str,
    *,
    enabled: bool = True,
    total: int | None = None,
    poll: Callable[[], tuple[int, int | None]] | None = None,
    every: float = 1.0,
) -> Iterator[None]:
    """A rich progress bar on stderr (only on a terminal), fed by `docket_core.progress` events for `key`
    from this process, or with `poll` by asking every `every` seconds how far the work is (the catalog's
    counts: work on Dask or on other workers sends no events here)."""
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        disable=not (enabled and stderr.is_terminal),
        transient=False,
    )
    task_id = bar.add_task(description, total=total)
    if poll is None:
        with bar, live.watching(
            key,
            on_advance=lambda n: bar.advance(task_id, n),
            on_total=lambda t: bar.update(task_id, total=t, completed=0),
        ):
            yield
        return

    def update() -> None:
        try:
            done, known = poll()
        except DocketError:  # not registered yet: nothing to show
            return
        bar.update(task_id, completed=done, total=known if known is not None else total)

    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(every):
            update()

    watcher = threading.Thread(target=watch, name=f"docket-progress-{key}", daemon=True)
    with bar:
        if not bar.disable:
            watcher.start()
        try:
            yield
        finally:
            stop.set()
            if watcher.is_alive():
                watcher.join()
            if not bar.disable:
                update()
