"""`docket queues ...`: queues with a schema of fields, their YAML file, imports and exports.

The commands live by concept (queues and their file in `manage`, notification subscriptions in
`subscriptions`, imports and exports in `transfer`), all registered on the one `app`, in this order.
"""

from __future__ import annotations

from docket_core.cli.queues import manage, subscriptions, transfer  # noqa: F401 - registers the commands, in order
from docket_core.cli.queues.common import app, default_actor
from docket_core.cli.queues.transfer import print_import, run_import, stage_email

__all__ = ["app", "default_actor", "print_import", "run_import", "stage_email"]
