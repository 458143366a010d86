"""The catalog: Docket's system of record (batches, ingests, shards, files, jobs, ...)."""

from docket_core.catalog.db import Catalog, forget_catalogs, open_catalog, utcnow
from docket_core.catalog import schema_queues  # noqa: F401,E402 - the queue tables join `metadata`
from docket_core.catalog import schema_notifications  # noqa: F401,E402 - the outbox tables join `metadata`
from docket_core.catalog import schema_auth  # noqa: F401,E402 - users and tokens join `metadata`
from docket_core.catalog import schema_roboflow  # noqa: F401,E402 - the Roboflow-style API's tables join `metadata`
from docket_core.catalog import schema_rossum  # noqa: F401,E402 - Rossum queue ids join `metadata`
from docket_core.catalog import schema_review  # noqa: F401,E402 - review locks join `metadata`

__all__ = ["Catalog", "forget_catalogs", "open_catalog", "utcnow"]
