"""Docket's Prefect blocks: where the store and catalog are, and where notifications go.

Register them with `prefect block register -m blocks`.
"""

from blocks.catalog import DocketCatalog
from blocks.store import DocketStore
from blocks.webhook import WebhookEndpoint

__all__ = ["DocketCatalog", "DocketStore", "WebhookEndpoint"]
