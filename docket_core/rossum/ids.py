"""The stable integer id of each queue in Rossum's URLs (`/api/v1/queues/<n>`, `/api/v1/schemas/<n>`).

A queue gets its number when it is saved (or, for a queue older than this table, the first time it is
looked up), counting up from 1; the number is never changed nor reused. A queue's schema shares it.
"""

from __future__ import annotations

import sqlalchemy as sa

from docket_core.catalog import Catalog, utcnow
from docket_core.catalog.schema_queues import queues
from docket_core.catalog.schema_rossum import rossum_queue_ids
from docket_core.errors import NotFoundError

__all__ = ["ensure_queue_number", "queue_for_number", "queue_numbers"]


def ensure_queue_number(conn: sa.Connection, queue_id: str) -> int:
    """The queue's number, given now if it had none (in the caller's transaction)."""
    found = conn.execute(sa.select(rossum_queue_ids.c.rossum_id).where(rossum_queue_ids.c.queue_id == queue_id)).scalar()
    if found is not None:
        return int(found)
    inserted = conn.execute(sa.insert(rossum_queue_ids).values(queue_id=queue_id, created_at=utcnow()))
    return int(inserted.inserted_primary_key[0])


def queue_numbers(catalog: Catalog) -> dict[str, int]:
    """Every existing queue's number, by queue id (queues without one get it now)."""
    with catalog.read() as conn:
        known = dict(conn.execute(sa.select(rossum_queue_ids.c.queue_id, rossum_queue_ids.c.rossum_id)).all())
        names = list(conn.execute(sa.select(queues.c.queue_id).order_by(queues.c.created_at, queues.c.queue_id)).scalars())
    missing = [q for q in names if q not in known]
    if missing:
        with catalog.begin() as conn:
            for queue_id in missing:
                known[queue_id] = ensure_queue_number(conn, queue_id)
    return {q: int(known[q]) for q in names}


def queue_for_number(catalog: Catalog, number: int) -> str:
    """The queue id with this number; NotFoundError if there is none (or its queue was deleted)."""
    with catalog.read() as conn:
        queue_id = conn.execute(sa.select(rossum_queue_ids.c.queue_id).where(rossum_queue_ids.c.rossum_id == number)).scalar()
        exists = queue_id is not None and conn.execute(sa.select(queues.c.queue_id).where(queues.c.queue_id == queue_id)).first()
    if not exists:
        raise NotFoundError(f"no queue with id {number}; GET /api/v1/queues lists the queues there are")
    return str(queue_id)
