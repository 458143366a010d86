"""The webhook endpoint block: where a notification goes and how it is signed."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr, field_validator

__all__ = ["WebhookEndpoint"]


class WebhookEndpoint(Block):
    """A subscriber's HTTPS endpoint for Docket notifications, signed with Standard Webhooks.

    Attributes:
        url: the endpoint; secret because signed or tokenised URLs must not leak into logs.
        secret: the `whsec_...` signing secret shared with the subscriber.
        token: optional bearer token sent as `Authorization: Bearer <token>`.
        timeout: seconds to wait for the endpoint to answer.
    """

    _block_type_name = "Docket Webhook Endpoint"
    _block_type_slug = "docket-webhook-endpoint"
    _description = "A subscriber endpoint for Docket notifications, signed with Standard Webhooks."
    _code_example = """
    from blocks import WebhookEndpoint

    endpoint = WebhookEndpoint.load("BLOCK_NAME")
    """

    url: SecretStr = Field(description="Endpoint URL (http or https).")
    secret: SecretStr = Field(description="Standard Webhooks signing secret, starting with whsec_.")
    token: SecretStr | None = Field(default=None, description="Bearer token sent in the Authorization header.")
    timeout: float = Field(default=10.0, gt=0, le=300, description="Seconds to wait for the endpoint to answer.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().lower().startswith(("http://", "https://")):
            raise ValueError("webhook url must start with http:// or https://")
        return value

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("whsec_"):
            raise ValueError("webhook secret must start with whsec_ (Standard Webhooks format)")
        return value
