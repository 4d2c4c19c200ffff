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


def test_rows_with_no_parent_or_ref_are_listed_and_the_partial_indexes_are_read(tmp_path):
    """The parent, ref and due indexes hold only rows that have one: every filter form still lists exactly its
    rows, and the queries that name a parent, a ref or a due time read those indexes (no scan, no sort)."""
    from sqlalchemy import event

    store = Store(sqlite_url(str(tmp_path / "s.db")))
    with store.transaction() as tx:
        tx.insert_many(Resource("k", "a", "r", f"id{i:03d}", parent=("", "p1", "p2")[i % 3], ref=("", "f")[i % 2],
                                state=("X", "Y")[i % 2], created_us=1000 + i,
                                next_due_us=5000 + i if i % 4 == 0 else None) for i in range(60))
    statements = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda conn, cursor, sql, parameters, context, many: statements.append((sql, parameters)))
    with store.transaction() as tx:
        def ids(**filters):
            rows, more = tx.page("k", "a", "r", limit=100, **filters)
            assert not more
            return [r.id for r in rows]

        every = [f"id{i:03d}" for i in range(60)]
        assert ids(parent="") == [i for n, i in enumerate(every) if n % 3 == 0]
        assert ids(parent="p1") == [i for n, i in enumerate(every) if n % 3 == 1]
        assert ids(parent="p2", states=["X", "Y"]) == [i for n, i in enumerate(every) if n % 3 == 2]
        assert ids(ref="f") == [i for n, i in enumerate(every) if n % 2 == 1]
        assert ids(ref="") == [i for n, i in enumerate(every) if n % 2 == 0]
        assert ids(parent="", by="id") == [i for n, i in enumerate(every) if n % 3 == 0]
        assert ids(parent="p1", by="id") == [i for n, i in enumerate(every) if n % 3 == 1]
        assert [r.id for r in tx.children("k", "a", "r", "p2")] == [i for n, i in enumerate(every) if n % 3 == 2]
        assert [r.id for r in tx.children("k", "a", "r", "")] == [i for n, i in enumerate(every) if n % 3 == 0]
        assert tx.count("k", "a", "r", parent="p1") == 20 and tx.count("k", "a", "r", parent="") == 20
        assert [r.id for r in tx.due(6000, 100)[0]] == [i for n, i in enumerate(every) if n % 4 == 0]
        assert tx.next_due() == 5000
    with store.engine.connect() as conn:
        plans = {sql: " | ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters))
                 for sql, parameters in statements if "resources" in sql and sql.lstrip().startswith("SELECT")}
    named = [plan for sql, plan in plans.items() if "resources.parent = ?" in sql or "resources.ref = ?" in sql]
    assert len(named) >= 5
    for plan in named:
        assert any(f"INDEX ix_resources_{name}" in plan for name in ("parent_created", "parent_state_created",
                                                                     "parent_id", "ref_created")), plan
    due = [plan for sql, plan in plans.items() if "next_due_us <=" in sql or "min(resources.next_due_us)" in sql]
    assert len(due) == 2 and all("ix_resources_due" in plan for plan in due), due
    for plan in plans.values():
        assert "SCAN resources" not in plan, plan
    store.close()


def test_pages_over_several_regions_and_states_walk_every_row_once_in_order(tmp_path):
    """A page of several regions (Snowball's US regions) or states is one UNION ALL of an index range per
    (region, state): every walk, in either order, by creation or id, gives each row once in the exact order,
    and no arm scans the table."""
    from sqlalchemy import event

    store = Store(sqlite_url(str(tmp_path / "s.db")))
    regions, states = ("r1", "r2", "r3"), ("X", "Y")
    with store.transaction() as tx:
        # Several rows share a creation instant (seq orders them) and the regions interleave.
        tx.insert_many(Resource("k", "a", regions[i % 3], f"id{(i * 37) % 90:03d}", state=states[(i // 3) % 2],
                                created_us=1000 + i // 4) for i in range(90))
        tx.insert_many([Resource("k", "a", "other", "id999", state="X", created_us=1000)])
    statements = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda conn, cursor, sql, parameters, context, many: statements.append((sql, parameters)))
    with store.transaction() as tx:
        every = tx.page("k", "a", regions, limit=1000)[0]
        assert len(every) == 90
        for by, key in (("created", lambda r: (r.created_us, r.seq)), ("id", lambda r: (r.id, r.seq))):
            for descending in (False, True):
                for wanted in (None, ["X"], ["X", "Y"]):
                    expected = sorted((r for r in every if wanted is None or r.state in wanted), key=key,
                                      reverse=descending)
                    walked, after = [], None
                    while True:
                        rows, more = tx.page("k", "a", regions, limit=7, after=after, states=wanted, by=by,
                                             descending=descending)
                        walked += rows
                        if not more:
                            break
                        after = rows[-1].sort_key(by)
                    assert [(r.region, r.id) for r in walked] == [(r.region, r.id) for r in expected], (by, wanted)
    with store.engine.connect() as conn:
        plans = [" | ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters))
                 for sql, parameters in list(statements) if sql.lstrip().startswith("SELECT") and "UNION ALL" in sql]
    assert len(plans) >= 12
    for plan in plans:
        assert "SCAN resources" not in plan and plan.count("INDEX ix_resources_") + plan.count("INDEX ux_resources_id") >= 3, plan
    store.close()


def test_a_reader_reads_one_snapshot_whatever_runs_in_it(tmp_path):
    """A SQLite transaction begins on the driver's connection; Core executions inside a reader (a count over
    several states) join it: one snapshot to the end, then the connection serves the next one, after a
    failure too."""
    store = Store(sqlite_url(str(tmp_path / "s.db")))
    with store.transaction() as tx:
        tx.insert_many(Resource("k", "a", "r", f"id{i}", state="X", created_us=i) for i in range(3))

    def count(tx):
        return tx.count("k", "a", "r", states=["X", "Y"])

    with store.transaction(write=False) as reader:
        assert count(reader) == 3
        with store.transaction() as writer:   # another connection commits meanwhile
            writer.insert(Resource("k", "a", "r", "id9", state="Y", created_us=9))
        assert count(reader) == 3 and len(reader.page("k", "a", "r", limit=10)[0]) == 3
    with pytest.raises(RuntimeError):
        with store.transaction(write=False) as reader:
            assert count(reader) == 4
            raise RuntimeError("the caller fails")
    for _ in range(2):
        with store.transaction(write=False) as reader:
            assert count(reader) == 4 and reader.conn.connection.dbapi_connection.in_transaction
        assert not reader.conn.closed and not reader.conn.connection.dbapi_connection.in_transaction
    store.close()


def test_a_writer_keeps_savepoints_and_core_statements_in_its_one_transaction(tmp_path):
    """A SQLite writer begun on the driver's connection: a savepoint rolled back inside it undoes only its
    own rows, a Core statement joins it, and a failure undoes everything."""
    store = Store(sqlite_url(str(tmp_path / "s.db")))
    with store.transaction() as tx:
        tx.insert(Resource("k", "a", "r", "kept", created_us=1))
        with pytest.raises(RuntimeError):
            with tx.savepoint():
                tx.insert(Resource("k", "a", "r", "undone", created_us=2))
                raise RuntimeError("the step fails")
        tx.insert_many([Resource("k", "a", "r", "many", created_us=3)])   # a Core execution
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.insert(Resource("k", "a", "r", "lost", created_us=4))
            raise RuntimeError("the request fails")
    with store.transaction(write=False) as reader:
        assert [r.id for r in reader.page("k", "a", "r", limit=10)[0]] == ["kept", "many"]
    store.close()
