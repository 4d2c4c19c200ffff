"""Settings for one emulator process."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .routing import DEFAULT_ACCOUNT
from .store import sqlite_url


@dataclass
class Config:
    data_dir: str = ".jobyard"
    store_url: str | None = None        # default: SQLite file in data_dir
    time_scale: float | None = None     # None keeps the stored clock's speed (1.0 on first start)
    default_account: str = DEFAULT_ACCOUNT
    s3_endpoint: str | None = None      # an external S3-compatible server for objects (default: built-in)

    def resolved_store_url(self) -> str:
        if self.store_url:
            if "://" in self.store_url:
                return self.store_url
            return sqlite_url(os.path.abspath(self.store_url))  # a plain path means an SQLite file
        return sqlite_url(os.path.abspath(os.path.join(self.data_dir, "jobyard.db")))
