"""One ASGI app for `docket serve`: the push receiver plus every door listed in `DOORS`.

A door is a function `mount(app, context)` that adds its routers (and, if it needs them, exception
handlers or static files) to the app. Doors are imported lazily by dotted path, so a door's optional
dependencies load only when it is served, and `docket serve --door ...` can choose among them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fastapi import FastAPI

from docket_core.errors import InputError
from docket_core.resources import Resources
from docket_core.server.receiver import EmitIngest, create_app
from docket_core.settings import DocketSettings

__all__ = ["DOORS", "Door", "ServerContext", "build_app"]


@dataclass(frozen=True)
class ServerContext:
    """What every door needs: where state lives, the settings, and how to announce an accepted push."""

    resources: Resources
    settings: DocketSettings
    emit: EmitIngest


Door = Callable[[FastAPI, ServerContext], None]

DOORS: dict[str, str] = {
    # name -> "module:function"; `receiver` is the base app itself and always served.
    "roboflow": "docket_core.server.roboflow:mount",
    "rossum": "docket_core.server.rossum:mount",
    "review": "docket_core.server.review:mount",
}
"""The doors `docket serve` mounts beside the receiver, by name (all of them unless told otherwise)."""


def _door(name: str) -> Door:
    if name not in DOORS:
        raise InputError(f"expected a door among {', '.join(sorted(DOORS)) or '(none)'}, got {name!r}")
    module, _, attr = DOORS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def build_app(context: ServerContext, *, doors: Sequence[str] | None = None) -> FastAPI:
    """The receiver app with the chosen doors mounted on it (every door in `DOORS` by default)."""
    from docket_core.settings import get_settings

    app = create_app(resources=context.resources, settings=get_settings(), docket_settings=context.settings,
                     emit=context.emit)  # fmt: skip
    app.title = "Docket"
    for name in DOORS if doors is None else doors:
        _door(name)(app, context)
    return app
