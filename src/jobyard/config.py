"""Settings for one emulator process."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .auth import DEFAULT_SKEW, Key
from .routing import DEFAULT_ACCOUNT
from .store import sqlite_url


@dataclass
class Config:
    data_dir: str = ".jobyard"
    store_url: str | None = None        # default: SQLite file in data_dir
    time_scale: float | None = None     # None keeps the stored clock's speed (1.0 on first start)
    default_account: str = DEFAULT_ACCOUNT
    s3_endpoint: str | None = None      # an external S3-compatible server for objects (default: built-in)
    credentials: dict[str, Key] | None = None  # SigV4 keys by access key id: signatures are checked (default: open)
    clock_skew: float = DEFAULT_SKEW    # seconds a signature's time may differ from the real clock
    admin_token: str | None = None      # the bearer token /_jobyard/ control routes require (default: none)

    def resolved_store_url(self) -> str:
        if self.store_url:
            if "://" in self.store_url:
                return self.store_url
            return sqlite_url(os.path.abspath(self.store_url))  # a plain path means an SQLite file
        return sqlite_url(os.path.abspath(os.path.join(self.data_dir, "jobyard.db")))
