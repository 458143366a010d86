"""The catalog block."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from docket_core.catalog import Catalog, open_catalog

__all__ = ["DocketCatalog"]


class DocketCatalog(Block):
    """Docket's system of record: a SQLite file for one machine, PostgreSQL for several.

    Attributes:
        url: SQLAlchemy URL; secret because it may carry a password.
    """

    _block_type_name = "Docket Catalog"
    _block_type_slug = "docket-catalog"
    _description = "Docket's catalog database (SQLite for one machine, PostgreSQL for several)."
    _code_example = """
    from blocks import DocketCatalog

    catalog_block = DocketCatalog.load("BLOCK_NAME")
    catalog = catalog_block.get_catalog()
    """

    url: SecretStr = Field(
        description="SQLAlchemy URL, e.g. sqlite:////srv/docket/catalog.db or postgresql+psycopg://user:pw@host/db."
    )

    def get_catalog(self) -> Catalog:
        return open_catalog(self.url.get_secret_value())
