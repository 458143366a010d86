"""The server's tests use the queue fixtures: resources on both catalogs, an invoice queue, staged invoices."""

from tests.docket_core.queues.conftest import queue, resources, settings, staged_invoices  # noqa: F401
