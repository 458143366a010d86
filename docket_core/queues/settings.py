"""The knobs of queues and extensions: `QueueSettings`, part of `DocketSettings` (defined in
`docket_core.settings_queues`, re-exported here where the queue code looks)."""

from docket_core.settings_queues import QueueSettings, get_queue_settings

__all__ = ["QueueSettings", "get_queue_settings"]
