"""The review pages: reviewers work through a queue beside each document, in the browser.

Server-rendered HTML (Jinja2, autoescaped) with one small plain script; every asset is served from
this package, nothing from a CDN. Mounted by `docket serve` under `/review` (`docket_core.server.app`).
See docs/review.md.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

__all__ = ["STATIC", "TEMPLATES", "mount"]

STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"


def mount(app: FastAPI, context) -> None:  # noqa: ANN001 - ServerContext (imported late: no cycle)
    from docket_core.server.review.actions import build_actions
    from docket_core.server.review.pages import build_pages

    app.include_router(build_pages(context))
    app.include_router(build_actions(context))
    app.mount("/review/static", StaticFiles(directory=STATIC), name="review-static")
