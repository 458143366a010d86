"""Shared fixtures: an isolated Prefect home, one Prefect test harness per session, and catalogs on
SQLite (always) and the local PostgreSQL (skipped with the reason when it is not reachable, except
under CI, where its absence fails the run)."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

# Before anything imports Prefect: no network, and nothing written to the user's ~/.prefect.
_PREFECT_HOME = tempfile.mkdtemp(prefix="docket-tests-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("PREFECT_API_URL", None)
for _key in [k for k in os.environ if k.startswith("DOCKET_") and k not in ("DOCKET_SAMPLE_DATA", "DOCKET_TEST_POSTGRES_URL")]:
    del os.environ[_key]
# In-process commands use the session's Prefect harness, and subprocesses that are given no
# PREFECT_API_URL their own ephemeral API: no test leaves a background Prefect server behind
# (tests/cli/test_prefect_server.py turns the shared local server on for its own processes).
os.environ["DOCKET_PREFECT_SERVER"] = "ephemeral"
# Flows run their tasks on threads unless a test asks for worker processes (tests/scale): the default
# `auto` would spawn a pool at each flow run on a machine with more cores, slower and less predictable.
os.environ["DOCKET_TASK_RUNNER"] = "threads"

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

PG_ADMIN_URL = os.environ.get("DOCKET_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_problem() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"; the reason is shown
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}: {exc}".splitlines()[0]


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    problem = _postgres_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem} (CI must run the PostgreSQL tests)")
        pytest.skip(problem)
    return PG_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A catalog URL on the local PostgreSQL, in a schema of its own that is dropped afterwards."""
    schema = f"docket_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_admin_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = sa.make_url(postgres_admin_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        from docket_core.catalog import forget_catalogs

        forget_catalogs()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Every catalog test runs twice: on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.db'}"
        from docket_core.catalog import forget_catalogs

        forget_catalogs()
    else:
        yield request.getfixturevalue("postgres_url")


@pytest.fixture
def catalog(catalog_url: str):  # noqa: ANN201
    from docket_core.catalog import open_catalog

    return open_catalog(catalog_url)


@pytest.fixture
def store(tmp_path: Path):  # noqa: ANN201
    from docket_core.store import Store

    return Store(str(tmp_path / "store"))


@pytest.fixture
def memory_store():  # noqa: ANN201
    from docket_core.store import Store

    return Store(f"memory://docket-test-{uuid.uuid4().hex}")


@pytest.fixture
def docket_env(tmp_path: Path, catalog_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point Docket's settings at a fresh home, store and catalog for one test."""
    home = tmp_path / "home"
    monkeypatch.setenv("DOCKET_HOME", str(home))
    monkeypatch.setenv("DOCKET_CATALOG_URL", catalog_url)
    monkeypatch.setenv("DOCKET_STORE_URL", str(home / "store"))
    return home


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server for the whole session, started only by tests that run flows."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
