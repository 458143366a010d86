"""The `docket` command line.

Each sub-command's module is imported only when that sub-command runs (or when help lists them all):
`docket staging list-batches` loads the staging commands and the catalog, not the queues, the
server, the demo or the Argon2 hasher of `docket users`. See `_LAZY` for the table of commands.
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

__all__ = ["app", "main"]

# name -> (module, attribute, kind): a "group" is a Typer sub-app, a "command" a function. The order
# is the order `docket --help` lists them in (commands first, then groups, as Typer orders them).
_LAZY: dict[str, tuple[str, str, str]] = {
    "demo": ("docket_core.cli.demo", "demo", "command"),
    "serve": ("docket_core.cli.serve", "serve", "command"),  # push receiver, Rossum's and Roboflow's APIs
    "receiver": ("docket_core.cli.serve", "receiver", "command"),  # only the push receiver
    "settings": ("docket_core.cli.settings", "settings_command", "command"),
    "staging": ("docket_core.cli.staging", "app", "group"),
    "jobs": ("docket_core.cli.jobs", "app", "group"),
    "workflows": ("docket_core.cli.workflows", "app", "group"),
    "notifications": ("docket_core.cli.notifications", "app", "group"),  # push: the outbox
    "queues": ("docket_core.cli.queues", "app", "group"),  # queues, documents, extensions (issue 5)
    "documents": ("docket_core.cli.documents", "app", "group"),
    "extensions": ("docket_core.cli.extensions", "app", "group"),
    "server": ("docket_core.cli.server", "app", "group"),  # the shared local Prefect server
    "api-keys": ("docket_core.cli.api_keys", "app", "group"),  # keys of the Roboflow-style batch API (issue 15)
    "users": ("docket_core.cli.users", "app", "group"),  # people who log in to the APIs of `docket serve`
}


def _load(name: str) -> Any:
    import typer.main

    module, attribute, kind = _LAZY[name]
    target = getattr(importlib.import_module(module), attribute)
    if kind == "group":
        group = typer.main.get_group(target)
        group.name = name
        return group
    one = typer.Typer(add_completion=False)
    one.command(name)(target)
    return typer.main.get_command(one)


class _LazyGroup(TyperGroup):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*_LAZY, *(n for n in self.commands if n not in _LAZY)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if self.commands.get(cmd_name) is None and cmd_name in _LAZY:
            self.commands[cmd_name] = _load(cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        for name in _LAZY:  # a typo is told the names it was near ("Did you mean ..."): keys only, no imports
            self.commands.setdefault(name, None)  # type: ignore[arg-type]
        try:
            return super().resolve_command(ctx, args)
        finally:
            for name in [n for n, c in self.commands.items() if c is None]:
                del self.commands[name]


app = typer.Typer(
    name="docket",
    help="Docket: stage documents and images into batches, run workflows over them (capture from invoices "
    "and receipts, OCR, your own ONNX models), and land the results as Parquet; review captured documents in "
    "queues with ordered extensions (in the browser at /review on `docket serve`), export them, and be told by "
    "signed webhooks; Rossum's and Roboflow's clients work against `docket serve`. Every long piece of work is "
    "a Prefect flow run you can watch in the Prefect UI (`docket server status`). Start with `docket demo`; "
    "`docket settings` lists every DOCKET_* setting.",
    cls=_LazyGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """The group itself does nothing; its sub-commands do (the callback makes Typer build a group)."""


_exit_code = 1  # until main() knows better: an uncaught exception exits with 1, as Python would


def _exit_now() -> None:
    """Last of the exit handlers (registered first): skip the interpreter's teardown.

    By now every other atexit handler has run: Prefect's log and event workers have been drained,
    its worker threads joined, and anything the run records is with the server. What is left is
    freeing the thousands of modules and objects a Prefect import brings, which cost 0.5-0.7 CPU
    seconds a command and changed nothing a user can see.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(_exit_code)


def main() -> None:
    global _exit_code
    # Quiet Prefect's per-run INFO lines in the terminal; the progress bar and summary say it better.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # The embedded server's telemetry service has nothing to report to and contends for its SQLite file.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from docket_core.cli import runner

    runner.remember_fingerprint()
    code = runner.run_in_runner(sys.argv[1:])  # a warm runner of this environment runs it, if there is one
    if code is not None:
        sys.stdout.flush()
        os._exit(code)
    if os.environ.get("DOCKET_CLI_FULL_EXIT", "").lower() not in ("1", "true", "yes"):
        atexit.register(_exit_now)  # before Prefect registers its own handlers, so it runs after them
    try:
        app()
    except SystemExit as exit:
        code = exit.code
        _exit_code = code if isinstance(code, int) else (0 if code is None else 1)  # Python prints a message
        raise
    except KeyboardInterrupt:
        _exit_code = 130
        raise
