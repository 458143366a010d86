from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from docket_core.settings import MiB, DocketSettings


class TestSettings:
    def test_defaults_put_the_store_and_sqlite_catalog_under_docket_home(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DOCKET_HOME", str(tmp_path / "h"))
        settings = DocketSettings()
        assert settings.resolved_store_url == str(tmp_path / "h" / "store")
        assert settings.resolved_catalog_url == f"sqlite:///{tmp_path / 'h' / 'catalog.db'}"
        assert settings.max_image_bytes == 20 * MiB and settings.shard_size == 500

    def test_urls_and_limits_come_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DOCKET_CATALOG_URL", "postgresql+psycopg://u:p@db/docket")
        monkeypatch.setenv("DOCKET_STORE_URL", "s3://bucket/docket")
        monkeypatch.setenv("DOCKET_ALLOWED_URL_HOSTS", "Files.Example.com, cdn.example.com")
        monkeypatch.setenv("DOCKET_SHARD_SIZE", "100")
        settings = DocketSettings()
        assert settings.resolved_catalog_url == "postgresql+psycopg://u:p@db/docket"
        assert settings.resolved_store_url == "s3://bucket/docket"
        assert settings.allowed_url_hosts == ["files.example.com", "cdn.example.com"]
        assert settings.shard_size == 100

    def test_out_of_range_values_are_refused_naming_the_setting(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DOCKET_SHARD_SIZE", "0")
        with pytest.raises(ValidationError, match="shard_size"):
            DocketSettings()
