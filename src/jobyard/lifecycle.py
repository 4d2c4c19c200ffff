"""Scheduled transitions, applied by catch-up in simulated-time order.

A resource with a pending transition carries its due time in ``next_due_us``. Before a request reads or
writes anything, ``catch_up`` applies every transition due by the simulated now, earliest first, each at
its own due time (not at "now"), so that jumping the clock 60 days lands every job exactly where 60 days
of ticking would. Idle resources cost nothing: the scan reads only the due end of one index.

Services register one handler per resource kind: ``handler(tx, resource, at_us)`` moves the resource to
its next state and sets its next due time (or None). It may change other resources too: it saves them
itself and returns them, so that any transition they now have due joins this round in time order.
Transitions that produce or drop payload bytes (a job's output) reach the file store as ``lifecycle.files``.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import random
from typing import Callable, Iterable

from .store import Resource, Tx

Handler = Callable[[Tx, Resource, int], "Iterable[Resource] | None"]

_BATCH = 1000

log = logging.getLogger("jobyard.lifecycle")


class Lifecycle:
    def __init__(self, files=None):
        self._handlers: dict[str, Handler] = {}
        self.files = files   # the FileStore, for handlers whose transitions write or delete payloads

    def register(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def catch_up(self, tx: Tx, now_us: int) -> int:
        """Apply every transition due at or before ``now_us``; returns how many were applied."""
        applied = 0
        while True:
            rows = tx.due(now_us, _BATCH)
            if not rows:
                return applied
            # A full batch may not hold every row due before its last one; only go that far this round,
            # so transitions scheduled by this round stay in time order with rows not yet loaded.
            horizon = rows[-1].next_due_us if len(rows) == _BATCH else now_us
            queue = [(r.next_due_us, r.seq, r.kind, r.id, r.account, r.region) for r in rows]
            heapq.heapify(queue)
            while queue and queue[0][0] <= horizon:
                due, _seq, kind, rid, account, region = heapq.heappop(queue)
                current = tx.get(kind, account, region, rid)
                # Skip entries that an earlier transition in this round already moved or removed.
                if current is None or current.next_due_us != due:
                    continue
                handler = self._handlers.get(kind)
                touched = ()
                if handler is None:
                    current.next_due_us = None
                    tx.save(current)
                    continue
                try:
                    with tx.savepoint():
                        touched = handler(tx, current, due) or ()
                        tx.save(current)
                except Exception:
                    # One broken transition must not stop every request that catches up after it: undo its
                    # writes, take the resource off the schedule, and carry on with the others.
                    log.exception("transition of %s %s due at %s failed; it is taken off the schedule",
                                  kind, rid, due)
                    tx.unschedule(current)
                    continue
                applied += 1
                for r in (current, *touched):
                    if r.next_due_us is not None and r.next_due_us <= horizon:
                        heapq.heappush(queue, (r.next_due_us, r.seq, r.kind, r.id, r.account, r.region))


def draw_seconds(seed: str, step: str, low: float, high: float) -> float:
    """A duration in [low, high] seconds, the same every run for the same resource and step."""
    digest = hashlib.sha256(f"{seed}/{step}".encode()).digest()
    return random.Random(digest).uniform(low, high)
