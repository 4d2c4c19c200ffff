"""The simulated clock: simulated now = anchor + (wall now - wall anchor) * scale.

``scale`` is simulated seconds per real second (0 freezes time). Advancing moves the anchor forward; the
anchors live in the store so a restart keeps simulated time. Time is in integer microseconds since the
Unix epoch, which compare exactly and index well.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import orjson

CLOCK_KEY = "clock"
US = 1_000_000


def to_datetime(us: int) -> datetime:
    return datetime.fromtimestamp(us / US, tz=timezone.utc)


def from_datetime(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(round(value.timestamp() * US))


def iso(us: int) -> str:
    return to_datetime(us).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Clock:
    def __init__(self, anchor_us: int, wall_anchor: float, scale: float, wall=time.time):
        self._wall = wall
        self.anchor_us, self.wall_anchor, self.scale = anchor_us, wall_anchor, scale

    # -- persistence --------------------------------------------------------------------------

    @classmethod
    def load(cls, tx, scale: float | None = None, wall=time.time) -> "Clock":
        """The stored clock (or one starting at the real time now); ``scale`` overrides the stored speed."""
        stored = tx.get_meta(CLOCK_KEY)
        if stored is None:
            now = wall()
            clock = cls(int(now * US), now, 1.0 if scale is None else scale, wall)
        else:
            state = orjson.loads(stored)
            clock = cls(state["anchor_us"], state["wall_anchor"], state["scale"], wall)
            if scale is not None:
                clock.set_scale(scale)
        clock.save(tx)
        return clock

    def save(self, tx) -> None:
        tx.set_meta(CLOCK_KEY, orjson.dumps(
            {"anchor_us": self.anchor_us, "wall_anchor": self.wall_anchor, "scale": self.scale}).decode())

    # -- reading and steering -----------------------------------------------------------------

    def now_us(self) -> int:
        return self.anchor_us + int((self._wall() - self.wall_anchor) * self.scale * US)

    def now(self) -> datetime:
        return to_datetime(self.now_us())

    def _rebase(self) -> None:
        now_wall = self._wall()
        self.anchor_us = self.anchor_us + int((now_wall - self.wall_anchor) * self.scale * US)
        self.wall_anchor = now_wall

    def set_scale(self, scale: float) -> None:
        self._rebase()
        self.scale = scale

    def advance(self, seconds: float) -> None:
        self._rebase()
        self.anchor_us += int(seconds * US)
