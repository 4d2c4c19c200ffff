"""Bytes that belong to the transaction: visible at commit, deleted after it, undone with a rollback or a
savepoint, and settled by the sweep when a process died half-way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobyard.store import FileStore, Store, sqlite_url
from jobyard.store.schema import file_journal


class Boom(Exception):
    pass


@pytest.fixture
def store(tmp_path):
    store = Store(sqlite_url(str(tmp_path / "db.sqlite")))
    yield store
    store.close()


@pytest.fixture
def files(tmp_path):
    files = FileStore(str(tmp_path / "files"))
    yield files
    files.close()


def stored(files: FileStore) -> dict[str, bytes]:
    """Every published file under the root (by path), outside the pending folders."""
    root = Path(files.root)
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and ".pending" not in p.parts}


def staged(files: FileStore) -> list[Path]:
    return [p for p in Path(files.root, ".pending").rglob("*") if p.is_file() and p.suffix != ".lock"]


def journal_rows(store: Store) -> int:
    with store.transaction() as tx:
        return tx.conn.execute(select(func.count()).select_from(file_journal)).scalar_one()


def test_a_put_is_read_at_once_by_its_transaction_and_published_at_commit(store, files):
    with store.transaction() as tx:
        view = files.bind(tx)
        view.put("a", b"alpha")
        assert view.get("a") == b"alpha" and view.get("a", 1, 3) == b"lph" and view.size("a") == 5
        assert not os.path.exists(files.path("a"))      # nobody else sees it before the commit
        assert files.bind(tx) is view                     # one view per transaction
    assert stored(files) == {os.path.relpath(files.path("a"), files.root): b"alpha"}
    assert staged(files) == [] and journal_rows(store) == 0


def test_a_rollback_removes_what_the_transaction_wrote(store, files):
    with pytest.raises(Boom):
        with store.transaction() as tx:
            files.bind(tx).put("a", b"alpha")
            raise Boom()
    assert stored(files) == {} and staged(files) == [] and journal_rows(store) == 0


def test_a_delete_happens_after_the_commit_and_not_at_all_on_rollback(store, files):
    with store.transaction() as tx:
        files.bind(tx).put("a", b"alpha")
    with pytest.raises(Boom):
        with store.transaction() as tx:
            view = files.bind(tx)
            view.delete("a")
            assert not view.exists("a")                   # gone for the transaction itself
            assert os.path.exists(files.path("a"))        # still there for everyone else
            raise Boom()
    assert os.path.exists(files.path("a"))
    with store.transaction() as tx:
        files.bind(tx).delete("a")
        assert os.path.exists(files.path("a"))
    assert stored(files) == {} and journal_rows(store) == 0


def test_a_savepoint_that_rolls_back_undoes_only_its_own_file_work(store, files):
    with store.transaction() as tx:
        files.bind(tx).put("old", b"kept")
    with store.transaction() as tx:
        view = files.bind(tx)
        view.put("outer", b"outer")
        with pytest.raises(Boom):
            with tx.savepoint():
                view.put("inner", b"inner")
                view.put("outer", b"replaced inside")
                view.delete("old")
                raise Boom()
        assert view.get("outer") == b"outer" and view.get("old") == b"kept" and not view.exists("inner")
        with tx.savepoint():                               # a released savepoint's work joins the transaction
            view.put("released", b"released")
    assert sorted(stored(files).values()) == [b"kept", b"outer", b"released"]
    assert staged(files) == []


def test_the_last_put_of_a_key_wins_and_leaves_no_staged_copy(store, files):
    with store.transaction() as tx:
        view = files.bind(tx)
        view.put("a", b"first")
        view.put("a", b"second")
        view.delete("b")
        view.put("b", b"put after a delete")
    assert sorted(stored(files).values()) == [b"put after a delete", b"second"]
    assert staged(files) == []


def die(files: FileStore) -> None:
    """What a killed process leaves: its lock released, its pending folder and journal rows untouched."""
    os.close(files._lock_fd)
    files._lock_fd = None


def test_the_sweep_finishes_what_a_dead_process_committed_and_drops_what_it_did_not(store, files, monkeypatch):
    with store.transaction() as tx:
        files.bind(tx).put("doomed", b"to be deleted")
    # Killed between the commit and carrying it out: journal rows exist, nothing happened on disk.
    monkeypatch.setattr("jobyard.store.files.FileTxFiles._apply", lambda self: None)
    with store.transaction() as tx:
        view = files.bind(tx)
        view.put("committed", b"committed bytes")
        view.delete("doomed")
    # And a transaction still open when it was killed: its put had staged the bytes, no journal rows.
    files.stage(b"never committed")
    monkeypatch.undo()
    assert journal_rows(store) == 2 and len(staged(files)) == 2
    die(files)

    survivor = FileStore(files.root)
    with store.transaction() as tx:   # a committed put is readable by others even before the sweep
        assert survivor.bind(tx).get("committed") == b"committed bytes"
    assert survivor.sweep(store) == 3
    assert sorted(stored(survivor).values()) == [b"committed bytes"]
    assert staged(survivor) == [] and journal_rows(store) == 0
    assert os.listdir(Path(files.root, ".pending")) == []
    survivor.close()


def test_the_sweep_never_touches_a_live_process(store, files):
    other = FileStore(files.root)
    with store.transaction() as tx:
        files.bind(tx).put("mine", b"mine")
        # The other process sweeps while this transaction is open: its staged bytes are left alone.
        assert other.sweep(store) == 0
        assert len(staged(files)) == 1
    assert sorted(stored(files).values()) == [b"mine"]
    other.close()
