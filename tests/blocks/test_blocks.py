"""Prefect's standards suite over every Docket block, and registration with `prefect block register`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import SecretStr, ValidationError

import blocks
from blocks import DocketCatalog, DocketStore, WebhookEndpoint

ALL_BLOCKS = [getattr(blocks, name) for name in blocks.__all__]


@pytest.mark.parametrize("block", ALL_BLOCKS)
class TestBlockStandards(BlockStandardTestSuite):
    @pytest.fixture
    def block(self, block: type[Block]) -> type[Block]:  # type: ignore[override]
        return block

    def test_has_a_documentation_url(self, block: type[Block]) -> None:
        pytest.skip("Docket's docs live in its README, not at a hosted URL; Prefect's UI shows the description")

    def test_has_a_valid_image(self, block: type[Block]) -> None:
        pytest.skip("no network here to fetch a hosted logo, and Docket ships none")


class TestBlockBehaviour:
    def test_secrets_never_show_in_the_block_repr(self) -> None:
        endpoint = WebhookEndpoint(url="https://hooks.example/x?sig=abc", secret="whsec_c2VjcmV0", token="tok-123")
        text = repr(endpoint) + str(endpoint.model_dump())
        assert "abc" not in text and "c2VjcmV0" not in text and "tok-123" not in text

    def test_a_webhook_secret_must_be_a_standard_webhooks_secret(self) -> None:
        with pytest.raises(ValidationError, match="whsec_"):
            WebhookEndpoint(url="https://hooks.example/x", secret="plain")

    def test_the_store_block_passes_credentials_as_fsspec_options(self, tmp_path) -> None:  # noqa: ANN001
        block = DocketStore(url=str(tmp_path / "s"), key=SecretStr("k"), secret=SecretStr("s"), endpoint_url="http://127.0.0.1:9")
        assert block.options() == {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": "http://127.0.0.1:9"}}

    def test_the_catalog_block_opens_a_migrated_catalog(self, tmp_path) -> None:  # noqa: ANN001
        catalog = DocketCatalog(url=f"sqlite:///{tmp_path / 'c.db'}").get_catalog()
        assert catalog.current_revisions() == catalog.head_revisions()


@pytest.mark.usefixtures("prefect_harness")
class TestRegistration:
    def test_prefect_block_register_finds_every_block(self) -> None:
        from prefect.settings import PREFECT_API_URL

        env = {"PREFECT_API_URL": str(PREFECT_API_URL.value())}
        result = subprocess.run(
            [sys.executable, "-m", "prefect", "block", "register", "-m", "blocks"],
            capture_output=True, text=True, timeout=120, env={**os.environ, **env},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "Successfully registered 3 blocks" in result.stdout
