"""The catalog: Docket's system of record (batches, ingests, shards, files, jobs, ...)."""

from docket_core.catalog.db import Catalog, forget_catalogs, open_catalog, utcnow

__all__ = ["Catalog", "forget_catalogs", "open_catalog", "utcnow"]
