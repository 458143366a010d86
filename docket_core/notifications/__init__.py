"""Notifications: an outbox written with the change it reports, signed webhook delivery with retries.

- `outbox.enqueue(conn, endpoint=..., type=..., resource_key=..., payload=...)` inside a transaction;
- `payloads` builds the bodies (ingest status, files status, job status, document status/exported);
- `subscriptions` holds the staging and job hooks that call them;
- `delivery.deliver_batch` sends what is due (the `deliver_notifications` flow calls it);
- `queries` lists, shows, replays and re-enables.
"""

from docket_core.notifications.outbox import Outgoing, check_endpoint_url, endpoint_key, enqueue, enqueue_many

__all__ = ["Outgoing", "check_endpoint_url", "endpoint_key", "enqueue", "enqueue_many"]
