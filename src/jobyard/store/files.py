"""Payload bytes (archives, uploaded assets, object bodies) whose writes and deletes belong to a transaction.

Rows name their bytes by key; the bytes live outside the database. ``ByteStore.bind(tx)`` gives the
transaction's view, ``TxFiles``: ``put`` / ``open`` / ``delete`` (plus ``get``, ``size``, ``exists``) whose
effects the transaction owns:

* a ``put`` is staged in this process's own pending folder and becomes visible under its key only when the
  transaction commits (the transaction itself reads it at once);
* a ``delete`` happens after the commit, so a rollback never leaves a row whose bytes are gone;
* staged bytes of a transaction, or of a savepoint, that rolls back are removed with it.

Crashes: just before committing, the transaction writes its pending puts and deletes to ``file_journal``, so
the journal rows exist exactly when the commit happened. After the commit the process publishes the puts,
runs the deletes and drops its rows. A process killed between the two leaves rows behind; a killed process
also leaves staged files in its pending folder. ``sweep()`` (run in the background at start-up) finishes the
journal rows of dead processes and removes their pending folders. A process is alive while it holds the lock
on its pending folder, so a sweep never touches another live process's uncommitted bytes.

``FileStore`` keeps bytes as files under the data dir. Another backend (a database table, an external S3)
replaces it by implementing ``ByteStore`` and ``TxFiles`` with the same semantics.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
import uuid
from abc import ABC, abstractmethod
from typing import BinaryIO

from sqlalchemy import bindparam, delete, insert, select

from ..blobs import Blob, FileRange
from .schema import file_journal

log = logging.getLogger("jobyard.files")

PUT, DELETE = "put", "delete"
_PENDING = ".pending"
_KEY = "files"   # where a transaction keeps its TxFiles (Tx.extensions)

# Fault injection for crash tests: the process kills itself (SIGKILL) at this named point.
CRASH_POINT = os.environ.get("JOBYARD_CRASH_POINT") or None


def crash_point(name: str) -> None:
    if CRASH_POINT == name:
        os.kill(os.getpid(), 9)


class TxFiles(ABC):
    """A transaction's view of the byte store."""

    @abstractmethod
    def put(self, key: str, data: bytes | Blob) -> None:
        """Store ``data`` (bytes, or a Blob: copied chunk by chunk, or a spooled request body's file taken
        over) under ``key``, visible to others once the transaction commits."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """The bytes of ``key`` as this transaction sees them; FileNotFoundError if there are none."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``'s bytes once the transaction commits (gone for this transaction at once)."""

    def get(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        """The bytes of ``key`` from ``start`` up to and including ``end`` (default: to the end)."""
        with self.open(key) as f:
            f.seek(start)
            return f.read() if end is None else f.read(end - start + 1)

    def stream(self, key: str, start: int = 0, end: int | None = None) -> FileRange:
        """Like ``get``, as a Blob read in chunks: what downloads and copies use, whatever the size. The file
        is opened now, so the range reads these bytes even if the key is replaced or deleted meanwhile."""
        f = self.open(key)
        try:
            size = f.seek(0, os.SEEK_END)
        except BaseException:
            f.close()
            raise
        last = size - 1 if end is None else min(end, size - 1)
        return FileRange(f, start, last - start + 1)

    def size(self, key: str) -> int:
        with self.open(key) as f:
            return f.seek(0, os.SEEK_END)

    def exists(self, key: str) -> bool:
        try:
            self.open(key).close()
        except FileNotFoundError:
            return False
        return True


class ByteStore(ABC):
    @abstractmethod
    def bind(self, tx) -> TxFiles:
        """The transaction's view (one per transaction: binding twice gives the same view)."""

    def sweep(self, store) -> int:
        """Finish or undo what crashed processes left; returns how many entries it settled."""
        return 0

    def clear(self) -> None:
        """Remove every byte (the admin reset)."""

    def spool_dir(self) -> str | None:
        """Where the server spools request bodies: a folder from which ``put`` takes a body's file over
        without copying (None: a temporary folder, and ``put`` copies)."""
        return None

    def close(self) -> None:
        """Release what this process holds."""


class FileStore(ByteStore):
    """Bytes as files under ``root``, at a path hashed from the key."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.owner = uuid.uuid4().hex
        self._lock_fd: int | None = None
        os.makedirs(self.root, exist_ok=True)

    # -- paths ---------------------------------------------------------------------------------------

    def path(self, key: str) -> str:
        # Keys are hashed into a fan-out of directories: any key string is safe and no folder grows huge.
        digest = hashlib.sha256(key.encode()).hexdigest()
        return os.path.join(self.root, digest[:2], digest[2:4], digest)

    def _pending_dir(self, owner: str) -> str:
        return os.path.join(self.root, _PENDING, owner)

    def _own_pending_dir(self) -> str:
        """This process's pending folder, created and locked on first use."""
        folder = self._pending_dir(self.owner)
        if self._lock_fd is None:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(folder + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)   # held until this process ends: the sign that it is alive
            self._lock_fd = fd
        return folder

    # -- raw operations (no transaction) --------------------------------------------------------------

    def spool_dir(self) -> str:
        # This process's pending folder: a body spooled there is on the same file system as the store (so
        # ``stage`` links it), and a crash leaves nothing behind, since the sweep removes the folder.
        return self._own_pending_dir()

    def stage(self, data: bytes | Blob) -> str:
        """Write ``data`` durably to a new file in this process's pending folder; returns its name."""
        folder = self._own_pending_dir()
        spooled = getattr(data, "path", None) if isinstance(data, Blob) else None
        if spooled is not None and os.path.dirname(os.path.abspath(spooled)) == folder:
            # A request body spooled here: its file becomes the staged one (a second name for it, so the
            # body's own cleanup does not touch it), no byte copied.
            path = os.path.join(folder, "put-" + uuid.uuid4().hex)
            fd = os.open(spooled, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.link(spooled, path)
            return os.path.basename(path)
        fd, path = tempfile.mkstemp(dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, Blob):
                    for chunk in data.chunks():
                        out.write(chunk)
                else:
                    out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            _unlink(path)
            raise
        return os.path.basename(path)

    def staged_path(self, owner: str, name: str) -> str:
        return os.path.join(self._pending_dir(owner), name)

    def publish(self, owner: str, name: str, key: str) -> None:
        """Move a staged file under its key (atomic: a reader sees the old bytes or the new, never half)."""
        target = self.path(key)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.replace(self.staged_path(owner, name), target)
        except FileNotFoundError:
            pass   # published already (by the sweep, or before a crash)

    def remove(self, key: str) -> None:
        _unlink(self.path(key))

    def bind(self, tx) -> "FileTxFiles":
        view = tx.extensions.get(_KEY)
        if view is None:
            view = tx.extensions[_KEY] = FileTxFiles(self, tx)
        return view

    def clear(self) -> None:
        for entry in os.listdir(self.root):
            if entry != _PENDING:
                shutil.rmtree(os.path.join(self.root, entry), ignore_errors=True)

    def close(self) -> None:
        if self._lock_fd is not None:
            shutil.rmtree(self._pending_dir(self.owner), ignore_errors=True)
            _unlink(self._pending_dir(self.owner) + ".lock")
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- crash recovery -------------------------------------------------------------------------------

    def _dead_owners(self) -> list[str]:
        """Owners whose pending folder is in this root and whose lock nobody holds any more."""
        pending = os.path.join(self.root, _PENDING)
        try:
            names = os.listdir(pending)
        except FileNotFoundError:
            return []
        dead = []
        for name in names:
            if not name.endswith(".lock") or name[:-5] == self.owner:
                continue
            fd = os.open(os.path.join(pending, name), os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue   # alive
            finally:
                os.close(fd)
            dead.append(name[:-5])
        return dead

    def sweep(self, store) -> int:
        settled = 0
        for owner in self._dead_owners():
            # Journal rows exist only for committed transactions: roll each one forward, under the
            # database's write lock, so a later put of the same key (which drops the row) cannot interleave.
            while True:
                with store.transaction() as tx:
                    rows = tx.conn.execute(_OWNED, {"owner": owner}).all()
                    for row in rows:
                        if row.op == PUT:
                            self.publish(owner, row.staged, row.key)
                        else:
                            self.remove(row.key)
                    if rows:
                        tx.conn.execute(_DROP_IDS, {"ids": [row.id for row in rows]})
                settled += len(rows)
                if len(rows) < _SWEEP_BATCH:
                    break
            # What is left in its folder was never committed.
            folder = self._pending_dir(owner)
            leftovers = len(os.listdir(folder)) if os.path.isdir(folder) else 0
            shutil.rmtree(folder, ignore_errors=True)
            _unlink(folder + ".lock")
            settled += leftovers
            if leftovers:
                log.info("removed %d uncommitted file(s) of a stopped process", leftovers)
        return settled


_SWEEP_BATCH = 500
_j = file_journal.c
_OWNED = select(_j.id, _j.op, _j.key, _j.staged).where(_j.owner == bindparam("owner")).order_by(_j.id).limit(
    _SWEEP_BATCH)
_DROP_IDS = delete(file_journal).where(_j.id.in_(bindparam("ids", expanding=True)))
_DROP_BATCH = delete(file_journal).where(_j.batch == bindparam("batch"))
# A put supersedes a committed delete of the same key that a crashed process left unfinished.
_DROP_STALE_DELETES = delete(file_journal).where(_j.key.in_(bindparam("keys", expanding=True)), _j.op == DELETE)
_PENDING_PUT = select(_j.owner, _j.staged).where(_j.key == bindparam("key"), _j.op == PUT).order_by(_j.id.desc())


class FileTxFiles(TxFiles):
    """One transaction's puts and deletes against a ``FileStore``."""

    def __init__(self, files: FileStore, tx):
        self.files, self.tx = files, tx
        self._puts: dict[str, str] = {}      # key -> staged file name (in this process's pending folder)
        self._deletes: set[str] = set()
        self._superseded: list[str] = []     # staged files replaced by a later put of the same key
        self._hooked = False

    def _hook(self) -> None:
        if not self._hooked:
            self._hooked = True
            # Even a transaction that only deletes needs the lock: its journal rows name this process as owner,
            # and the sweep finds a dead owner by its released lock.
            self.files._own_pending_dir()
            self.tx.before_commit(self._journal)
            self.tx.on_commit(self._apply, outermost=True)

    def put(self, key: str, data: bytes | Blob) -> None:
        self._hook()
        name = self.files.stage(data)
        previous, was_deleted = self._puts.get(key), key in self._deletes
        self._puts[key] = name
        self._deletes.discard(key)
        if previous is not None:
            self._superseded.append(previous)

        def undo():
            _unlink(self.files.staged_path(self.files.owner, name))
            if previous is not None:
                self._puts[key] = previous
                self._superseded.remove(previous)
            else:
                self._puts.pop(key, None)
            if was_deleted:
                self._deletes.add(key)

        self.tx.on_rollback(undo)
        crash_point("files.staged")

    def delete(self, key: str) -> None:
        self._hook()
        previous = self._puts.pop(key, None)
        was_deleted = key in self._deletes
        self._deletes.add(key)
        if previous is not None:
            self._superseded.append(previous)

        def undo():
            if previous is not None:
                self._puts[key] = previous
                self._superseded.remove(previous)
            if not was_deleted:
                self._deletes.discard(key)

        self.tx.on_rollback(undo)

    def open(self, key: str) -> BinaryIO:
        staged = self._puts.get(key)
        if staged is not None:
            return open(self.files.staged_path(self.files.owner, staged), "rb")
        if key in self._deletes:
            raise FileNotFoundError(key)
        try:
            return open(self.files.path(key), "rb")
        except FileNotFoundError:
            # Another process may have committed these bytes and not yet published them.
            for owner, staged in self.tx.conn.execute(_PENDING_PUT, {"key": key}):
                try:
                    return open(self.files.staged_path(owner, staged), "rb")
                except FileNotFoundError:
                    return open(self.files.path(key), "rb")   # published meanwhile
            raise

    # -- commit ---------------------------------------------------------------------------------------

    def _journal(self) -> None:
        if not (self._puts or self._deletes):
            return
        self._batch = uuid.uuid4().hex
        owner = self.files.owner
        rows = [{"batch": self._batch, "owner": owner, "op": PUT, "key": key, "staged": name}
                for key, name in self._puts.items()]
        rows += [{"batch": self._batch, "owner": owner, "op": DELETE, "key": key, "staged": ""}
                 for key in self._deletes]
        if self._puts:
            self.tx.conn.execute(_DROP_STALE_DELETES, {"keys": list(self._puts)})
        self.tx.conn.execute(insert(file_journal), rows)

    def _apply(self) -> None:
        if not (self._puts or self._deletes or self._superseded):
            return
        crash_point("files.committed")
        owner = self.files.owner
        for key, name in self._puts.items():
            self.files.publish(owner, name, key)
        for key in self._deletes:
            self.files.remove(key)
        for name in self._superseded:
            _unlink(self.files.staged_path(owner, name))
        if self._puts or self._deletes:
            with self.tx.conn.begin():
                self.tx.conn.execute(_DROP_BATCH, {"batch": self._batch})


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
