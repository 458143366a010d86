"""`docket settings`: every `DOCKET_*` knob with the value this process would use, and what it does."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from docket_core.cli.output import JsonOption, emit, guarded, stdout
from docket_core.redact import redact_config_url
from docket_core.settings import DocketSettings, get_settings

__all__ = ["settings_command", "settings_rows"]

_DERIVED = {"store_url": "resolved_store_url", "catalog_url": "resolved_catalog_url"}


def _shown(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "<set, hidden>"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value) if value is not None and not isinstance(value, (int, float, bool)) else value


def settings_rows(settings: DocketSettings) -> list[dict[str, Any]]:
    """One row per knob: its variable, the value in effect (secrets hidden), whether it is the default."""
    rows = []
    for name, field in sorted(DocketSettings.model_fields.items()):
        value = getattr(settings, name)
        default = field.get_default(call_default_factory=True)
        if name in _DERIVED and value is None:
            value = getattr(settings, _DERIVED[name])
        elif "secret" in name and value is None:
            value = f"<generated in {settings.home / 'secrets' / name.replace('_', '-')}>"
        if name == "catalog_url":
            value = _without_password(value)
        if name.endswith("_url") and isinstance(value, str):
            value = redact_config_url(value)  # a userinfo password, password=/token=/sig= values
        rows.append({
            "variable": f"DOCKET_{name.upper()}",
            "value": _shown(value),
            "default": name not in settings.model_fields_set,
            "description": field.description or "",
            "default_value": _shown(default) if not isinstance(default, SecretStr) else None,
        })  # fmt: skip
    return rows


def _without_password(url: str) -> str:
    import sqlalchemy as sa

    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<set, not a database URL>"


@guarded
def settings_command(as_json: bool = JsonOption) -> None:
    """Every DOCKET_* setting: the value in effect here (from the environment, a .env file, or the default), and what it does.

    Secrets are never printed. Set any of them as an environment variable, e.g. DOCKET_SHARD_SIZE=200.
    """
    rows = settings_rows(get_settings())
    if as_json:
        emit(rows)
        return
    for r in rows:
        value = "" if r["value"] is None else r["value"]
        stdout.print(f"{r['variable']}={value}{'' if r['default'] else '  (set)'}", highlight=False)
        stdout.print(f"    {r['description']}", highlight=False, soft_wrap=True)
    stdout.print("Set them as environment variables (or in a .env file in the working folder).")
