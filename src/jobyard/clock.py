"""The simulated clock: simulated now = anchor + (wall now - wall anchor) * scale.

``scale`` is simulated seconds per real second (0 freezes time). Advancing moves the anchor forward. The
anchors live in the store's one-row ``clock`` table, which every unit of work reads once at its start, so
every process on one store sees the same time, and an advance, a freeze or a new scale made through any of
them is seen by all the others at once (and so is what has become due: the row also keeps the earliest
due time of any resource, see ``store/db.py``). Time is in integer microseconds since the Unix epoch, which
compare exactly and index well.

``Clock`` is one reading of that row (a value); ``SharedClock`` is the store's clock: it reads and steers
the row.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

US = 1_000_000

# Bounds that keep every simulated time a datetime can show and every store column can hold: a real second
# is at most about 11.6 simulated days, and the clock stops at the start of the year 9000 (a steer past it is
# refused; a fast clock that runs into it stays there).
MAX_SCALE = 1_000_000.0
LATEST_US = int(datetime(9000, 1, 1, tzinfo=timezone.utc).timestamp()) * US


class ClockRangeError(ValueError):
    """A steer the clock cannot take: a scale past ``MAX_SCALE`` or a time past ``LATEST_US``."""


def to_datetime(us: int) -> datetime:
    return datetime.fromtimestamp(us / US, tz=timezone.utc)


def from_datetime(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(round(value.timestamp() * US))


_EPOCH = datetime(1970, 1, 1)


def iso(us: int) -> str:
    """``2012-03-20T17:03:43.221Z``. Whole microseconds added to a naive epoch: exact, and cheaper than a
    zone-aware datetime (a list of Glacier jobs pays it twice a row)."""
    return (_EPOCH + timedelta(microseconds=us)).isoformat(timespec="milliseconds") + "Z"


class Clock:
    """The clock as of one reading: anchors, scale and the row's version. A fixed ``Clock`` handed to a
    ``Runtime`` (tests) stands for itself whatever the row says."""

    __slots__ = ("anchor_us", "wall_anchor", "scale", "version", "_wall")

    def __init__(self, anchor_us: int, wall_anchor: float, scale: float, wall=time.time, version: int = 0):
        self._wall = wall
        self.anchor_us, self.wall_anchor, self.scale, self.version = anchor_us, wall_anchor, scale, version

    def of(self, row) -> "Clock":
        return self

    def now_us(self) -> int:
        return min(self.anchor_us + int((self._wall() - self.wall_anchor) * self.scale * US), LATEST_US)

    def now(self) -> datetime:
        return to_datetime(self.now_us())

    def steered(self, advance: float | None = None, scale: float | None = None) -> "Clock":
        """The clock rebased on the wall time now, then rescaled and advanced by ``advance`` seconds."""
        if scale is not None and not 0 <= scale <= MAX_SCALE:
            raise ClockRangeError(f"the scale must be between 0 and {MAX_SCALE:g}")
        now_wall = self._wall()
        anchor_us = self.anchor_us + int((now_wall - self.wall_anchor) * self.scale * US)
        if advance is not None:
            anchor_us += int(advance * US)
        if anchor_us > LATEST_US:
            raise ClockRangeError(f"the clock cannot go past {iso(LATEST_US)}")
        return Clock(anchor_us, now_wall, self.scale if scale is None else scale, self._wall, self.version + 1)


class SharedClock:
    """The store's clock. ``of(row)`` is the reading a unit of work takes from the row it read; ``now_us()``
    and ``scale`` read the row afresh; ``steer`` changes it for every process."""

    def __init__(self, store, wall=time.time):
        self.store, self._wall = store, wall

    def of(self, row) -> Clock:
        return Clock(row.anchor_us, row.wall_anchor, row.scale, self._wall, row.version)

    def read(self) -> Clock:
        with self.store.transaction(write=False) as tx:
            return self.of(tx.clock_row())

    def now_us(self) -> int:
        return self.read().now_us()

    def now(self) -> datetime:
        return to_datetime(self.now_us())

    @property
    def scale(self) -> float:
        return self.read().scale

    def steer(self, advance: float | None = None, scale: float | None = None) -> Clock:
        """Advance by ``advance`` seconds and/or set the scale, in a write transaction of its own that holds
        the row (FOR UPDATE on PostgreSQL; the writer's lock on SQLite); bumps the row's version."""
        with self.store.transaction() as tx:
            clock = self.of(tx.clock_row(lock=True)).steered(advance, scale)
            tx.steer_clock(clock.anchor_us, clock.wall_anchor, clock.scale)
        return clock

    # Kept for callers of the in-memory clock: each is a steer of the shared row.
    def advance(self, seconds: float) -> None:
        self.steer(advance=seconds)

    def set_scale(self, scale: float) -> None:
        self.steer(scale=scale)
