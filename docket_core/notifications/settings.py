"""The knobs of notifications and the push receiver: `NotifySettings`, part of `DocketSettings`
(defined in `docket_core.settings_notify`, re-exported here where the notification code looks)."""

from docket_core.settings_notify import DEFAULT_RETRY_SCHEDULE, NotifySettings, get_notify_settings, stored_secret

__all__ = ["DEFAULT_RETRY_SCHEDULE", "NotifySettings", "get_notify_settings", "stored_secret"]
