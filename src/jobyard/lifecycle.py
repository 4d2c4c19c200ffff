"""Scheduled transitions, applied by catch-up in simulated-time order.

A resource with a pending transition carries its due time in ``next_due_us``. Before a request reads or
writes anything, ``catch_up`` applies every transition due by the simulated now, earliest first, each at
its own due time (not at "now"), so that jumping the clock 60 days lands every job exactly where 60 days
of ticking would. Idle resources cost nothing: the scan reads only the due end of one index.

Services declare one handler per resource kind (``Service.transitions()``): ``handler(ctx, resource)`` gets
the same ``Context`` an operation gets, bound to the resource's account and region at the transition's due
time (``ctx.now_us``), moves the resource to its next state and sets its next due time (or None). It may
change other resources too: it saves them itself and returns them, so that any transition they now have
due joins this round in time order.

Transitions are applied in batches of up to ``BATCH_STEPS`` under one savepoint, their saves held back and
written together (only the indexed columns that changed). A handler that raises rolls its batch back, and
the batch is replayed one transition per savepoint: the failing one is undone — rows and file work alike —
logged, and taken off the schedule, and the others land exactly as if applied one at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import logging
from typing import TYPE_CHECKING, Callable, Iterable

from .errors import ErrorTable
from .store import Resource, Tx

if TYPE_CHECKING:
    from .context import Context, Runtime

Handler = Callable[["Context", Resource], "Iterable[Resource] | None"]

_BATCH = 1000        # due rows read per query
BATCH_STEPS = 500    # queue entries applied together under one savepoint
CACHE_KIB = 65536    # SQLite's page cache during a catch-up of more than one query's rows

log = logging.getLogger("jobyard.lifecycle")


class Lifecycle:
    def __init__(self):
        self._handlers: dict[str, tuple[Handler, str, ErrorTable | None]] = {}
        self.runtime: "Runtime | None" = None   # set by the Runtime that owns this lifecycle
        # Transitions applied together under one savepoint; 1 applies each in a savepoint of its own.
        self.batch_size = BATCH_STEPS

    def register(self, kind: str, handler: Handler, service: str = "", errors: ErrorTable | None = None) -> None:
        """``handler`` moves resources of ``kind``; its context speaks for ``service`` with its ``errors``."""
        self._handlers[kind] = (handler, service, errors)

    def catch_up(self, tx: Tx, now_us: int) -> int:
        """Apply every transition due at or before ``now_us``; returns how many were applied."""
        with contextlib.ExitStack() as stack:
            return self._catch_up(tx, now_us, stack)

    def _catch_up(self, tx: Tx, now_us: int, stack: contextlib.ExitStack) -> int:
        applied = 0
        wide = False
        while True:
            rows = tx.due(now_us, _BATCH)
            if not rows:
                return applied
            if len(rows) == _BATCH and not wide:
                # A long catch-up: a wider page cache for its duration (SQLite), given back at its end.
                stack.enter_context(tx.wide_cache(CACHE_KIB))
                wide = True
            # A full batch may not hold every row due before its last one; only go that far this round,
            # so transitions scheduled by this round stay in time order with rows not yet loaded.
            horizon = rows[-1].next_due_us if len(rows) == _BATCH else now_us
            queue = [(r.next_due_us, r.seq, r.kind, r.id, r.account, r.region) for r in rows]
            heapq.heapify(queue)
            # The rows as read; a row some handler writes itself (``written``) is read again before its own
            # transition.
            known = {(r.kind, r.account, r.region, r.id): r for r in rows}
            written: set = set()
            while queue and queue[0][0] <= horizon:
                if self.batch_size <= 1:
                    applied += self._one_by_one(tx, queue, horizon, 1)
                    continue
                before = list(queue)   # a copy of a heap is a heap
                try:
                    with tx.savepoint():
                        applied += self._together(tx, queue, horizon, known, written, self.batch_size)
                except _Failed:
                    # Replay the batch's steps one transition per savepoint, from where it started: the
                    # failing ones are isolated and the others land as they would have one at a time.
                    queue[:] = before
                    known.clear()   # in-memory copies carry the undone work
                    applied += self._one_by_one(tx, queue, horizon, self.batch_size)

    def _together(self, tx: Tx, queue: list, horizon: int, known: dict, written: set, steps: int) -> int:
        """Up to ``steps`` queue entries in one go: no savepoint of their own, saves held back and written
        together when the caller's savepoint is left. Raises ``_Failed`` if any handler raises."""
        applied = 0
        tx.watch_writes(written)
        try:
            for _ in range(steps):
                if not queue or queue[0][0] > horizon:
                    break
                due, _seq, kind, rid, account, region = heapq.heappop(queue)
                key = (kind, account, region, rid)
                current = known.get(key)
                if current is None or key in written:
                    current = known[key] = tx.get(kind, account, region, rid)
                    written.discard(key)
                # Skip entries that an earlier transition in this round already moved or removed.
                if current is None or current.next_due_us != due:
                    continue
                # A row already moved in this batch is written before it changes again, so that what the
                # handler reads is what it would read one transition at a time.
                tx.flush_if_held(current)
                # As stored: only the indexed columns that change are written.
                was = (current.parent, current.ref, current.state, current.next_due_us)
                registered = self._handlers.get(kind)
                if registered is None:
                    current.next_due_us = None
                    tx.defer_save(current, was)
                    continue
                handler, service, errors = registered
                try:
                    touched = handler(self.runtime.transition_context(tx, current, due, service, errors), current) or ()
                except Exception as error:
                    raise _Failed() from error
                tx.defer_save(current, was)
                applied += 1
                for r in touched:
                    if r.next_due_us is not None and r.next_due_us <= horizon:
                        heapq.heappush(queue, (r.next_due_us, r.seq, r.kind, r.id, r.account, r.region))
                if current.next_due_us is not None and current.next_due_us <= horizon:
                    heapq.heappush(queue, (current.next_due_us, current.seq, kind, rid, account, region))
        finally:
            tx.watch_writes(None)
        return applied

    def _one_by_one(self, tx: Tx, queue: list, horizon: int, steps: int) -> int:
        """Up to ``steps`` queue entries, each read afresh and run in a savepoint of its own."""
        applied = 0
        for _ in range(steps):
            if not queue or queue[0][0] > horizon:
                break
            due, _seq, kind, rid, account, region = heapq.heappop(queue)
            current = tx.get(kind, account, region, rid)
            # Skip entries that an earlier transition in this round already moved or removed.
            if current is None or current.next_due_us != due:
                continue
            registered = self._handlers.get(kind)
            touched = ()
            if registered is None:
                current.next_due_us = None
                tx.save(current)
                continue
            handler, service, errors = registered
            try:
                with tx.savepoint():
                    ctx = self.runtime.transition_context(tx, current, due, service, errors)
                    touched = handler(ctx, current) or ()
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
        return applied


class _Failed(Exception):
    """A handler raised inside a batch: the batch is undone and replayed one transition at a time."""


def draw_seconds(seed: str, step: str, low: float, high: float) -> float:
    """A duration in [low, high] seconds, the same every run for the same resource and step: uniform, from
    the first 53 bits of a SHA-256 of both (seeding a ``random.Random`` per draw cost more than the rest of
    a transition)."""
    digest = hashlib.sha256(f"{seed}/{step}".encode()).digest()
    return low + (high - low) * ((int.from_bytes(digest[:7], "big") >> 3) * _TWO_TO_MINUS_53)


_TWO_TO_MINUS_53 = 2.0 ** -53
