"""`docket server status|start|stop`: the local Prefect server that commands and `docket serve` share."""

from __future__ import annotations

import os
import time

import typer

from docket_core.cli.output import JsonOption, emit, guarded, stdout
from docket_core.cli.prefect_server import ensure_server, read_state, server_is_alive, stop_server
from docket_core.cli.runner import runner_status
from docket_core.settings import get_settings

__all__ = ["app"]

app = typer.Typer(
    help="The local Prefect server Docket starts on first use (under DOCKET_HOME/prefect) and every command "
    "reuses, so commands do not wait for Prefect to boot and its UI shows every run. Not used when "
    "PREFECT_API_URL is set or DOCKET_PREFECT_SERVER=ephemeral.",
    no_args_is_help=True,
)


def _view(state, running: bool) -> dict:  # noqa: ANN001
    if state is None:
        return {"running": False, "api_url": None, "ui_url": None, "pid": None, "uptime_s": None}
    return {"running": running, "api_url": state.api_url, "ui_url": state.ui_url, "pid": state.pid,
            "uptime_s": round(time.time() - state.started_at, 1) if running else None}  # fmt: skip


@app.command("status")
@guarded
def status(as_json: bool = JsonOption) -> None:
    """Say whether the local Prefect server runs, where, and since when.

    Example: docket server status --json
    """
    settings = get_settings()
    state = read_state(settings)
    view = _view(state, state is not None and server_is_alive(state))
    view["runner"] = runner_status(settings.home) if view["running"] else None
    if os.environ.get("PREFECT_API_URL"):
        view["note"] = f"PREFECT_API_URL is set ({os.environ['PREFECT_API_URL']}): commands use that server, not this one"
    if as_json:
        emit(view)
    elif view["running"]:
        stdout.print(f"running: UI {view['ui_url']}  (API {view['api_url']}, pid {view['pid']}, up {view['uptime_s']:.0f} s)",
                     markup=False, highlight=False)  # fmt: skip
    else:
        stdout.print("not running (the next command that runs a flow starts it; or `docket server start`)", markup=False)
    if view["runner"] and not as_json:
        runner = view["runner"]
        stdout.print(f"warm runner: pid {runner['pid']}, {'ready' if runner['ready'] else 'starting'}, "
                     f"{runner['commands_served']} commands run", markup=False, highlight=False)  # fmt: skip
    if "note" in view and not as_json:
        stdout.print(view["note"], markup=False, highlight=False)


@app.command("start")
@guarded
def start(as_json: bool = JsonOption) -> None:
    """Start the local Prefect server now (or say where the running one is).

    Example: docket server start && open http://127.0.0.1:4200
    """
    state, started = ensure_server(get_settings())
    view = _view(state, True) | {"started": started}
    if as_json:
        emit(view)
    else:
        stdout.print(f"{'started' if started else 'already running'}: UI {state.ui_url}  (API {state.api_url}, pid {state.pid})",
                     markup=False, highlight=False)  # fmt: skip


@app.command("stop")
@guarded
def stop(as_json: bool = JsonOption) -> None:
    """Stop the local Prefect server (its runs stay in its database for next time).

    Example: docket server stop
    """
    state = stop_server(get_settings())
    if as_json:
        emit({"stopped": state is not None, "pid": state.pid if state else None})
    else:
        stdout.print(f"stopped (pid {state.pid})" if state else "not running", markup=False)
