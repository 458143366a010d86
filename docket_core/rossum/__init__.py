"""Rossum compatibility in the domain: integer ids for queues, and Docket's state as Rossum's objects.

`ids` maps Docket's string queue ids to the stable integers Rossum's URLs need; `objects` renders
documents, queues, schemas, users and e-mails as the objects of Rossum's API reference, used both by
the hook payloads (`docket_core.extensions.payload`) and by the REST API (`docket_core.server.rossum`).
"""
