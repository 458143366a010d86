"""Scale tests run on PostgreSQL, the catalog several machines share."""

from __future__ import annotations

from collections.abc import Iterator
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


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where traced steps and extensions record which process ran them (`DOCKET_TEST_TRACE`), set before
    any Dask worker starts so the workers inherit it."""
    folder = tmp_path_factory.mktemp("trace")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKET_TEST_TRACE", str(folder))
        yield folder
