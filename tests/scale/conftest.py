"""Scale tests run on PostgreSQL, the catalog several machines share."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def pg_env(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Docket's settings pointed at a fresh PostgreSQL schema and a store folder for one test."""
    home = tmp_path / "home"
    monkeypatch.setenv("DOCKET_HOME", str(home))
    monkeypatch.setenv("DOCKET_CATALOG_URL", postgres_url)
    monkeypatch.setenv("DOCKET_STORE_URL", str(home / "store"))
    return home
