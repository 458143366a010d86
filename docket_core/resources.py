"""Where Docket's state lives for one run: the store and the catalog, as a small picklable value.

Flows resolve it from blocks (or settings) and hand it to tasks; tasks open the catalog and store
through it. Engines and filesystems are cached per process, so a thousand tasks share one pool.
"""

from __future__ import annotations

import threading
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from docket_core.catalog import Catalog, open_catalog
from docket_core.settings import DocketSettings, get_settings
from docket_core.store import Store

__all__ = ["Resources"]

_stores: dict[tuple[str, str], Store] = {}
_stores_lock = threading.Lock()


class Resources(BaseModel):
    """The store URL (with fsspec options) and the catalog URL (secret: it may hold a password)."""

    store_url: str = Field(description="fsspec URL of the object store.")
    catalog_url: SecretStr = Field(description="SQLAlchemy URL of the catalog.")
    storage_options: dict[str, Any] = Field(default_factory=dict, description="fsspec storage options.")

    @classmethod
    def from_settings(cls, settings: DocketSettings | None = None) -> "Resources":
        settings = settings or get_settings()
        return cls(store_url=settings.resolved_store_url, catalog_url=SecretStr(settings.resolved_catalog_url))

    def catalog(self) -> Catalog:
        return open_catalog(self.catalog_url.get_secret_value())

    def store(self) -> Store:
        key = (self.store_url, repr(sorted(self.storage_options.items())))
        with _stores_lock:
            store = _stores.get(key)
            if store is None:
                store = _stores[key] = Store(self.store_url, **self.storage_options)
            return store
