"""Opening the catalog: one engine per URL per process, SQLite tuned for concurrent writers, migrations."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

__all__ = ["Catalog", "open_catalog", "utcnow"]

_MIGRATIONS = Path(__file__).parent / "migrations"
_lock = threading.Lock()
_open: dict[str, "Catalog"] = {}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


class Catalog:
    """A handle on the catalog database: `begin()` for a transaction, `connect()` for reads."""

    def __init__(self, url: str) -> None:
        self.url = sa.make_url(url)
        self.engine = self._create_engine(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @staticmethod
    def _create_engine(url: sa.URL) -> sa.Engine:
        if url.get_backend_name() != "sqlite":
            return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"timeout": 60, "check_same_thread": False}, pool_size=20, max_overflow=20
        )

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # noqa: ANN001
            # Let SQLAlchemy own transactions, so `begin` below can take the write lock up front:
            # a deferred transaction that later upgrades to a writer fails with SQLITE_BUSY at once,
            # whatever the busy timeout.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn):  # noqa: ANN001
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write", True) else "BEGIN")

        return engine

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A write transaction, committed on success and rolled back on error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only connection (on SQLite it does not take the write lock)."""
        with self.engine.connect() as conn:
            conn.info["write"] = False
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.info["write"] = True

    def current_revisions(self) -> frozenset[str]:
        with self.engine.connect() as conn:
            return frozenset(MigrationContext.configure(conn).get_current_heads())

    @staticmethod
    def head_revisions() -> frozenset[str]:
        """The newest revision of each migration branch (features may add their tables on a branch)."""
        heads = frozenset(ScriptDirectory.from_config(_alembic_config()).get_heads())
        assert heads, "the migrations folder has no head revision"
        return heads

    def migrate(self) -> None:
        """Bring the schema to the newest migrations (a no-op when it is there already)."""
        if self.current_revisions() == self.head_revisions():
            return
        cfg = _alembic_config()
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                # Two processes starting at once must not both run the migrations.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7260419001)")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")

    def dispose(self) -> None:
        self.engine.dispose()


def open_catalog(url: str, *, migrate: bool = True) -> Catalog:
    """The process-wide catalog for `url`, migrated to the newest schema on first use."""
    with _lock:
        catalog = _open.get(url)
        if catalog is None:
            catalog = Catalog(url)
            if migrate:
                catalog.migrate()
            _open[url] = catalog
        return catalog


def forget_catalogs() -> None:
    """Dispose every open engine (tests, and processes that fork)."""
    with _lock:
        for catalog in _open.values():
            catalog.dispose()
        _open.clear()
