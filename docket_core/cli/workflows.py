"""`docket workflows ...`: which workflows there are and what their steps are."""

from __future__ import annotations

import typer

from docket_core.cli.output import JsonOption, emit, guarded, stdout
from docket_core.settings import get_settings

app = typer.Typer(
    help="List workflows: built in, from YAML files (DOCKET_WORKFLOW_PATHS) and Python modules (DOCKET_WORKFLOW_MODULES).",
    no_args_is_help=True,
)


@app.command("list")
@guarded
def list_workflows(as_json: bool = JsonOption) -> None:
    """Every workflow with its media, steps in levels, and captured fields."""
    from docket_core.workflows.registry import load_workflows

    settings = get_settings()
    described = [w.describe() for w in load_workflows(settings.workflow_paths, settings.workflow_modules).values()]
    if as_json:
        emit(described)
        return
    for w in described:
        stdout.print(f"{w['workflow_id']} ({', '.join(w['media'])}; {w['source']}): {w['description']}")
        for n, level in enumerate(w["levels"], start=1):
            stdout.print(f"  level {n}: {', '.join(level)}")
        stdout.print(f"  fields: {', '.join(w['fields'])}")
