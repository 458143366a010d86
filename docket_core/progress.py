"""In-process progress reporting: long work calls `set_total(key)` and `advance(key)`; a terminal
progress bar registers a watcher for the key.

Flows run in the process of the command that started them (the ephemeral API) or on a worker; the
catalog holds the durable counts either way. This is only the live feed for a progress bar.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Watcher", "advance", "set_total", "watching"]


@dataclass
class Watcher:
    on_advance: Callable[[int], None]
    on_total: Callable[[int], None] | None = None


_watchers: dict[str, list[Watcher]] = {}
_lock = threading.Lock()


def _for(key: str) -> list[Watcher]:
    with _lock:
        return list(_watchers.get(key, ()))


def advance(key: str, n: int = 1) -> None:
    for watcher in _for(key):
        watcher.on_advance(n)


def set_total(key: str, total: int) -> None:
    for watcher in _for(key):
        if watcher.on_total is not None:
            watcher.on_total(total)


@contextmanager
def watching(key: str, on_advance: Callable[[int], None], on_total: Callable[[int], None] | None = None) -> Iterator[None]:
    watcher = Watcher(on_advance, on_total)
    with _lock:
        _watchers.setdefault(key, []).append(watcher)
    try:
        yield
    finally:
        with _lock:
            _watchers[key].remove(watcher)
            if not _watchers[key]:
                del _watchers[key]
