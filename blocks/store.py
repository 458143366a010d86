"""The object store block."""

from __future__ import annotations

from typing import Any

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from docket_core.store import Store

__all__ = ["DocketStore"]


class DocketStore(Block):
    """Where Docket keeps staged files, job outputs and exports: a folder or any fsspec URL (s3://...).

    Attributes:
        url: fsspec URL of the store root.
        key: access key id for object stores that need one.
        secret: secret access key for object stores that need one.
        endpoint_url: S3-compatible endpoint (MinIO, moto, Ceph), if not AWS.
        storage_options: further fsspec options.
    """

    _block_type_name = "Docket Store"
    _block_type_slug = "docket-store"
    _description = "Where Docket keeps staged files, job outputs and exports (a folder or an fsspec URL)."
    _code_example = """
    from blocks import DocketStore

    store_block = DocketStore.load("BLOCK_NAME")
    store = store_block.get_store()
    """

    url: str = Field(description="fsspec URL of the store root, e.g. /srv/docket/store or s3://bucket/docket.")
    key: SecretStr | None = Field(default=None, description="Access key id, for object stores that need one.")
    secret: SecretStr | None = Field(default=None, description="Secret access key, for object stores that need one.")
    endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint URL, when not AWS itself.")
    storage_options: dict[str, Any] = Field(default_factory=dict, description="Further fsspec storage options.")

    def options(self) -> dict[str, Any]:
        options = dict(self.storage_options)
        if self.key is not None:
            options["key"] = self.key.get_secret_value()
        if self.secret is not None:
            options["secret"] = self.secret.get_secret_value()
        if self.endpoint_url:
            options.setdefault("client_kwargs", {})["endpoint_url"] = self.endpoint_url
        return options

    def get_store(self) -> Store:
        return Store(self.url, **self.options())
