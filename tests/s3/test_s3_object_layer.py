"""The built-in object layer, called as the job services call it (no HTTP): versions, listing, locks,
restores, multipart uploads, and that a failed transaction leaves objects, uploads and files as they were."""

from __future__ import annotations

import contextlib
import datetime
from pathlib import Path

import pytest
from sqlalchemy import event

from jobyard.clock import US, Clock, from_datetime
from jobyard.context import Runtime
from jobyard.lifecycle import Lifecycle
from jobyard.objects import CompletedPart, ObjectError, Retention, layer_for
from jobyard.objects.api import MIN_PART_SIZE
from jobyard.objects.builtin import OBJECT, next_midnight
from jobyard.store import FileStore, Store, TokenSigner, sqlite_url

ACCOUNT = "111122223333"
NOW = from_datetime(datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.timezone.utc))


class Harness:
    """The built-in object layer over a fresh SQLite store, wired as the server wires it (no services);
    ``open()`` gives an operation's ``ctx.objects``: one transaction at ``now``, due transitions first."""

    def __init__(self, tmp_path):
        self.store = Store(sqlite_url(str(tmp_path / "db.sqlite")))
        self.files = FileStore(str(tmp_path / "files"))
        signer = TokenSigner(b"k" * 32)
        self.layer = layer_for(None, self.store, self.files, signer)
        lifecycle = Lifecycle()
        for kind, handler in self.layer.transitions().items():
            lifecycle.register(kind, handler)
        self.runtime = Runtime(self.store, self.files, signer, self.layer, lifecycle, Clock(NOW, 0.0, 0))
        self.now = NOW

    @contextlib.contextmanager
    def open(self, account: str = ACCOUNT):
        with self.runtime.unit(account, "us-east-1", None, now_us=self.now) as ctx:
            yield ctx.objects

    def file_count(self) -> int:
        """Files holding committed bytes (not those a transaction has staged under ``.pending``)."""
        root = Path(self.files.root)
        return sum(1 for path in root.rglob("*") if path.is_file() and path.relative_to(root).parts[0] != ".pending")

    def staged(self) -> list[Path]:
        """Bytes staged by this process's transactions and not yet published (a rollback leaves none)."""
        folder = Path(self.files.root, ".pending", self.files.owner)
        return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


@pytest.fixture
def h(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    harness.files.close()
    harness.store.close()


def code_of(call) -> tuple[str, int]:
    with pytest.raises(ObjectError) as caught:
        call()
    return caught.value.code, caught.value.status


# -- buckets ------------------------------------------------------------------------------------------


def test_buckets_are_per_account_and_names_are_checked(h):
    with h.open() as s3:
        info = s3.create_bucket("alpha", region="eu-west-1")
        assert (info.name, info.region, info.created_us) == ("alpha", "eu-west-1", NOW)
        assert code_of(lambda: s3.create_bucket("alpha")) == ("BucketAlreadyOwnedByYou", 409)
        assert code_of(lambda: s3.create_bucket("Bad_Name")) == ("InvalidBucketName", 400)
        assert code_of(lambda: s3.create_bucket("192.168.1.1")) == ("InvalidBucketName", 400)
        assert code_of(lambda: s3.head_bucket("missing")) == ("NoSuchBucket", 404)
    with h.open("444455556666") as other:
        assert not other.bucket_exists("alpha")
        other.create_bucket("alpha")   # another account's bucket of the same name
    assert h.layer.has_bucket(ACCOUNT, "alpha") and not h.layer.has_bucket(ACCOUNT, "beta")


def test_list_buckets_in_name_order_with_prefix_and_pages(h):
    with h.open() as s3:
        for name in ("logs-b", "data-1", "logs-a", "data-2", "logs-c"):
            s3.create_bucket(name, region="us-west-2" if name.endswith("b") else "us-east-1")
        assert [b.name for b in s3.list_buckets().buckets] == ["data-1", "data-2", "logs-a", "logs-b", "logs-c"]
        first = s3.list_buckets(prefix="logs-", max_buckets=2)
        assert [b.name for b in first.buckets] == ["logs-a", "logs-b"] and first.next_token
        rest = s3.list_buckets(prefix="logs-", max_buckets=2, token=first.next_token)
        assert [b.name for b in rest.buckets] == ["logs-c"] and rest.next_token is None
        assert [b.name for b in s3.list_buckets(region="us-west-2").buckets] == ["logs-b"]
        assert code_of(lambda: s3.list_buckets(prefix="data-", token=first.next_token)) == ("InvalidArgument", 400)


def test_delete_bucket_only_when_empty(h):
    with h.open() as s3:
        s3.create_bucket("box")
        s3.put("box", "k", b"x")
        assert code_of(lambda: s3.delete_bucket("box")) == ("BucketNotEmpty", 409)
        s3.delete("box", "k")
        s3.delete_bucket("box")
        assert not s3.bucket_exists("box")


# -- objects ------------------------------------------------------------------------------------------


def test_put_get_head_with_etag_metadata_and_ranges(h):
    with h.open() as s3:
        s3.create_bucket("box")
        info = s3.put("box", "dir/file.txt", b"hello world", content_type="text/plain", metadata={"a": "1"},
                      tags={"t": "v"})
        assert info.etag == '"5eb63bbbe01eeed093cb22bb8f5acdc3"' and info.version_id is None
        got = s3.get("box", "dir/file.txt")
        assert got.data == b"hello world" and got.content_range is None
        assert (got.info.content_type, got.info.metadata, got.info.tag_count) == ("text/plain", {"a": "1"}, 1)
        assert s3.get("box", "dir/file.txt", byte_range=(0, 4)).data == b"hello"
        tail = s3.get("box", "dir/file.txt", byte_range=(None, 5))
        assert (tail.data, tail.content_range) == (b"world", (6, 10))
        assert s3.get("box", "dir/file.txt", byte_range=(6, None)).data == b"world"
        assert s3.get("box", "dir/file.txt", byte_range=(6, 999)).content_range == (6, 10)
        assert code_of(lambda: s3.get("box", "dir/file.txt", byte_range=(11, None))) == ("InvalidRange", 416)
        assert code_of(lambda: s3.get("box", "nope")) == ("NoSuchKey", 404)
        assert code_of(lambda: s3.get("nobox", "k")) == ("NoSuchBucket", 404)
        assert s3.head("box", "dir/file.txt").size == 11
        assert code_of(lambda: s3.put("box", "k" * 1025, b"")) == ("KeyTooLongError", 400)
        assert code_of(lambda: s3.put("box", "k", b"data", checksums={"CRC32": "AAAAAA=="})) == ("BadDigest", 400)
        assert code_of(lambda: s3.put("box", "k", b"data", checksums={"CRC32": "nope"})) == ("InvalidRequest", 400)
        assert code_of(lambda: s3.put("box", "k", b"", tags={f"t{i}": "" for i in range(11)})) == ("BadRequest", 400)


def test_conditional_put(h):
    with h.open() as s3:
        s3.create_bucket("box")
        first = s3.put("box", "k", b"one", if_none_match="*")
        assert code_of(lambda: s3.put("box", "k", b"two", if_none_match="*")) == ("PreconditionFailed", 412)
        assert code_of(lambda: s3.put("box", "k", b"two", if_match='"abc"')) == ("PreconditionFailed", 412)
        s3.put("box", "k", b"two", if_match=first.etag)
        assert code_of(lambda: s3.put("box", "other", b"x", if_match=first.etag)) == ("NoSuchKey", 404)
        assert s3.read("box", "k") == b"two"


def test_overwrite_without_versioning_replaces_the_bytes(h):
    with h.open() as s3:
        s3.create_bucket("box")
        s3.put("box", "k", b"one")
        s3.put("box", "k", b"two")
        assert s3.read("box", "k") == b"two"
    assert h.file_count() == 1


def test_a_failed_transaction_keeps_the_object_and_its_bytes(h):
    with h.open() as s3:
        s3.create_bucket("box")
        s3.put("box", "k", b"original")
    with pytest.raises(RuntimeError):
        with h.open() as s3:
            s3.put("box", "k", b"replacement")
            s3.delete("box", "k")
            assert h.staged()    # the replacement's bytes wait for the commit
            raise RuntimeError("the request failed after writing")
    assert h.staged() == []      # the bytes of the replacement went with the transaction
    with h.open() as s3:
        assert s3.read("box", "k") == b"original"
    assert h.file_count() == 1


# -- versioning ---------------------------------------------------------------------------------------


def test_versions_delete_markers_and_promotion(h):
    with h.open() as s3:
        s3.create_bucket("box")
        s3.put("box", "k", b"before versioning")           # the null version
        s3.set_versioning("box", "Enabled")
        v1 = s3.put("box", "k", b"one").version_id
        v2 = s3.put("box", "k", b"two").version_id
        assert v1 and v2 and v1 != v2 and v2 < v1           # newer version ids sort first
        assert s3.read("box", "k") == b"two"
        assert s3.read("box", "k", version_id=v1) == b"one"
        assert s3.read("box", "k", version_id="null") == b"before versioning"
        marker = s3.delete("box", "k")
        assert marker.delete_marker and marker.version_id
        assert code_of(lambda: s3.get("box", "k")) == ("NoSuchKey", 404)
        assert code_of(lambda: s3.get("box", "k", version_id=marker.version_id)) == ("MethodNotAllowed", 405)
        assert s3.list("box").objects == []
        # Removing the marker brings the newest version back.
        assert s3.delete("box", "k", version_id=marker.version_id).delete_marker
        assert s3.read("box", "k") == b"two"
        # Removing the current version promotes the one before it.
        s3.delete("box", "k", version_id=v2)
        assert s3.head("box", "k").version_id == v1
        assert code_of(lambda: s3.get("box", "k", version_id=v2)) == ("NoSuchVersion", 404)
        assert code_of(lambda: s3.get("box", "k", version_id="not-a-version")) == ("InvalidArgument", 400)
        # A noncurrent version can be tagged by id.
        assert s3.put_tags("box", "k", {"a": "b"}, version_id="null") is None
        assert s3.get_tags("box", "k", version_id="null") == ({"a": "b"}, None)
        assert s3.get_tags("box", "k") == ({}, v1)


def test_suspended_versioning_writes_and_replaces_the_null_version(h):
    with h.open() as s3:
        s3.create_bucket("box")
        s3.set_versioning("box", "Enabled")
        v1 = s3.put("box", "k", b"one").version_id
        s3.set_versioning("box", "Suspended")
        assert s3.put("box", "k", b"null one").version_id is None
        assert s3.put("box", "k", b"null two").version_id is None
        assert s3.read("box", "k", version_id=v1) == b"one"
        assert s3.read("box", "k", version_id="null") == b"null two"
        marker = s3.delete("box", "k")          # a null delete marker replaces the null version
        assert (marker.version_id, marker.delete_marker) == ("null", True)
        assert code_of(lambda: s3.get("box", "k", version_id="null")) == ("MethodNotAllowed", 405)
        assert s3.read("box", "k", version_id=v1) == b"one"
    assert h.file_count() == 1


# -- listing --------------------------------------------------------------------------------------------


def _fill(s3, bucket, keys):
    s3.create_bucket(bucket)
    for key in keys:
        s3.put(bucket, key, key.encode())


def test_list_in_utf8_key_order_with_prefix_start_after_and_pages(h):
    keys = ["a", "a/b", "a/c", "ab", "b", "é", "z", "\u4e2d"]
    with h.open() as s3:
        _fill(s3, "box", reversed(keys))
        assert [o.key for o in s3.walk("box", page_size=3)] == sorted(keys, key=lambda k: k.encode())
        assert [o.key for o in s3.list("box", prefix="a").objects] == ["a", "a/b", "a/c", "ab"]
        assert [o.key for o in s3.list("box", prefix="a", start_after="a").objects] == ["a/b", "a/c", "ab"]
        assert [o.key for o in s3.list("box", start_after="b").objects] == ["z", "é", "\u4e2d"]
        page = s3.list("box", max_keys=2)
        assert [o.key for o in page.objects] == ["a", "a/b"] and page.is_truncated
        assert code_of(lambda: s3.list("box", prefix="b", token=page.next_token)) == ("InvalidArgument", 400)
        assert s3.list("box", max_keys=0).objects == [] and not s3.list("box", max_keys=0).is_truncated


def test_list_with_delimiter_rolls_up_prefixes_across_pages(h):
    keys = ["top.txt", "photos/2024/a.jpg", "photos/2024/b.jpg", "photos/2025/c.jpg", "photos/x.jpg",
            "videos/v.mp4", "zeta"]
    with h.open() as s3:
        _fill(s3, "box", keys)
        page = s3.list("box", delimiter="/")
        assert [o.key for o in page.objects] == ["top.txt", "zeta"]
        assert page.common_prefixes == ["photos/", "videos/"]
        inner = s3.list("box", prefix="photos/", delimiter="/")
        assert ([o.key for o in inner.objects], inner.common_prefixes) == (["photos/x.jpg"],
                                                                            ["photos/2024/", "photos/2025/"])
        # One entry per page: prefixes and keys each count once, and the walk sees every one once.
        seen, token = [], None
        while True:
            page = s3.list("box", delimiter="/", max_keys=1, token=token)
            seen += [o.key for o in page.objects] + page.common_prefixes
            if not page.is_truncated:
                break
            token = page.next_token
        assert seen == ["photos/", "top.txt", "videos/", "zeta"]


def test_a_delimiter_page_does_not_read_the_keys_under_a_prefix(h):
    with h.open() as s3:
        s3.create_bucket("box")
        for prefix in ("a/", "b/", "c/"):
            for i in range(300):
                s3.put("box", f"{prefix}{i:04d}", b"")
        s3.put("box", "d", b"")
    limits = []   # the row limit of every keyset query the listing runs

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM resources" in statement and "LIMIT" in statement:
            limits.append(context.compiled_parameters[0]["limit"])

    with h.open() as s3:
        event.listen(s3.tx.conn.engine, "after_cursor_execute", record)
        try:
            page = s3.list("box", delimiter="/")
        finally:
            event.remove(s3.tx.conn.engine, "after_cursor_execute", record)
    assert page.common_prefixes == ["a/", "b/", "c/"] and [o.key for o in page.objects] == ["d"]
    # One seek per common prefix, in small batches: far fewer rows than the 900 keys under them.
    assert len(limits) <= 6 and sum(limits) <= 60, limits


# -- multipart uploads ---------------------------------------------------------------------------------

BIG = b"m" * MIN_PART_SIZE


def test_part_files_go_when_an_upload_completes_or_is_aborted(h):
    with h.open() as s3:
        s3.create_bucket("box")
        upload = s3.create_upload("box", "joined", content_type="text/plain", tags={"a": "1"})
        first = s3.upload_part("box", "joined", upload.upload_id, 1, BIG)
        s3.upload_part("box", "joined", upload.upload_id, 2, b"replaced")
        second = s3.upload_part("box", "joined", upload.upload_id, 2, b"tail")
        dropped = s3.create_upload("box", "dropped")
        s3.upload_part("box", "dropped", dropped.upload_id, 1, b"never used")
    assert h.file_count() == 3   # the replaced part's file went when its transaction committed
    with h.open() as s3:
        info = s3.complete_upload("box", "joined", upload.upload_id,
                                  [CompletedPart(1, first.etag), CompletedPart(2, second.etag)])
        s3.abort_upload("box", "dropped", dropped.upload_id)
    assert h.file_count() == 1   # the object's file alone
    with h.open() as s3:
        assert s3.read("box", "joined") == BIG + b"tail" and info.etag.endswith('-2"')
        assert (info.content_type, info.tag_count, info.last_modified_us) == ("text/plain", 1, NOW)
        assert s3.part_range("box", "joined", 2) == (MIN_PART_SIZE, MIN_PART_SIZE + 3, 2)
        assert code_of(lambda: s3.list_parts("box", "joined", upload.upload_id)) == ("NoSuchUpload", 404)
        assert s3.list_uploads("box").uploads == []


def test_a_failed_completion_leaves_the_upload_and_its_files(h):
    with h.open() as s3:
        s3.create_bucket("box")
        upload = s3.create_upload("box", "k")
        part = s3.upload_part("box", "k", upload.upload_id, 1, b"only part")
    with pytest.raises(RuntimeError):
        with h.open() as s3:
            s3.complete_upload("box", "k", upload.upload_id, [CompletedPart(1, part.etag)])
            s3.upload_part("box", "k", s3.create_upload("box", "k").upload_id, 1, b"more")
            raise RuntimeError("the request failed after writing")
    assert h.file_count() == 1 and h.staged() == []   # the part's file is kept; the new ones went
    with h.open() as s3:
        assert code_of(lambda: s3.head("box", "k")) == ("NoSuchKey", 404)
        assert [p.number for p in s3.list_parts("box", "k", upload.upload_id).parts] == [1]
        s3.complete_upload("box", "k", upload.upload_id, [CompletedPart(1, part.etag)])
        assert s3.read("box", "k") == b"only part"


def test_deleting_a_bucket_takes_its_uploads_and_part_files(h):
    with h.open() as s3:
        s3.create_bucket("box")
        for key in ("a", "b"):
            upload = s3.create_upload("box", key)
            s3.upload_part("box", key, upload.upload_id, 1, key.encode())
        s3.delete_bucket("box")
    assert h.file_count() == 0
    with h.open() as s3:
        s3.create_bucket("box")
        assert s3.list_uploads("box").uploads == []


def test_parts_and_uploads_are_listed_by_keyset(h):
    with h.open() as s3:
        s3.create_bucket("box")
        upload = s3.create_upload("box", "k")
        for number in (9, 1, 10000, 42):
            s3.upload_part("box", "k", upload.upload_id, number, b"x")
        for prefix in ("a/", "b/"):
            for i in range(100):
                s3.create_upload("box", f"{prefix}{i:03d}")
    limits = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM resources" in statement and "LIMIT" in statement:
            limits.append(context.compiled_parameters[0]["limit"])

    with h.open() as s3:
        first = s3.list_parts("box", "k", upload.upload_id, max_parts=2)
        rest = s3.list_parts("box", "k", upload.upload_id, max_parts=2, marker=9)
        assert ([p.number for p in first.parts], first.is_truncated) == ([1, 9], True)
        assert ([p.number for p in rest.parts], rest.is_truncated) == ([42, 10000], False)
        event.listen(s3.tx.conn.engine, "after_cursor_execute", record)
        try:
            page = s3.list_uploads("box", delimiter="/")
        finally:
            event.remove(s3.tx.conn.engine, "after_cursor_execute", record)
    assert page.common_prefixes == ["a/", "b/"] and [u.key for u in page.uploads] == ["k"]
    # One seek per common prefix: far fewer rows than the 200 uploads under them.
    assert len(limits) <= 5 and sum(limits) <= 40, limits


# -- copy, ACLs, locks, restores -----------------------------------------------------------------------


def test_copy_keeps_or_replaces_metadata_and_tags(h):
    with h.open() as s3:
        s3.create_bucket("src")
        s3.create_bucket("dst")
        s3.put("src", "k", b"data", content_type="text/plain", metadata={"m": "1"}, tags={"t": "1"},
               checksums={"CRC32": "rfPzYw=="})
        copied = s3.copy("src", "k", "dst", "k2")
        assert (copied.etag, copied.content_type, copied.metadata) == (s3.head("src", "k").etag, "text/plain",
                                                                        {"m": "1"})
        assert s3.get_tags("dst", "k2")[0] == {"t": "1"}
        assert s3.head("dst", "k2").checksums == {"CRC32": "rfPzYw=="}
        replaced = s3.copy("src", "k", "dst", "k3", metadata={"n": "2"}, tags={}, storage_class="GLACIER")
        assert (replaced.metadata, replaced.content_type, replaced.tag_count, replaced.storage_class) == (
            {"n": "2"}, "binary/octet-stream", 0, "GLACIER")
        assert code_of(lambda: s3.copy("src", "k", "src", "k")) == ("InvalidRequest", 400)
        assert code_of(lambda: s3.copy("dst", "k3", "dst", "k4")) == ("ObjectNotInActiveTierError", 403)
        assert code_of(lambda: s3.copy("src", "missing", "dst", "x")) == ("NoSuchKey", 404)


def test_acls_canned_and_explicit(h):
    with h.open() as s3:
        s3.create_bucket("box")
        s3.put("box", "k", b"", acl="public-read")
        acl = s3.get_acl("box", "k")
        assert [g["Permission"] for g in acl.grants] == ["FULL_CONTROL", "READ"]
        assert acl.grants[0]["Grantee"] == {"Type": "CanonicalUser", "ID": acl.owner}
        grants = [{"Grantee": {"Type": "CanonicalUser", "ID": "ab" * 32}, "Permission": "READ"}]
        s3.set_acl("box", "k", grants=grants)
        assert s3.get_acl("box", "k").grants == grants
        assert code_of(lambda: s3.set_acl("box", "k", acl="bogus")) == ("InvalidArgument", 400)
        assert code_of(lambda: s3.set_acl("box", "k")) == ("MissingSecurityHeader", 400)


def test_object_lock_legal_hold_and_retention(h):
    future = NOW + 10 * 86400 * US
    with h.open() as s3:
        s3.create_bucket("plain")
        s3.put("plain", "k", b"")
        assert code_of(lambda: s3.set_legal_hold("plain", "k", "ON")) == ("InvalidRequest", 400)
        s3.create_bucket("locked", object_lock=True)
        assert s3.head_bucket("locked").versioning == "Enabled"
        assert code_of(lambda: s3.set_versioning("locked", "Suspended")) == ("InvalidBucketState", 409)
        vid = s3.put("locked", "k", b"keep me").version_id
        assert code_of(lambda: s3.get_legal_hold("locked", "k")) == ("NoSuchObjectLockConfiguration", 404)
        s3.set_legal_hold("locked", "k", "ON")
        assert s3.get_legal_hold("locked", "k", version_id=vid) == "ON"
        assert code_of(lambda: s3.delete("locked", "k", version_id=vid)) == ("AccessDenied", 403)
        s3.set_legal_hold("locked", "k", "OFF")
        s3.set_retention("locked", "k", Retention("GOVERNANCE", future))
        assert s3.get_retention("locked", "k") == Retention("GOVERNANCE", future)
        shorter = Retention("GOVERNANCE", future - US)
        assert code_of(lambda: s3.set_retention("locked", "k", shorter)) == ("AccessDenied", 403)
        s3.set_retention("locked", "k", shorter, bypass_governance=True)
        assert code_of(lambda: s3.delete("locked", "k", version_id=vid)) == ("AccessDenied", 403)
        s3.set_retention("locked", "k", Retention("COMPLIANCE", future))
        assert code_of(lambda: s3.set_retention("locked", "k", None, bypass_governance=True)) == ("AccessDenied", 403)
        assert code_of(lambda: s3.set_retention("locked", "k", Retention("COMPLIANCE", NOW - 1))) == (
            "InvalidArgument", 400)
        assert s3.delete("locked", "k").delete_marker   # a delete marker is always allowed
    h.now = future + US
    with h.open() as s3:
        assert s3.delete("locked", "k", version_id=vid).version_id == vid


def test_restore_of_an_archived_object_runs_on_the_simulated_clock(h):
    with h.open() as s3:
        s3.create_bucket("box")
        s3.put("box", "cold", b"frozen", storage_class="GLACIER")
        s3.put("box", "warm", b"")
        assert code_of(lambda: s3.get("box", "cold")) == ("InvalidObjectState", 403)
        assert code_of(lambda: s3.restore("box", "warm", days=1)) == ("InvalidObjectState", 403)
        assert s3.restore("box", "cold", days=2, tier="Expedited") is True
        assert s3.head("box", "cold").restore.ongoing
        assert code_of(lambda: s3.restore("box", "cold", days=2)) == ("RestoreAlreadyInProgress", 409)
        due = s3.tx.get(OBJECT, ACCOUNT, "", "box/cold").next_due_us
        assert NOW + 60 * US <= due <= NOW + 300 * US
    h.now = due
    with h.open() as s3:
        status = s3.head("box", "cold").restore
        assert not status.ongoing and status.expiry_us == next_midnight(due + 2 * 86400 * US)
        assert s3.read("box", "cold") == b"frozen"
        assert s3.restore("box", "cold", days=5) is False    # already restored: only the expiry moves
    h.now = next_midnight(NOW + 5 * 86400 * US)
    with h.open() as s3:
        assert s3.head("box", "cold").restore is None
        assert code_of(lambda: s3.get("box", "cold")) == ("InvalidObjectState", 403)
