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
written together when the batch ends (a row moved many times once; only the indexed columns that changed),
the due queue read on meanwhile with the held rows as they are held (``Tx.due``). A handler that raises
rolls its batch back, and the batch is replayed in smaller batches, down to one transition per savepoint:
the failing one is undone — rows and file work alike — logged, and taken off the schedule, and the others
land exactly as if applied one at a time.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import heapq
import logging
import threading
from typing import TYPE_CHECKING, Callable, Iterable

from .errors import ErrorTable
from .store import Resource, Tx

if TYPE_CHECKING:
    from .context import Context, Runtime

Handler = Callable[["Context", Resource], "Iterable[Resource] | None"]

_BATCH = 1000          # due rows read per query
BATCH_STEPS = 100_000  # queue entries applied together under one savepoint
HELD_ROWS = 20_000     # a batch ends early once this many rows' saves are held back (its memory)
REPLAY_SPLIT = 16      # a failed batch is replayed as this many smaller ones, down to one transition each
CACHE_KIB = 65536      # SQLite's page cache during a catch-up of more than one query's rows

log = logging.getLogger("jobyard.lifecycle")


class Lifecycle:
    def __init__(self):
        self._handlers: dict[str, tuple[Handler, str, ErrorTable | None]] = {}
        self._given_row: set[str] = set()   # kinds whose handlers are declared ``works_on_given_row``
        self.runtime: "Runtime | None" = None   # set by the Runtime that owns this lifecycle
        # Transitions applied together under one savepoint; 1 applies each in a savepoint of its own.
        self.batch_size = BATCH_STEPS

    def register(self, kind: str, handler: Handler, service: str = "", errors: ErrorTable | None = None) -> None:
        """``handler`` moves resources of ``kind``; its context speaks for ``service`` with its ``errors``."""
        self._handlers[kind] = (handler, service, errors)
        if getattr(handler, "works_on_given_row", False):
            self._given_row.add(kind)
        else:
            self._given_row.discard(kind)

    def catch_up(self, tx: Tx, now_us: int) -> int:
        """Apply every transition due at or before ``now_us``; returns how many were applied."""
        with contextlib.ExitStack() as stack:
            return self._catch_up(tx, now_us, stack)

    def _catch_up(self, tx: Tx, now_us: int, stack: contextlib.ExitStack) -> int:
        applied = 0
        wide = False
        cursor = _Cursor(now_us)
        while cursor.ready(tx):
            if cursor.long and not wide:
                # A long catch-up: a wider page cache for its duration (SQLite), given back at its end; and no
                # cyclic garbage collection meanwhile (see ``_collector_paused``).
                stack.enter_context(tx.wide_cache(CACHE_KIB))
                stack.enter_context(_collector_paused())
                wide = True
            if self.batch_size <= 1:
                applied += self._one_by_one(tx, cursor, 1)
            else:
                applied += self._batch(tx, cursor, self.batch_size)
        return applied

    def _batch(self, tx: Tx, cursor: "_Cursor", steps: int) -> int:
        """Up to ``steps`` queue entries under one savepoint; if a handler raises, the savepoint is rolled
        back and the same entries are replayed in smaller batches, down to one transition per savepoint: the
        failing ones are isolated and the others land as they would have one at a time."""
        before = cursor.mark()
        try:
            with tx.savepoint():
                return self._together(tx, cursor, steps)
        except _Failed:
            cursor.back_to(before)   # in-memory copies carry the undone work: they are read again
            if steps <= REPLAY_SPLIT:
                return self._one_by_one(tx, cursor, steps)
            part = -(-steps // REPLAY_SPLIT)
            return sum(self._batch(tx, cursor, part) for _ in range(REPLAY_SPLIT))

    def _together(self, tx: Tx, cursor: "_Cursor", steps: int) -> int:
        """Up to ``steps`` queue entries in one go: no savepoint of their own, saves held back and written
        together when the caller's savepoint is left. Raises ``_Failed`` if any handler raises."""
        applied = 0
        queue, known, written = cursor.queue, cursor.known, cursor.written
        handlers, context, given_row = self._handlers, self.runtime.transition_context, self._given_row
        hold_apart, defer_save, get, heappop, heappush = tx.hold_apart, tx.defer_save, tx.get, heapq.heappop, heapq.heappush
        tx.watch_writes(written)
        try:
            for _ in range(steps):
                if (not queue or queue[0][0] > cursor.horizon) and not cursor.ready(tx):
                    break
                due, _seq, kind, rid, account, region = heappop(queue)
                key = (kind, account, region, rid)
                current = known.get(key)
                if current is None or key in written:
                    current = known[key] = get(kind, account, region, rid)
                    written.discard(key)
                # Skip entries that an earlier transition in this round already moved or removed.
                if current is None or current.next_due_us != due:
                    continue
                # A row already moved in this batch is held back as it is now before it changes again, so
                # that what the handler reads is what it would read one transition at a time; unless its
                # handler never reads it back without holding it apart itself (``works_on_given_row``).
                if kind not in given_row:
                    hold_apart(current, key)
                # As stored: only the indexed columns that change are written.
                was = (current.parent, current.ref, current.state, current.next_due_us)
                registered = handlers.get(kind)
                if registered is None:
                    current.next_due_us = None
                    defer_save(current, was, key)
                    continue
                handler, service, errors = registered
                try:
                    touched = handler(context(tx, current, due, service, errors), current) or ()
                except Exception as error:
                    raise _Failed() from error
                defer_save(current, was, key)
                applied += 1
                horizon = cursor.horizon
                for r in touched:
                    if r.next_due_us is not None and r.next_due_us <= horizon:
                        heappush(queue, _entry(r))
                if current.next_due_us is not None and current.next_due_us <= horizon:
                    heappush(queue, _entry(current))
                if tx.held() >= HELD_ROWS:
                    break
        finally:
            tx.watch_writes(None)
        return applied

    def _one_by_one(self, tx: Tx, cursor: "_Cursor", steps: int) -> int:
        """Up to ``steps`` queue entries, each read afresh and run in a savepoint of its own."""
        applied = 0
        for _ in range(steps):
            entry = cursor.next(tx)
            if entry is None:
                break
            due, _seq, kind, rid, account, region = entry
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
                if r.next_due_us is not None and r.next_due_us <= cursor.horizon:
                    heapq.heappush(cursor.queue, _entry(r))
        return applied


def _entry(r: Resource) -> tuple:
    """A resource's entry in the catch-up queue: (due, seq, kind, id, account, region), in due order."""
    return (r.next_due_us, r.seq, r.kind, r.id, r.account, r.region)


def works_on_given_row(handler: Handler) -> Handler:
    """Declares that ``handler`` works on the resource it is given and reads that resource back from the
    store (by ``get``, or in its family's ``children``, a page, a count) only after it has called
    ``ctx.tx.hold_apart(resource)`` before changing it. Catch-up then does not hold every row apart itself
    before its step: a serialised copy of every document at every step, which the handler asks for only
    where it reads. The batches still land as one transition at a time does
    (``tests/test_catch_up_batches.py``)."""
    handler.works_on_given_row = True
    return handler


class _Cursor:
    """Where a catch-up is: the round of due rows loaded (a heap of queue entries, applied up to the round's
    horizon) and the position in (due time, seq) order the next round reads on from.

    A round holds the next ``_BATCH`` due rows past the position (all of them if fewer are due): its horizon
    is its last row's due time, or the catch-up's instant if none is left past it; transitions it schedules up
    to the horizon join it in time order. When a read past the position finds nothing, one read from the
    start picks up anything scheduled behind it; the catch-up is over when that finds nothing either. Rounds
    are the same whatever the batch size, so batches and one transition at a time apply the same entries."""

    __slots__ = ("now_us", "queue", "horizon", "after", "known", "written", "long", "_over")

    def __init__(self, now_us: int):
        self.now_us = now_us
        self.queue: list = []
        self.horizon = -1
        self.after: tuple | None = None   # None: the next read starts from the start
        # The round's rows as read; a row some handler writes itself (``written``) is read again before its
        # own transition.
        self.known: dict = {}
        self.written: set = set()
        self.long = False   # a read came back full: more rows are due than one read holds
        self._over = False

    def ready(self, tx: Tx) -> bool:
        """Whether an entry is due, reading rounds until one is (or nothing more is due)."""
        while not self.queue or self.queue[0][0] > self.horizon:
            if self._over:
                return False
            self._read(tx)
        return True

    def next(self, tx: Tx) -> tuple | None:
        """The next queue entry (due, seq, kind, id, account, region), or None once nothing more is due."""
        return heapq.heappop(self.queue) if self.ready(tx) else None

    def _read(self, tx: Tx) -> None:
        rows, through = tx.due(self.now_us, _BATCH, self.after)
        if through is not None:
            self.long = True
        elif not rows and self.after is None:
            self._over = True
        self.queue[:] = [_entry(r) for r in rows]
        heapq.heapify(self.queue)
        self.horizon = through[0] if through is not None else self.now_us
        # Past a round that held every row due, the next read starts from the start.
        self.after = through
        self.known.clear()
        self.known.update(((r.kind, r.account, r.region, r.id), r) for r in rows)
        self.written.clear()

    def mark(self) -> tuple:
        return list(self.queue), self.horizon, self.after, self._over

    def back_to(self, mark: tuple) -> None:
        """Where ``mark()`` was; the rows read since are forgotten (read again as needed)."""
        queue, self.horizon, self.after, self._over = mark
        self.queue[:] = queue
        self.known.clear()
        self.written.clear()


_pauses = 0
_pauses_lock = threading.Lock()
_resume = False


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off for the block (for every thread: the first of overlapping
    blocks turns it off, the last one turns it back on if it was on). A long catch-up makes many objects
    that live until its batch is written (held rows and their documents): the collector's passes over them
    took a sixth of the catch-up and found next to nothing, as reference counting frees the rest."""
    global _pauses, _resume
    with _pauses_lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()


class _Failed(Exception):
    """A handler raised inside a batch: the batch is undone and replayed in smaller batches (``_batch``)."""


def draw_seconds(seed: str, step: str, low: float, high: float) -> float:
    """A duration in [low, high] seconds, the same every run for the same resource and step: uniform, from
    the first 53 bits of a SHA-256 of both (seeding a ``random.Random`` per draw cost more than the rest of
    a transition)."""
    digest = hashlib.sha256(f"{seed}/{step}".encode()).digest()
    return low + (high - low) * ((int.from_bytes(digest[:7], "big") >> 3) * _TWO_TO_MINUS_53)


_TWO_TO_MINUS_53 = 2.0 ** -53
