from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from docket_core.catalog import Catalog, open_catalog, utcnow
from docket_core.catalog.schema import batches, metadata


class TestMigrations:
    def test_a_new_catalog_is_migrated_to_the_newest_revision(self, catalog: Catalog) -> None:
        assert catalog.current_revisions() == Catalog.head_revisions()

    def test_the_migrations_build_exactly_the_tables_the_code_uses(self, catalog: Catalog) -> None:
        with catalog.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []

    def test_migrating_twice_changes_nothing(self, catalog_url: str) -> None:
        first = Catalog(catalog_url)
        first.migrate()
        first.migrate()
        assert first.current_revisions() == Catalog.head_revisions()
        first.dispose()


class TestTransactions:
    def test_a_failed_transaction_leaves_nothing_behind(self, catalog: Catalog) -> None:
        with pytest.raises(RuntimeError, match="boom"):
            with catalog.begin() as conn:
                conn.execute(sa.insert(batches).values(batch_id="b1", media_kind="images", created_at=utcnow()))
                raise RuntimeError("boom")
        with catalog.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(batches)).scalar() == 0

    def test_timestamps_come_back_timezone_aware_in_utc(self, catalog: Catalog) -> None:
        when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        with catalog.begin() as conn:
            conn.execute(sa.insert(batches).values(batch_id="b1", media_kind="images", created_at=when))
        with catalog.read() as conn:
            got = conn.execute(sa.select(batches.c.created_at)).scalar_one()
        assert got == when and got.tzinfo is not None

    def test_naive_timestamps_are_refused(self, catalog: Catalog) -> None:
        with pytest.raises(sa.exc.StatementError, match="timezone-aware"):
            with catalog.begin() as conn:
                conn.execute(sa.insert(batches).values(batch_id="b1", media_kind="images", created_at=datetime(2026, 1, 1)))

    def test_concurrent_writers_wait_for_each_other_instead_of_failing(self, catalog: Catalog) -> None:
        errors: list[BaseException] = []

        def write(n: int) -> None:
            try:
                for i in range(20):
                    with catalog.begin() as conn:
                        conn.execute(
                            sa.insert(batches).values(batch_id=f"b{n}-{i}", media_kind="images", created_at=utcnow())
                        )
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with catalog.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(batches)).scalar() == 120


class TestOpenCatalog:
    def test_the_same_url_gives_the_same_catalog_in_a_process(self, catalog_url: str) -> None:
        assert open_catalog(catalog_url) is open_catalog(catalog_url)

    def test_sqlite_runs_in_wal_mode(self, tmp_path) -> None:  # noqa: ANN001
        catalog = Catalog(f"sqlite:///{tmp_path / 'c.db'}")
        with catalog.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        catalog.dispose()
