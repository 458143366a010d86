"""`docket api-keys ...`: keys of the Roboflow-style batch API (one per workspace name, shown once)."""

from __future__ import annotations

import re
from typing import Optional

import typer

from docket_core.auth import issue_token, list_tokens, revoke_token
from docket_core.cli.output import JsonOption, emit, fail, guarded, stderr, stdout, table
from docket_core.resources import Resources

app = typer.Typer(
    help="API keys for Roboflow's batch API on `docket serve` (`inference rf-cloud ...` with API_BASE_URL): "
    "create (shown once), list, revoke.",
    no_args_is_help=True,
)

_WORKSPACE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def _row(record: object) -> dict:
    r = record  # a TokenRecord
    return {"id": r.id, "prefix": r.prefix, "workspace": r.scope.get("workspace"), "label": r.label,  # type: ignore[attr-defined]
            "created_at": r.created_at, "last_used_at": r.last_used_at, "revoked_at": r.revoked_at}  # type: ignore[attr-defined]  # fmt: skip


@app.command("create")
@guarded
def create(
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace name the key belongs to (the client puts it in every path)."),
    label: Optional[str] = typer.Option(None, "--label", help="What the key is for (shown by `list`)."),
    as_json: bool = JsonOption,
) -> None:
    """Create a key; it is printed once (only its SHA-256 is kept).

    Example: docket api-keys create --workspace acme --label nightly-export
    """
    if not _WORKSPACE.match(workspace):
        fail(f"--workspace must match {_WORKSPACE.pattern}, got {workspace!r}")
    issued = issue_token(Resources.from_settings().catalog(), "api-key", scope={"workspace": workspace}, label=label)
    if as_json:
        emit({"api_key": issued.token, **_row(issued.record)})
        return
    stdout.print(issued.token, highlight=False, markup=False)
    stderr.print(f"API key {issued.record.prefix}... for workspace {workspace!r}: shown this once; keep it. "
                 "Use it as ROBOFLOW_API_KEY with API_BASE_URL=http://<host>:<port>.")  # fmt: skip


@app.command("list")
@guarded
def list_keys(
    include_revoked: bool = typer.Option(False, "--include-revoked", help="Also show revoked keys."),
    as_json: bool = JsonOption,
) -> None:
    """List keys by id, prefix and workspace (never the keys themselves)."""
    rows = [_row(r) for r in list_tokens(Resources.from_settings().catalog(), kind="api-key", include_revoked=include_revoked)]
    if as_json:
        emit(rows)
        return
    table("API keys", ["id", "prefix", "workspace", "label", "created", "last used", "revoked"],
          [[r["id"], r["prefix"], r["workspace"], r["label"], r["created_at"], r["last_used_at"], r["revoked_at"]] for r in rows])  # fmt: skip


@app.command("revoke")
@guarded
def revoke(
    key_id: Optional[int] = typer.Option(None, "--id", help="The key's id (`docket api-keys list`)."),
    prefix: Optional[str] = typer.Option(None, "--prefix", help="The key's shown prefix (dka_...)."),
    as_json: bool = JsonOption,
) -> None:
    """Revoke a key: it stops working at once."""
    if (key_id is None) == (prefix is None):
        fail("expected exactly one of --id or --prefix")
    catalog = Resources.from_settings().catalog()
    if key_id is not None and key_id not in {r.id for r in list_tokens(catalog, kind="api-key")}:
        fail(f"no live API key with id {key_id}; `docket api-keys list` shows them")
    if prefix is not None and not prefix.startswith("dka_"):
        fail(f"expected an API key prefix starting with dka_, got {prefix!r}")
    count = revoke_token(catalog, token_id=key_id, prefix=prefix)
    if as_json:
        emit({"revoked": count})
        return
    stdout.print(f"{count} API key(s) revoked")
