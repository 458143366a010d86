"""Alembic environment: runs on the connection Docket hands over (see `Catalog.migrate`)."""

from alembic import context

from docket_core.catalog.schema import metadata
from docket_core.catalog import schema_queues  # noqa: F401 - registers the queue tables on `metadata`
from docket_core.catalog import schema_notifications  # noqa: F401 - registers the outbox tables on `metadata`

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through docket_core.catalog.Catalog.migrate(), which supplies the connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
