"""Keyset pages and authenticated tokens."""

import pytest

from jobyard.store import InvalidToken, Resource, Store, TokenSigner, sqlite_url


def test_keyset_pages_cover_everything_once(tmp_path):
    store = Store(sqlite_url(str(tmp_path / "s.db")))
    with store.transaction() as tx:
        # Several rows share a creation time: the id breaks ties.
        tx.insert_many(Resource("k", "a", "r", f"id{i:03d}", created_us=1000 + i // 3, state=("X", "Y")[i % 2])
                       for i in range(50))
        for descending in (False, True):
            seen, after = [], None
            while True:
                rows, more = tx.page("k", "a", "r", limit=7, after=after, descending=descending)
                seen += [r.id for r in rows]
                if not more:
                    break
                after = rows[-1].sort_key()
            expected = [f"id{i:03d}" for i in range(50)]
            assert seen == (expected[::-1] if descending else expected)
        rows, more = tx.page("k", "a", "r", limit=100, states=["Y"])
        assert len(rows) == 25 and not more and {r.state for r in rows} == {"Y"}
        assert tx.count("k", "a", "r", states=["X"]) == 25
        assert tx.page("k", "other", "r", limit=10) == ([], False)


def test_tokens_are_bound_to_their_context():
    signer = TokenSigner(b"s" * 32)
    token = signer.encode([1, "x"], ("acct", "op"))
    assert signer.decode(token, ("acct", "op")) == [1, "x"]
    for context in [("acct2", "op"), ("acct", "op2")]:
        with pytest.raises(InvalidToken):
            signer.decode(token, context)
    with pytest.raises(InvalidToken):
        TokenSigner(b"t" * 32).decode(token, ("acct", "op"))
    for forged in ["", ".", "abc", token + "x", "!" + token, token.replace(".", "")]:
        with pytest.raises(InvalidToken):
            signer.decode(forged, ("acct", "op"))


def test_the_clock_rows_due_bound_only_goes_down_and_savepoints_undo_it(tmp_path):
    store = Store(sqlite_url(str(tmp_path / "s.db")))

    def bound():
        with store.transaction() as tx:
            return tx.clock_row().next_due_us

    def schedule(id, due, read_clock=True):
        with store.transaction() as tx:
            if read_clock:
                tx.clock_row()
            return tx.insert(Resource("k", "a", "r", id, created_us=1, next_due_us=due))

    first = schedule("a", 2000, read_clock=False)
    assert bound() == 2000 and first.seq is not None
    second = schedule("b", 3000)   # later than the bound: it stays
    assert bound() == 2000 and second.seq > first.seq
    schedule("c", 1000)            # earlier: it is lowered
    assert bound() == 1000
    with store.transaction() as tx:
        tx.clock_row()
        with pytest.raises(RuntimeError):
            with tx.savepoint():
                tx.insert(Resource("k", "a", "r", "undone", created_us=1, next_due_us=100))
                assert tx.refresh_next_due() == 100   # read as 100 inside, then undone
                raise RuntimeError
        tx.insert(Resource("k", "a", "r", "d", created_us=1, next_due_us=500))
    assert bound() == 500
    store.reset()
    assert bound() is None
    schedule("e", 4000)
    assert bound() == 4000
    with store.transaction() as tx:
        assert [r.id for r in tx.page("k", "a", "r", limit=10)[0]] == ["e"]
    store.close()
