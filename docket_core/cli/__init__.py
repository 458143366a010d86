"""The `docket` command line."""

from __future__ import annotations

import os

import typer

__all__ = ["app", "main"]

app = typer.Typer(
    name="docket",
    help="Docket: stage documents and images into batches, run workflows over them (capture from invoices "
    "and receipts, OCR, your own ONNX models), and land the results as Parquet; review captured documents in "
    "queues with ordered extensions (in the browser at /review on `docket serve`), export them, and be told by "
    "signed webhooks; Rossum's and Roboflow's clients work against `docket serve`. Every long piece of work is "
    "a Prefect flow run you can watch in the Prefect UI (`docket server status`). Start with `docket demo`; "
    "`docket settings` lists every DOCKET_* setting.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


from docket_core.cli import demo, jobs, staging, workflows  # noqa: E402 - the sub-apps need `app` defined first

app.add_typer(staging.app, name="staging")
app.add_typer(jobs.app, name="jobs")
app.add_typer(workflows.app, name="workflows")
app.command("demo")(demo.demo)
from docket_core.cli import notifications, serve  # noqa: E402 - push: the outbox, `docket serve`, `docket receiver`
app.add_typer(notifications.app, name="notifications")
app.command("serve")(serve.serve)
app.command("receiver")(serve.receiver)
from docket_core.cli import documents, extensions, queues  # noqa: E402 - queues, documents, extensions (issue 5)
app.add_typer(queues.app, name="queues")
app.add_typer(documents.app, name="documents")
app.add_typer(extensions.app, name="extensions")
from docket_core.cli import settings  # noqa: E402
app.command("settings")(settings.settings_command)
from docket_core.cli import server  # noqa: E402 - the shared local Prefect server
app.add_typer(server.app, name="server")
from docket_core.cli import api_keys  # noqa: E402 - keys of the Roboflow-style batch API (issue 15)
app.add_typer(api_keys.app, name="api-keys")
from docket_core.cli import users  # noqa: E402 - people who log in to the APIs of `docket serve`
app.add_typer(users.app, name="users")


def main() -> None:
    # Quiet Prefect's per-run INFO lines in the terminal; the progress bar and summary say it better.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # The embedded server's telemetry service has nothing to report to and contends for its SQLite file.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    app()
