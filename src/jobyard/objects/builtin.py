"""The built-in object store: buckets and objects as store resources, object bytes in the byte store.

Layout (all rows have region ``""``: a bucket name is unique per account across regions, as on S3, and a
bucket keeps its own region in its document):

* ``s3.bucket``  id = bucket name. Lists by id give ListBuckets' alphabetical order.
* ``s3.object``  the *current* version of each key: parent = bucket, id = ``bucket/key``. ListObjectsV2 is
  a keyset scan of one bucket's rows in id (= key, UTF-8 byte) order, and a delimiter's common prefix is
  skipped with one seek, so a page never reads the keys under a prefix it rolls up.
* ``s3.version`` noncurrent versions and delete markers: id = ``bucket/key NUL sortkey``, where the sort
  key puts a key's newest version first. A version id is that sort key (12 hex digits counting down,
  then 20 random characters), so a version is found by id with one lookup.

* ``s3.upload`` a multipart upload in progress: parent = bucket, id = ``bucket/key NUL upload id``. The
  upload id starts with its initiation time (14 hex digits), so ListMultipartUploads is a keyset scan in
  key, then initiation order, and an upload is found by (bucket, key, id) with one lookup.
* ``s3.part``    one uploaded part: parent = upload id, id = ``upload id/part number`` (5 digits), so
  ListParts is a keyset scan in part number order. Part bytes stay in their own file until the upload
  completes: then they are joined into the object's file and the part files go.

A key whose newest version is a delete marker has no ``s3.object`` row. The version counter lives in the
bucket's document and only moves in buckets that have had versioning turned on; objects written before
that are S3's ``null`` versions and sort as the oldest.

Bytes live in the byte store under a fresh name per version (and per part), written and deleted through the
transaction's ``TxFiles``: new bytes appear and removed ones go only when the transaction commits, so a
failed request leaves every object and upload as it was.
"""

from __future__ import annotations

import re
import secrets
import string
import uuid
from collections import deque
from typing import TYPE_CHECKING

from ..blobs import Blob, Joined, as_bytes
from ..clock import US
from ..lifecycle import Handler, draw_seconds
from ..store import ByteStore, InvalidToken, Resource, Store, TokenSigner, Tx, TxFiles
from . import checksums, rules
# By name too, for the methods whose ``checksums`` argument shadows the module.
from .checksums import (COMPOSITE, composite, compute as compute_checksum, multipart_etag, type_mismatch,
                        upload_checksum_type, verify_checksum)
from .api import (ARCHIVE_CLASSES, DEFAULT_CONTENT_TYPE, DEFAULT_REGION, MAX_PART_SIZE, MIN_PART_SIZE, STANDARD, Acl,
                  BucketInfo, BucketPage, CompletedPart, Deleted, ListPage, MarkerPage, ObjectBody, ObjectError,
                  ObjectInfo, ObjectLayer, ObjectParts, ObjectStore, Part, PartPage, RestoreStatus, Retention, Upload,
                  UploadPage, VersionPage)

if TYPE_CHECKING:
    from ..context import Context

BUCKET = "s3.bucket"
OBJECT = "s3.object"
VERSION = "s3.version"
UPLOAD = "s3.upload"
PART = "s3.part"
GLOBAL = ""

ENABLED, SUSPENDED = "Enabled", "Suspended"
DAY_US = 86400 * US
_VERSION_SPACE = 16 ** 12 - 1
_VERSION_CHARS = string.ascii_letters + string.digits
# Beyond any character a key can hold in UTF-8 order: seeking past ``prefix + _PAST`` skips the prefix.
_PAST = "\U0010ffff"
# Row ids of a bucket's keys: ``bucket/`` + the key with each \x01 written \x01\x02, then for a version or
# an upload the separator \x01\x01 and its sort key or upload id. The escaped key sorts as the key does
# (UTF-8 order) and is never a prefix of another key's escaped form followed by the separator, so one key's
# versions sit together, in key order, and "past every version of a key" is ``escaped key + _SEP``.
# (Before schema revision 0002 the separator was a NUL byte, which PostgreSQL's text cannot hold.)
_SEP = "\x01\x01"
_UPLOAD_ID = re.compile(r"[0-9a-f]{14}[A-Za-z0-9]{34}")

# How long a restore takes, by storage class and tier, in seconds (S3 user guide, "Archive retrieval
# options"): Flexible Retrieval expedited 1-5 minutes, standard 3-5 hours, bulk 5-12 hours; Deep Archive
# standard within 12 hours, bulk within 48 hours, no expedited retrieval.
RESTORE_SECONDS = {
    ("GLACIER", "Expedited"): (60, 300),
    ("GLACIER", "Standard"): (3 * 3600, 5 * 3600),
    ("GLACIER", "Bulk"): (5 * 3600, 12 * 3600),
    ("DEEP_ARCHIVE", "Standard"): (9 * 3600, 12 * 3600),
    ("DEEP_ARCHIVE", "Bulk"): (24 * 3600, 48 * 3600),
}


def _object_id(bucket: str, key: str) -> str:
    return f"{bucket}/{key.replace(chr(1), chr(1) + chr(2))}" if "\x01" in key else f"{bucket}/{key}"


def _version_row_id(bucket: str, key: str, sort_key: str) -> str:
    return f"{_object_id(bucket, key)}{_SEP}{sort_key}"


def _upload_row_id(bucket: str, key: str, upload_id: str) -> str:
    return f"{_object_id(bucket, key)}{_SEP}{upload_id}"


def _part_row_id(upload_id: str, number: int) -> str:
    return f"{upload_id}/{number:05d}"


def new_upload_id(now_us: int) -> str:
    return f"{now_us:014x}" + "".join(secrets.choice(_VERSION_CHARS) for _ in range(34))


def _counter_text(counter: int) -> str:
    return f"{_VERSION_SPACE - counter:012x}"


def new_version_id(counter: int) -> str:
    return _counter_text(counter) + "".join(secrets.choice(_VERSION_CHARS) for _ in range(20))


def _well_formed_version_id(version_id: str) -> bool:
    head, tail = version_id[:12], version_id[12:]
    return (len(version_id) == 32 and all(c in "0123456789abcdef" for c in head)
            and all(c in _VERSION_CHARS for c in tail))


def _sort_key(doc: dict) -> str:
    """Where a version sorts among its key's versions: newest first."""
    return doc["vid"] if doc["vid"] is not None else _counter_text(doc["counter"]) + "null"


def next_midnight(us: int) -> int:
    """S3 rounds a restored copy's expiry up to the next midnight UTC."""
    return (us // DAY_US + 1) * DAY_US


class BuiltinObjectLayer(ObjectLayer):
    def __init__(self, store: Store, files: ByteStore, signer: TokenSigner):
        self.store, self.files, self.signer = store, files, signer

    def bind(self, tx: Tx, account: str, now_us: int, files: TxFiles | None = None) -> "BuiltinObjectStore":
        files = files if files is not None else self.files.bind(tx)   # the same view: one per transaction
        return BuiltinObjectStore(tx, account, now_us, files, self.signer)

    def has_bucket(self, account: str, bucket: str) -> bool:
        return self.store.exists(BUCKET, account, GLOBAL, bucket)

    def transitions(self) -> dict[str, Handler]:
        return {OBJECT: advance_restore, VERSION: advance_restore}


def advance_restore(ctx: Context, row: Resource) -> None:
    """A restore finishes at ``ctx.now_us`` (the copy stays until its expiry), or a restored copy expires."""
    restore = row.doc.get("restore")
    if restore is None:
        row.next_due_us = None
    elif restore["ongoing"]:
        restore["ongoing"] = False
        restore["expiry"] = next_midnight(ctx.now_us + restore["days"] * DAY_US)
        row.next_due_us = restore["expiry"]
    else:
        row.doc["restore"] = None
        row.next_due_us = None


class BuiltinObjectStore(ObjectStore):
    def __init__(self, tx: Tx, account: str, now_us: int, files: TxFiles, signer: TokenSigner):
        self.tx, self.account, self.now_us, self.files, self.signer = tx, account, now_us, files, signer
        self.owner = rules.canonical_id(account)

    # -- buckets ------------------------------------------------------------------------------------

    def _bucket(self, bucket: str) -> Resource:
        row = self.tx.get(BUCKET, self.account, GLOBAL, bucket)
        if row is None:
            raise rules.no_such_bucket(bucket)
        return row

    def _bucket_info(self, row: Resource) -> BucketInfo:
        doc = row.doc
        return BucketInfo(row.id, doc["region"], row.created_us, doc.get("versioning"), doc.get("object_lock", False),
                          self.owner)

    def bucket_exists(self, bucket: str) -> bool:
        return self.tx.get(BUCKET, self.account, GLOBAL, bucket) is not None

    def create_bucket(self, bucket: str, *, region: str = DEFAULT_REGION, object_lock: bool = False) -> BucketInfo:
        rules.check_bucket_name(bucket)
        if self.bucket_exists(bucket):
            raise ObjectError("BucketAlreadyOwnedByYou",
                              "Your previous request to create the named bucket succeeded and you already own it.",
                              409, BucketName=bucket)
        # A bucket with Object Lock always has versioning enabled, and it can never be suspended.
        doc = {"region": region, "versioning": ENABLED if object_lock else None, "object_lock": object_lock,
               "counter": 0}
        row = self.tx.insert(Resource(BUCKET, self.account, GLOBAL, bucket, created_us=self.now_us, doc=doc))
        return self._bucket_info(row)

    def head_bucket(self, bucket: str) -> BucketInfo:
        return self._bucket_info(self._bucket(bucket))

    def delete_bucket(self, bucket: str) -> None:
        row = self._bucket(bucket)
        for kind in (OBJECT, VERSION):
            if self.tx.page(kind, self.account, GLOBAL, limit=1, parent=bucket, by="id")[0]:
                raise ObjectError("BucketNotEmpty", "The bucket you tried to delete is not empty", 409,
                                  BucketName=bucket)
        # Uploads in progress do not keep a general purpose bucket from going (only directory buckets
        # refuse, per AbortMultipartUpload's documentation): they go with it.
        while True:
            uploads = self.tx.page(UPLOAD, self.account, GLOBAL, limit=100, parent=bucket, by="id")[0]
            if not uploads:
                break
            for upload in uploads:
                self._discard_upload(upload)
        self.tx.delete(row)

    def list_buckets(self, *, prefix: str = "", region: str | None = None, max_buckets: int = 10000,
                     token: str | None = None) -> BucketPage:
        context = ("s3-list-buckets", self.account, prefix, region)
        after = self._decode_token(token, context, "continuation-token") if token else None
        if after is None and prefix:
            after = _before(prefix)
        found: list[BucketInfo] = []
        while len(found) < max_buckets:
            rows, more = self.tx.page(BUCKET, self.account, GLOBAL, limit=max_buckets - len(found),
                                      after=[after] if after is not None else None, by="id")
            ended = not more
            for row in rows:
                if not row.id.startswith(prefix):
                    ended = True
                    break
                after = row.id
                if region is None or row.doc["region"] == region:
                    found.append(self._bucket_info(row))
            if ended:
                return BucketPage(found, None)
        probe = self.tx.page(BUCKET, self.account, GLOBAL, limit=1, after=[after], by="id")[0]
        more = bool(probe) and probe[0].id.startswith(prefix)
        return BucketPage(found, self.signer.encode(after, context) if more else None)

    def versioning(self, bucket: str) -> str | None:
        return self._bucket(bucket).doc.get("versioning")

    def set_versioning(self, bucket: str, status: str) -> None:
        row = self._bucket(bucket)
        if status not in (ENABLED, SUSPENDED):
            raise rules.malformed_xml()
        if row.doc.get("object_lock") and status != ENABLED:
            raise ObjectError("InvalidBucketState", "An Object Lock configuration is present on this bucket, so "
                                                    "the versioning state cannot be changed.", 409)
        row.doc["versioning"] = status
        self.tx.save(row)

    # -- finding versions ---------------------------------------------------------------------------

    def _current(self, bucket: str, key: str) -> Resource | None:
        return self.tx.get(OBJECT, self.account, GLOBAL, _object_id(bucket, key))

    def _versions(self, bucket: str, key: str, limit: int = 100):
        """The noncurrent versions and delete markers of ``key``, newest first."""
        after = _object_id(bucket, key) + _SEP
        while True:
            rows, more = self.tx.page(VERSION, self.account, GLOBAL, limit=limit, after=[after], parent=bucket,
                                      by="id")
            for row in rows:
                if row.doc["key"] != key:
                    return
                yield row
            if not more:
                return
            after = rows[-1].id

    def _newest_version(self, bucket: str, key: str) -> Resource | None:
        return next(self._versions(bucket, key, limit=1), None)

    def _find(self, bucket: str, key: str, version_id: str | None) -> Resource | None:
        """The row of ``version_id`` of ``key`` (the current version when None), or None."""
        current = self._current(bucket, key)
        if version_id is None:
            return current
        wanted = None if version_id == "null" else version_id
        if current is not None and current.doc["vid"] == wanted:
            return current
        if wanted is None:
            # The null version's sort key depends on when it was written: look through the key's versions.
            return next((row for row in self._versions(bucket, key) if row.doc["vid"] is None), None)
        if not _well_formed_version_id(wanted):
            raise rules.invalid_version_id(version_id)
        return self.tx.get(VERSION, self.account, GLOBAL, _version_row_id(bucket, key, wanted))

    def _object(self, bucket: str, key: str, version_id: str | None, method: str = "GET") -> Resource:
        """A readable version: NoSuchBucket, NoSuchKey, NoSuchVersion or MethodNotAllowed otherwise."""
        self._bucket(bucket)
        row = self._find(bucket, key, version_id)
        if row is None:
            if version_id is None:
                raise rules.no_such_key(key)
            raise rules.no_such_version(key, version_id)
        if row.doc.get("marker"):
            raise rules.delete_marker_not_allowed(method)
        return row

    def _is_latest(self, row: Resource) -> bool:
        if row.kind == OBJECT:
            return True
        bucket, key = row.parent, row.doc["key"]
        if self._current(bucket, key) is not None:
            return False
        newest = self._newest_version(bucket, key)
        return newest is not None and newest.id == row.id

    def _info(self, row: Resource) -> ObjectInfo:
        doc = row.doc
        retention = doc.get("retention")
        restore = doc.get("restore")
        return ObjectInfo(
            bucket=row.parent, key=doc["key"], size=doc.get("size", 0), etag=doc.get("etag", ""),
            last_modified_us=doc["mtime"], version_id=doc["vid"],
            content_type=doc.get("type") or DEFAULT_CONTENT_TYPE, metadata=dict(doc.get("meta") or {}),
            cache_control=doc.get("cache_control"), content_disposition=doc.get("content_disposition"),
            content_encoding=doc.get("content_encoding"), content_language=doc.get("content_language"),
            expires_us=doc.get("expires"), storage_class=doc.get("class", STANDARD),
            tag_count=len(doc.get("tags") or {}), checksums=dict(doc.get("checksums") or {}),
            checksum_type=doc.get("checksum_type") or "FULL_OBJECT", legal_hold=doc.get("legal_hold"),
            retention=Retention(retention["mode"], retention["until"]) if retention else None,
            restore=RestoreStatus(restore["ongoing"], restore.get("expiry"), restore["tier"]) if restore else None,
            owner=self.owner, delete_marker=bool(doc.get("marker")),
            is_latest=row.kind == OBJECT)

    # -- writing versions -----------------------------------------------------------------------------

    def _next_version(self, bucket: Resource) -> tuple[str | None, int]:
        """(version id, counter) for a new version in ``bucket``; the counter only moves once versioning
        has been turned on, and a suspended bucket writes null versions."""
        status = bucket.doc.get("versioning")
        if status is None:
            return None, 0
        bucket.doc["counter"] = counter = bucket.doc.get("counter", 0) + 1
        self.tx.save(bucket)
        return (new_version_id(counter) if status == ENABLED else None), counter

    def _drop_file(self, name: str | None) -> None:
        if name:
            self.files.delete(name)

    def _new_file(self, data: bytes) -> str:
        """Write ``data`` under a fresh name (it belongs to the transaction, like every byte-store write)."""
        name = f"s3/{self.account}/{uuid.uuid4().hex}"
        self.files.put(name, data)
        return name

    def _retire_current(self, bucket: Resource, key: str, current: Resource | None, new_vid: str | None) -> None:
        """Before a new version (or delete marker) of ``key`` becomes the latest: keep the current one as a
        noncurrent version, unless it is replaced (no versioning, or both are the null version); in a
        suspended bucket the new null version also replaces an older noncurrent null version."""
        replaced_null = False
        if current is not None:
            replaced_null = current.doc["vid"] is None and new_vid is None
            if bucket.doc.get("versioning") is None or replaced_null:
                self._drop_file(current.doc.get("file"))
            else:
                self._insert_version(current.parent, current.doc, current.next_due_us)
            self.tx.delete(current)
        if new_vid is None and bucket.doc.get("versioning") == SUSPENDED and not replaced_null:
            self._drop_null_version(bucket.id, key)

    def _drop_null_version(self, bucket: str, key: str) -> None:
        for row in self._versions(bucket, key):
            if row.doc["vid"] is None:
                self._drop_file(row.doc.get("file"))
                self.tx.delete(row)
                return

    def _insert_version(self, bucket: str, doc: dict, next_due_us: int | None = None) -> Resource:
        row = Resource(VERSION, self.account, GLOBAL, _version_row_id(bucket, doc["key"], _sort_key(doc)),
                       parent=bucket, created_us=self.now_us, next_due_us=next_due_us, doc=doc)
        return self.tx.insert(row)

    def _make_current(self, bucket: str, doc: dict, next_due_us: int | None = None) -> Resource:
        row = Resource(OBJECT, self.account, GLOBAL, _object_id(bucket, doc["key"]), parent=bucket,
                       created_us=self.now_us, next_due_us=next_due_us, doc=doc)
        return self.tx.insert(row)

    def _check_lock_options(self, bucket: Resource, legal_hold: str | None, retention: Retention | None) -> None:
        if (legal_hold is not None or retention is not None) and not bucket.doc.get("object_lock"):
            raise rules.no_lock_configuration()
        if legal_hold is not None and legal_hold not in ("ON", "OFF"):
            raise rules.invalid_argument("Legal Hold status must be ON or OFF", "x-amz-object-lock-legal-hold",
                                         legal_hold)
        if retention is not None:
            self._check_retention(retention)

    def _check_retention(self, retention: Retention) -> None:
        if retention.mode not in ("GOVERNANCE", "COMPLIANCE"):
            raise rules.invalid_argument("Unknown wormMode directive.", "ObjectLockMode", retention.mode)
        if retention.until_us <= self.now_us:
            raise rules.invalid_argument("The retain until date must be in the future!", "RetainUntilDate")

    def _acl(self, acl: str | None, grants: list[dict] | None) -> list[dict] | None:
        if acl is not None and grants is not None:
            raise rules.invalid_request("Specifying both Canned ACLs and Header Grants is not allowed")
        if acl is not None:
            return rules.canned_grants(acl, self.owner)
        if grants is not None:
            return rules.check_grants(grants)
        return None

    def _write(self, bucket_row: Resource, key: str, data: bytes, doc: dict, *, etag: str | None = None,
               mtime_us: int | None = None) -> ObjectInfo:
        """Store ``data`` as the new latest version of ``key`` described by ``doc``."""
        current = self._current(bucket_row.id, key)
        vid, counter = self._next_version(bucket_row)
        self._retire_current(bucket_row, key, current, vid)
        name = self._new_file(data)
        doc.update(key=key, vid=vid, counter=counter, size=len(data), etag=etag or checksums.etag(data),
                   mtime=self.now_us if mtime_us is None else mtime_us, file=name)
        return self._info(self._make_current(bucket_row.id, doc))

    def _check_write_conditions(self, bucket: str, key: str, if_match: str | None, if_none_match: str | None) -> None:
        """PutObject's and CompleteMultipartUpload's conditional writes, against the current version."""
        if if_match is None and if_none_match is None:
            return
        current = self._current(bucket, key)
        if if_none_match is not None and current is not None:
            raise rules.precondition_failed("If-None-Match")
        if if_match is not None:
            if current is None:
                raise rules.no_such_key(key)
            if not rules.etag_matches(if_match, current.doc["etag"]):
                raise rules.precondition_failed("If-Match")

    # -- objects ------------------------------------------------------------------------------------

    def put(self, bucket, key, data, *, content_type=None, metadata=None, tags=None, storage_class=None,
            cache_control=None, content_disposition=None, content_encoding=None, content_language=None,
            expires_us=None, checksums=None, acl=None, grants=None, legal_hold=None, retention=None,
            if_match=None, if_none_match=None) -> ObjectInfo:
        bucket_row = self._bucket(bucket)
        rules.check_key(key)
        rules.check_metadata(metadata or {})
        rules.check_tags(tags or {})
        self._check_lock_options(bucket_row, legal_hold, retention)
        for algorithm, value in (checksums or {}).items():
            verify_checksum(algorithm, value, data)
        self._check_write_conditions(bucket, key, if_match, if_none_match)
        doc = {"type": content_type, "meta": metadata or {}, "tags": tags or {}, "class": storage_class or STANDARD,
               "cache_control": cache_control, "content_disposition": content_disposition,
               "content_encoding": content_encoding, "content_language": content_language,
               "expires": expires_us, "checksums": dict(checksums or {}), "acl": self._acl(acl, grants),
               "legal_hold": legal_hold,
               "retention": {"mode": retention.mode, "until": retention.until_us} if retention else None}
        return self._write(bucket_row, key, data, doc)

    def get(self, bucket, key, *, version_id=None, byte_range=None) -> ObjectBody:
        body = self.stream(bucket, key, version_id=version_id, byte_range=byte_range)
        data = body.data
        try:
            return ObjectBody(body.info, as_bytes(data), body.content_range)
        finally:
            if isinstance(data, Blob):
                data.close()

    def stream(self, bucket, key, *, version_id=None, byte_range=None) -> ObjectBody:
        row = self._object(bucket, key, version_id)
        doc = row.doc
        info = self._info(row)
        if doc.get("class") in ARCHIVE_CLASSES and not (info.restore and not info.restore.ongoing):
            raise ObjectError("InvalidObjectState", "The operation is not valid for the object's storage class",
                              403, StorageClass=doc["class"])
        size = doc["size"]
        if byte_range is None:
            return ObjectBody(info, self.files.stream(doc["file"]) if size else b"")
        first, last = rules.resolve_range(byte_range, size)
        return ObjectBody(info, self.files.stream(doc["file"], first, last), (first, last))

    def head(self, bucket, key, *, version_id=None) -> ObjectInfo:
        return self._info(self._object(bucket, key, version_id, "HEAD"))

    def delete(self, bucket, key, *, version_id=None, bypass_governance=False) -> Deleted:
        bucket_row = self._bucket(bucket)
        if version_id is None:
            return self._delete_latest(bucket_row, key)
        row = self._find(bucket, key, version_id)
        if row is None:
            # S3 answers 204 for a version that is not there (deleting is idempotent).
            return Deleted(None if version_id == "null" else version_id, False)
        doc = row.doc
        if not doc.get("marker") and self._protected(doc, bypass_governance):
            raise rules.locked()
        was_latest = self._is_latest(row)
        self._drop_file(doc.get("file"))
        self.tx.delete(row)
        if was_latest:
            newest = self._newest_version(bucket, key)
            if newest is not None and not newest.doc.get("marker"):
                self.tx.delete(newest)
                self._make_current(bucket, newest.doc, newest.next_due_us)
        return Deleted(doc["vid"] if doc["vid"] is not None else "null", bool(doc.get("marker")))

    def _delete_latest(self, bucket_row: Resource, key: str) -> Deleted:
        bucket = bucket_row.id
        current = self._current(bucket, key)
        if bucket_row.doc.get("versioning") is None:
            if current is not None:
                self._drop_file(current.doc.get("file"))
                self.tx.delete(current)
            return Deleted(None, False)
        vid, counter = self._next_version(bucket_row)
        self._retire_current(bucket_row, key, current, vid)
        self._insert_version(bucket, {"key": key, "vid": vid, "counter": counter, "marker": True,
                                      "mtime": self.now_us})
        return Deleted(vid if vid is not None else "null", True)

    def _protected(self, doc: dict, bypass_governance: bool) -> bool:
        if doc.get("legal_hold") == "ON":
            return True
        retention = doc.get("retention")
        if retention and retention["until"] > self.now_us:
            return retention["mode"] == "COMPLIANCE" or not bypass_governance
        return False

    def list(self, bucket, *, prefix="", delimiter=None, max_keys=1000, start_after=None, token=None) -> ListPage:
        self._bucket(bucket)
        delimiter = delimiter or None
        context = ("s3-list-objects", self.account, bucket, prefix, delimiter)
        full_prefix = _object_id(bucket, prefix)
        skip_prefix = None            # a common prefix already returned, whose keys are to be passed over
        if token is not None:
            position = self._decode_token(token, context, "continuation-token")
            if not (isinstance(position, list) and len(position) == 2 and isinstance(position[1], str)):
                raise _bad_token()
            after = _object_id(bucket, position[1])
            if position[0] == "p":
                skip_prefix, after = after, after + _PAST
        elif start_after is not None and start_after >= prefix:
            after = _object_id(bucket, start_after)
        else:
            after = _before(full_prefix)
        objects: list[ObjectInfo] = []
        prefixes: list[str] = []
        last = None
        if max_keys <= 0:
            return ListPage(objects, prefixes, None)
        batch = 8 if delimiter else max_keys
        ended = False
        while not ended and len(objects) + len(prefixes) < max_keys:
            want = min(batch, max_keys - len(objects) - len(prefixes))
            rows, more = self.tx.page(OBJECT, self.account, GLOBAL, limit=want, after=[after], parent=bucket,
                                      by="id")
            ended = not more
            seeked = False
            for row in rows:
                if not row.id.startswith(full_prefix):
                    ended = True
                    break
                if skip_prefix is not None and row.id.startswith(skip_prefix):
                    after = row.id
                    continue
                key = row.doc["key"]
                cut = key.find(delimiter, len(prefix)) if delimiter else -1
                if cut >= 0:
                    common = key[:cut + len(delimiter)]
                    prefixes.append(common)
                    last = ["p", common]
                    skip_prefix = _object_id(bucket, common)
                    after = skip_prefix + _PAST
                    seeked, ended = True, False
                    break
                objects.append(self._info(row))
                last, after = ["k", key], row.id
                if len(objects) + len(prefixes) >= max_keys:
                    break
            # Small batches while a delimiter keeps rolling keys up (the rest of a batch would be read for
            # nothing), growing while the keys come back as plain objects.
            batch = 8 if seeked else min(batch * 2, max_keys)
        truncated = False
        if not ended:
            probe = self.tx.page(OBJECT, self.account, GLOBAL, limit=1, after=[after], parent=bucket, by="id")[0]
            truncated = bool(probe) and probe[0].id.startswith(full_prefix)
        next_token = self.signer.encode(last, context) if truncated and last is not None else None
        return ListPage(objects, prefixes, next_token)

    def _decode_token(self, token: str, context: tuple, name: str):
        try:
            return self.signer.decode(token, context)
        except InvalidToken:
            raise _bad_token(name) from None

    def copy(self, source_bucket, source_key, bucket, key, *, source_version_id=None, metadata=None,
             content_type=None, cache_control=None, content_disposition=None, content_encoding=None,
             content_language=None, expires_us=None, tags=None, storage_class=None, acl=None, grants=None,
             legal_hold=None, retention=None, checksum_algorithm=None) -> ObjectInfo:
        source = self._object(source_bucket, source_key, source_version_id)
        target_bucket = self._bucket(bucket)
        rules.check_key(key)
        doc = source.doc
        if doc.get("class") in ARCHIVE_CLASSES and not (doc.get("restore") and not doc["restore"]["ongoing"]):
            raise ObjectError("ObjectNotInActiveTierError",
                              "The source object of the COPY action is not in the active tier and is only stored "
                              "in Amazon Glacier.", 403)
        same = source_bucket == bucket and source_key == key and source_version_id is None
        if same and metadata is None and storage_class is None:
            raise rules.invalid_request(
                "This copy request is illegal because it is trying to copy an object to itself without changing "
                "the object's metadata, storage class, website redirect location or encryption attributes.")
        self._check_lock_options(target_bucket, legal_hold, retention)
        if metadata is None:   # MetadataDirective COPY: metadata and content headers come along
            new = {name: doc.get(name) for name in ("type", "meta", "cache_control", "content_disposition",
                                                    "content_encoding", "content_language", "expires")}
        else:
            rules.check_metadata(metadata)
            new = {"type": content_type, "meta": metadata, "cache_control": cache_control,
                   "content_disposition": content_disposition, "content_encoding": content_encoding,
                   "content_language": content_language, "expires": expires_us}
        if tags is not None:
            rules.check_tags(tags)
        data = self.files.stream(doc["file"]) if doc.get("size") else b""
        kept_checksums = {}
        algorithm = checksum_algorithm or next(iter(doc.get("checksums") or {}), None)
        if algorithm is not None:
            value = checksums.compute(algorithm, data)
            if value is None and doc.get("checksum_type", "FULL_OBJECT") == "FULL_OBJECT":
                value = (doc.get("checksums") or {}).get(algorithm)
            if value is not None:
                kept_checksums[algorithm] = value
        new.update(tags=dict(doc.get("tags") or {}) if tags is None else tags, checksums=kept_checksums,
                   acl=self._acl(acl, grants), legal_hold=legal_hold,
                   retention={"mode": retention.mode, "until": retention.until_us} if retention else None,
                   **{"class": storage_class or STANDARD})
        return self._write(target_bucket, key, data, new)

    # -- sub-resources ------------------------------------------------------------------------------------

    def _update(self, bucket: str, key: str, version_id: str | None, method: str = "PUT") -> Resource:
        return self._object(bucket, key, version_id, method)

    @staticmethod
    def _vid(row: Resource) -> str | None:
        return row.doc["vid"]

    def get_tags(self, bucket, key, *, version_id=None):
        row = self._object(bucket, key, version_id)
        return dict(row.doc.get("tags") or {}), self._vid(row)

    def put_tags(self, bucket, key, tags, *, version_id=None):
        rules.check_tags(tags)
        row = self._update(bucket, key, version_id)
        row.doc["tags"] = dict(tags)
        self.tx.save(row)
        return self._vid(row)

    def delete_tags(self, bucket, key, *, version_id=None):
        row = self._update(bucket, key, version_id, "DELETE")
        row.doc["tags"] = {}
        self.tx.save(row)
        return self._vid(row)

    def get_acl(self, bucket, key, *, version_id=None) -> Acl:
        row = self._object(bucket, key, version_id)
        return Acl(self.owner, row.doc.get("acl") or [rules.owner_grant(self.owner)])

    def set_acl(self, bucket, key, *, acl=None, grants=None, version_id=None):
        if acl is None and grants is None:
            raise ObjectError("MissingSecurityHeader", "Your request was missing a required header", 400,
                              MissingHeaderName="x-amz-acl")
        row = self._update(bucket, key, version_id)
        row.doc["acl"] = self._acl(acl, grants)
        self.tx.save(row)
        return self._vid(row)

    def _locked_row(self, bucket, key, version_id, method="PUT") -> Resource:
        if not self._bucket(bucket).doc.get("object_lock"):
            raise rules.no_lock_configuration()
        return self._object(bucket, key, version_id, method)

    def get_legal_hold(self, bucket, key, *, version_id=None) -> str:
        row = self._locked_row(bucket, key, version_id, "GET")
        if row.doc.get("legal_hold") is None:
            raise _no_lock_configuration_on_object()
        return row.doc["legal_hold"]

    def set_legal_hold(self, bucket, key, status, *, version_id=None):
        row = self._locked_row(bucket, key, version_id)
        if status not in ("ON", "OFF"):
            raise rules.malformed_xml()
        row.doc["legal_hold"] = status
        self.tx.save(row)
        return self._vid(row)

    def get_retention(self, bucket, key, *, version_id=None) -> Retention:
        row = self._locked_row(bucket, key, version_id, "GET")
        retention = row.doc.get("retention")
        if not retention:
            raise _no_lock_configuration_on_object()
        return Retention(retention["mode"], retention["until"])

    def set_retention(self, bucket, key, retention, *, version_id=None, bypass_governance=False):
        row = self._locked_row(bucket, key, version_id)
        old = row.doc.get("retention")
        if retention is not None:
            self._check_retention(retention)
        if old and old["until"] > self.now_us:
            # Locked: a COMPLIANCE lock may only be extended; a GOVERNANCE one may be shortened, removed
            # or changed only with bypass (S3 user guide, "Object Lock", retention modes).
            weaker = (retention is None or retention.until_us < old["until"]
                      or (old["mode"] == "COMPLIANCE" and retention.mode != "COMPLIANCE"))
            if weaker and (old["mode"] == "COMPLIANCE" or not bypass_governance):
                raise rules.locked()
        row.doc["retention"] = {"mode": retention.mode, "until": retention.until_us} if retention else None
        self.tx.save(row)
        return self._vid(row)

    def restore(self, bucket, key, *, days, tier="Standard", version_id=None) -> bool:
        row = self._object(bucket, key, version_id, "POST")
        storage_class = row.doc.get("class", STANDARD)
        if storage_class not in ARCHIVE_CLASSES:
            raise ObjectError("InvalidObjectState", "Restore is not allowed for the object's current storage class",
                              403, StorageClass=storage_class)
        if days is None or days < 1:
            raise rules.malformed_xml()
        duration = RESTORE_SECONDS.get((storage_class, tier))
        if duration is None:
            # "Expedited retrievals ... are not available for objects stored in the S3 Glacier Deep Archive
            # storage class" (API reference, RestoreObject), which names no error for asking anyway.
            raise rules.invalid_argument(f"{tier} retrieval is not available for the {storage_class} storage class",
                                         "Tier", tier)
        restore = row.doc.get("restore")
        if restore and restore["ongoing"]:
            raise ObjectError("RestoreAlreadyInProgress", "Object restore is already in progress", 409)
        if restore:
            # Already restored: a new request only moves the expiry (200 rather than 202).
            restore["expiry"] = next_midnight(self.now_us + days * DAY_US)
            row.next_due_us = restore["expiry"]
            self.tx.save(row)
            return False
        seed = f"{self.account}/{row.id}/{self.now_us}"
        seconds = draw_seconds(seed, "restore", *duration)
        row.doc["restore"] = {"ongoing": True, "tier": tier, "days": days}
        row.next_due_us = self.now_us + int(seconds * US)
        self.tx.save(row)
        return True


    # -- multipart uploads --------------------------------------------------------------------------------

    def _upload(self, bucket: str, key: str, upload_id: str) -> Resource:
        """An upload in progress: NoSuchBucket, or NoSuchUpload (also for an id of another key)."""
        self._bucket(bucket)
        row = None
        if _UPLOAD_ID.fullmatch(upload_id):
            row = self.tx.get(UPLOAD, self.account, GLOBAL, _upload_row_id(bucket, key, upload_id))
        if row is None:
            raise rules.no_such_upload(upload_id)
        return row

    def _upload_info(self, row: Resource) -> Upload:
        doc = row.doc
        return Upload(row.parent, doc["key"], doc["id"], row.created_us, doc.get("class", STANDARD), self.owner,
                      doc.get("algorithm"), doc.get("checksum_type"))

    @staticmethod
    def _part_info(row: Resource, algorithm: str | None) -> Part:
        doc = row.doc
        value = doc.get("checksum")
        return Part(doc["number"], doc["size"], doc["etag"], doc["mtime"], {algorithm: value} if value else {})

    def _discard_upload(self, upload: Resource) -> None:
        """Remove an upload and every part of it (their files once the transaction commits)."""
        while True:
            parts = self.tx.page(PART, self.account, GLOBAL, limit=500, parent=upload.doc["id"], by="id")[0]
            for part in parts:
                self._drop_file(part.doc.get("file"))
                self.tx.delete(part)
            if not parts:
                break
        self.tx.delete(upload)

    def _save_part(self, upload: Resource, number: int, data: bytes, checksum: str | None) -> Part:
        """Store part ``number``; a part sent again replaces the earlier one."""
        upload_id = upload.doc["id"]
        doc = {"number": number, "size": len(data), "etag": checksums.etag(data), "mtime": self.now_us,
               "file": self._new_file(data), "checksum": checksum}
        row = self.tx.get(PART, self.account, GLOBAL, _part_row_id(upload_id, number))
        if row is None:
            row = self.tx.insert(Resource(PART, self.account, GLOBAL, _part_row_id(upload_id, number),
                                          parent=upload_id, created_us=self.now_us, doc=doc))
        else:
            self._drop_file(row.doc.get("file"))
            row.doc = doc
            self.tx.save(row)
        return self._part_info(row, upload.doc.get("algorithm"))

    def create_upload(self, bucket, key, *, content_type=None, metadata=None, tags=None, storage_class=None,
                      cache_control=None, content_disposition=None, content_encoding=None, content_language=None,
                      expires_us=None, acl=None, grants=None, legal_hold=None, retention=None,
                      checksum_algorithm=None, checksum_type=None) -> Upload:
        bucket_row = self._bucket(bucket)
        rules.check_key(key)
        rules.check_metadata(metadata or {})
        rules.check_tags(tags or {})
        self._check_lock_options(bucket_row, legal_hold, retention)
        checksum_type = upload_checksum_type(checksum_algorithm, checksum_type)
        upload_id = new_upload_id(self.now_us)
        # What the object gets when the upload completes, as PutObject would store it.
        doc = {"id": upload_id, "key": key, "type": content_type, "meta": metadata or {}, "tags": tags or {},
               "class": storage_class or STANDARD, "cache_control": cache_control,
               "content_disposition": content_disposition, "content_encoding": content_encoding,
               "content_language": content_language, "expires": expires_us, "acl": self._acl(acl, grants),
               "legal_hold": legal_hold,
               "retention": {"mode": retention.mode, "until": retention.until_us} if retention else None,
               "algorithm": checksum_algorithm, "checksum_type": checksum_type}
        row = self.tx.insert(Resource(UPLOAD, self.account, GLOBAL, _upload_row_id(bucket, key, upload_id),
                                      parent=bucket, created_us=self.now_us, doc=doc))
        return self._upload_info(row)

    def upload_part(self, bucket, key, upload_id, part_number, data, *, checksums=None) -> Part:
        rules.check_part_number(part_number)
        upload = self._upload(bucket, key, upload_id)
        if len(data) > MAX_PART_SIZE:
            raise rules.entity_too_large(len(data), MAX_PART_SIZE)
        given = checksums or {}
        for algorithm, value in given.items():
            verify_checksum(algorithm, value, data)
        algorithm = upload.doc.get("algorithm")
        value = None
        if algorithm is not None:
            other = next((name for name in given if name != algorithm), None)
            if other is not None:
                raise type_mismatch(algorithm, other)
            # A part sent without its checksum gets one computed here; one that cannot be computed here
            # (CRC32C/CRC64NVME without awscrt) is refused as S3 refuses a part without the checksum.
            value = given.get(algorithm) or compute_checksum(algorithm, data)
            if value is None:
                raise type_mismatch(algorithm, None)
        return self._save_part(upload, part_number, data, value)

    def copy_part(self, bucket, key, upload_id, part_number, source_bucket, source_key, *, source_version_id=None,
                  byte_range=None, check_source=None) -> tuple[Part, ObjectInfo]:
        rules.check_part_number(part_number)
        upload = self._upload(bucket, key, upload_id)
        source = self._object(source_bucket, source_key, source_version_id)
        info = self._info(source)
        if check_source is not None:
            check_source(info)
        doc = source.doc
        if doc.get("class") in ARCHIVE_CLASSES and not (info.restore and not info.restore.ongoing):
            raise ObjectError("InvalidObjectState", "The operation is not valid for the object's storage class", 403,
                              StorageClass=doc["class"])
        size = doc.get("size", 0)
        if byte_range is not None:
            first, last = byte_range
            if first > last or last >= size:
                raise rules.invalid_copy_range(size, first, last)
        else:
            if size > MAX_PART_SIZE:
                raise rules.invalid_request("The specified copy source is larger than the maximum allowable size "
                                            f"for a copy source: {MAX_PART_SIZE}")
            first, last = 0, size - 1
        data = self.files.stream(doc["file"], first, last) if last >= first else b""
        algorithm = upload.doc.get("algorithm")
        value = compute_checksum(algorithm, data) if algorithm is not None else None
        return self._save_part(upload, part_number, data, value), info

    def list_parts(self, bucket, key, upload_id, *, max_parts=1000, marker=0) -> PartPage:
        upload = self._upload(bucket, key, upload_id)
        info = self._upload_info(upload)
        if max_parts <= 0:
            return PartPage(info, [], False)
        rows, more = self.tx.page(PART, self.account, GLOBAL, limit=max_parts, parent=upload_id, by="id",
                                  after=[_part_row_id(upload_id, max(marker, 0))])
        return PartPage(info, [self._part_info(row, info.checksum_algorithm) for row in rows], more)

    def complete_upload(self, bucket, key, upload_id, parts, *, checksums=None, checksum_type=None, object_size=None,
                        if_match=None, if_none_match=None) -> ObjectInfo:
        upload = self._upload(bucket, key, upload_id)
        doc = upload.doc
        algorithm, kind = doc.get("algorithm"), doc.get("checksum_type")
        if not parts:
            raise rules.malformed_xml()
        if checksum_type is not None and checksum_type != kind:
            if kind is None:
                raise rules.invalid_request("The x-amz-checksum-type header can only be used with the "
                                            "x-amz-checksum-algorithm header.")
            raise ObjectError("BadDigest", f"The upload was created using the {kind} checksum mode. The complete "
                                           "request must use the same checksum mode.", 400)
        for name in checksums or {}:
            if name != algorithm:
                raise type_mismatch(algorithm, name)
        rows, values = self._listed_parts(upload, parts)
        for row, part in zip(rows[:-1], parts):
            if row.doc["size"] < MIN_PART_SIZE:
                raise rules.entity_too_small(row.doc["size"], part.number, part.etag)
        size = sum(row.doc["size"] for row in rows)
        if object_size is not None and object_size != size:
            raise rules.invalid_request("The provided 'x-amz-mp-object-size' header does not match what was "
                                        "computed")
        data = Joined([self.files.stream(row.doc["file"]) for row in rows if row.doc["size"]])
        kept = {}
        if algorithm is not None:
            value = None
            if kind == COMPOSITE:
                if all(values):
                    value = composite(algorithm, values)
            else:
                value = compute_checksum(algorithm, data)
            given = (checksums or {}).get(algorithm)
            if given is not None and value is not None and given != value:
                raise ObjectError("BadDigest", f"The {algorithm} you specified did not match the calculated "
                                               "checksum.", 400)
            value = value or given   # one that cannot be computed here is kept as sent, as PutObject does
            if value:
                kept[algorithm] = value
        bucket_row = self._bucket(bucket)
        self._check_write_conditions(bucket, key, if_match, if_none_match)
        new = {name: doc.get(name) for name in ("type", "meta", "tags", "class", "cache_control",
                                                "content_disposition", "content_encoding", "content_language",
                                                "expires", "acl", "legal_hold", "retention")}
        new.update(checksums=kept, checksum_type=kind if kept else None, parts=[row.doc["size"] for row in rows],
                   part_checksums=values if kept else None)
        etag = multipart_etag([row.doc["etag"] for row in rows])
        # S3 dates a multipart object by when its upload was initiated, not completed.
        info = self._write(bucket_row, key, data, new, etag=etag, mtime_us=upload.created_us)
        self._discard_upload(upload)
        return info

    def _listed_parts(self, upload: Resource, parts: list[CompletedPart]) -> tuple[list[Resource], list]:
        """The part rows CompleteMultipartUpload names, in order, and the checksum of each (None when the
        upload has no checksum algorithm or the part's cannot be known)."""
        upload_id, algorithm, kind = upload.doc["id"], upload.doc.get("algorithm"), upload.doc.get("checksum_type")
        rows, values = [], []
        previous = 0
        for index, part in enumerate(parts, 1):
            number = part.number
            if number < 1:
                raise rules.invalid_argument("PartNumber must be >= 1", "PartNumber", str(number))
            # Parts with checksums must also be numbered 1, 2, 3... (CompletedPart.PartNumber in the S3 API
            # reference).
            if number <= previous or (algorithm is not None and number != index):
                raise rules.invalid_part_order(upload_id)
            previous = number
            row = self.tx.get(PART, self.account, GLOBAL, _part_row_id(upload_id, number))
            if row is None or row.doc["etag"].strip('"') != part.etag.strip().strip('"'):
                raise rules.invalid_part(upload_id, number, part.etag)
            stored = row.doc.get("checksum")
            value = None
            # Without an algorithm, checksums a client lists anyway (SDKs send one with every part by
            # default) are not the upload's. CompletedPart's checksums are "present if the multipart upload
            # request was created with" that algorithm (API reference); S3's answer otherwise is not
            # documented, so they are let be.
            if algorithm is not None:
                if any(name != algorithm for name in part.checksums):
                    raise rules.invalid_part(upload_id, number, part.etag)
                value = part.checksums.get(algorithm)
                if value is None and kind == COMPOSITE:
                    raise rules.invalid_request(
                        f"The upload was created using a {algorithm.lower()} checksum. The complete request must "
                        f"include the checksum for each part. It was missing for part {number} in the request.")
                if value is not None and stored is not None and value != stored:
                    raise rules.invalid_part(upload_id, number, part.etag)
                value = stored or value
            rows.append(row)
            values.append(value)
        return rows, values

    def abort_upload(self, bucket, key, upload_id) -> None:
        self._discard_upload(self._upload(bucket, key, upload_id))

    def list_uploads(self, bucket, *, prefix="", delimiter=None, max_uploads=1000, key_marker=None,
                     upload_id_marker=None) -> UploadPage:
        self._bucket(bucket)
        delimiter = delimiter or None
        full_prefix = _object_id(bucket, prefix)
        start = _before(full_prefix)
        after = start
        if key_marker is not None:
            if upload_id_marker:
                after = _upload_row_id(bucket, key_marker, upload_id_marker)
            elif delimiter and self._rolled_up(key_marker, prefix, delimiter) == key_marker:
                after = _object_id(bucket, key_marker + _PAST)   # a common prefix: none of its keys come again
            else:
                after = _upload_row_id(bucket, key_marker, _PAST)
            after = max(after, start)
        uploads: list[Upload] = []
        prefixes: list[str] = []
        last = ("", "")
        if max_uploads <= 0:
            return UploadPage(uploads, prefixes, False)
        ended = False
        while not ended and len(uploads) + len(prefixes) < max_uploads:
            want = max_uploads - len(uploads) - len(prefixes)
            rows, more = self.tx.page(UPLOAD, self.account, GLOBAL, limit=min(want, 8) if delimiter else want,
                                      after=[after], parent=bucket, by="id")
            ended = not more
            for row in rows:
                if not row.id.startswith(full_prefix):
                    ended = True
                    break
                key = row.doc["key"]
                common = self._rolled_up(key, prefix, delimiter) if delimiter else None
                if common is not None:
                    prefixes.append(common)
                    last = (common, "")
                    after, ended = _object_id(bucket, common + _PAST), False
                    break
                uploads.append(self._upload_info(row))
                last, after = (key, row.doc["id"]), row.id
                if len(uploads) + len(prefixes) >= max_uploads:
                    break
        truncated = False
        if not ended:
            probe = self.tx.page(UPLOAD, self.account, GLOBAL, limit=1, after=[after], parent=bucket, by="id")[0]
            truncated = bool(probe) and probe[0].id.startswith(full_prefix)
        return UploadPage(uploads, prefixes, truncated, *last)

    @staticmethod
    def _rolled_up(key: str, prefix: str, delimiter: str) -> str | None:
        """The common prefix ``key`` rolls up into under ``prefix`` and ``delimiter``, if any."""
        if not key.startswith(prefix):
            return None
        cut = key.find(delimiter, len(prefix))
        return key[:cut + len(delimiter)] if cut >= 0 else None

    def part_range(self, bucket, key, part_number, *, version_id=None) -> tuple[int, int, int | None]:
        row = self._object(bucket, key, version_id)
        sizes = row.doc.get("parts")
        if sizes is None:   # written in one piece: part 1 is the whole object
            if part_number != 1:
                raise rules.invalid_part_number(part_number, 1)
            return 0, row.doc.get("size", 0) - 1, None
        if not 1 <= part_number <= len(sizes):
            raise rules.invalid_part_number(part_number, len(sizes))
        first = sum(sizes[:part_number - 1])
        return first, first + sizes[part_number - 1] - 1, len(sizes)

    # -- listings of version 1, versions, attributes ---------------------------------------------------

    def list_from_marker(self, bucket, *, prefix="", delimiter=None, max_keys=1000, marker=None) -> MarkerPage:
        delimiter = delimiter or None
        start_after = marker or None
        if start_after is not None and delimiter and self._rolled_up(start_after, prefix, delimiter) == start_after:
            start_after += _PAST   # a common prefix already listed: none of its keys come again
        page = self.list(bucket, prefix=prefix, delimiter=delimiter, max_keys=max_keys, start_after=start_after)
        listed = [info.key for info in page.objects[-1:]] + page.common_prefixes[-1:]
        return MarkerPage(page.objects, page.common_prefixes, page.is_truncated,
                          max(listed) if page.is_truncated and listed else None)

    def list_versions(self, bucket, *, prefix="", delimiter=None, max_keys=1000, key_marker=None,
                      version_id_marker=None) -> VersionPage:
        # Two keyset scans merged by key: the current versions (``s3.object``) and the older ones and delete
        # markers (``s3.version``, newest first within a key). A common prefix is passed with one seek in each.
        self._bucket(bucket)
        delimiter = delimiter or None
        start = _before(_object_id(bucket, prefix))
        object_after, version_after = start, start
        resumed = None   # the key listed from the middle of its versions
        if key_marker is not None:
            if version_id_marker is not None:
                marked = self._find(bucket, key_marker, version_id_marker)
                if marked is not None:
                    sort_key = _sort_key(marked.doc)
                elif version_id_marker != "null":
                    # Gone since (a page deleted as it is listed): a version id is its own sort key.
                    sort_key = version_id_marker
                else:
                    sort_key = _PAST
                # The current version comes again only when it is older than the one named (it was deleted
                # and an older version took its place).
                now_current = self._current(bucket, key_marker)
                older = now_current is not None and _sort_key(now_current.doc) > sort_key
                object_after = _before(_object_id(bucket, key_marker)) if older else _object_id(bucket, key_marker)
                version_after = _version_row_id(bucket, key_marker, sort_key)
                resumed = key_marker
            elif delimiter and self._rolled_up(key_marker, prefix, delimiter) == key_marker:
                object_after = version_after = _object_id(bucket, key_marker + _PAST)
            else:
                object_after = _object_id(bucket, key_marker)
                version_after = _version_row_id(bucket, key_marker, _PAST)
            object_after, version_after = max(object_after, start), max(version_after, start)
        batch = 8 if delimiter else min(max_keys + 1, 1000)
        current = _Scan(self, OBJECT, bucket, prefix, object_after, batch)
        older = _Scan(self, VERSION, bucket, prefix, version_after, batch)
        versions: list[ObjectInfo] = []
        prefixes: list[str] = []
        last: tuple[str, str | None] | None = None
        previous = None   # the key of the entry listed just before
        while len(versions) + len(prefixes) < max_keys:
            a, b = current.peek(), older.peek()
            if a is None and b is None:
                return VersionPage(versions, prefixes, False)
            # A key's current version comes before its older ones, which come newest first.
            row = a if b is None or (a is not None and a.doc["key"] <= b.doc["key"]) else b
            key = row.doc["key"]
            common = self._rolled_up(key, prefix, delimiter) if delimiter else None
            if common is not None:
                prefixes.append(common)
                last, previous = (common, None), None
                past = _object_id(bucket, common + _PAST)
                current.seek(past)
                older.seek(past)
                continue
            (current if row is a else older).pop()
            info = self._info(row)
            if row.kind == VERSION:
                info.is_latest = (False if key == previous else
                                  self._is_latest(row) if key == resumed else True)
            versions.append(info)
            previous = key
            last = (key, info.version_id or "null")
        truncated = current.peek() is not None or older.peek() is not None
        if not truncated:
            return VersionPage(versions, prefixes, False)
        return VersionPage(versions, prefixes, True, *last) if last else VersionPage(versions, prefixes, True)

    def head_version(self, bucket, key, *, version_id=None) -> ObjectInfo:
        self._bucket(bucket)
        row = self._find(bucket, key, version_id)
        if row is None and version_id is None:
            row = self._newest_version(bucket, key)   # without a current version, the newest is a delete marker
        if row is None:
            raise rules.no_such_key(key) if version_id is None else rules.no_such_version(key, version_id)
        info = self._info(row)
        info.is_latest = self._is_latest(row)
        return info

    def object_parts(self, bucket, key, *, version_id=None, max_parts=1000, marker=0) -> ObjectParts | None:
        doc = self._object(bucket, key, version_id).doc
        sizes = doc.get("parts")
        if sizes is None:
            return None
        algorithm = next(iter(doc.get("checksums") or {}), None)
        values = doc.get("part_checksums") or []
        parts = []
        for number in range(max(marker, 0) + 1, min(len(sizes), max(marker, 0) + max_parts) + 1):
            value = values[number - 1] if number <= len(values) else None
            parts.append(Part(number, sizes[number - 1], "", 0, {algorithm: value} if algorithm and value else {}))
        return ObjectParts(len(sizes), parts, max(marker, 0) + max_parts < len(sizes))


class _Scan:
    """A keyset scan of one kind of a bucket's rows under a prefix, read a batch at a time, that can seek
    forward (past a common prefix) without reading the rows it passes."""

    def __init__(self, store: BuiltinObjectStore, kind: str, bucket: str, prefix: str, after: str, batch: int):
        self.store, self.kind, self.bucket, self.prefix = store, kind, bucket, prefix
        self.after, self.batch = after, batch
        self.rows: deque[Resource] = deque()
        self.more = True

    def peek(self) -> Resource | None:
        if not self.rows and self.more:
            rows, self.more = self.store.tx.page(self.kind, self.store.account, GLOBAL, limit=self.batch,
                                                 after=[self.after], parent=self.bucket, by="id")
            if rows:
                self.after = rows[-1].id
            self.rows.extend(rows)
            self.batch = min(self.batch * 2, 1000)
        if self.rows and not self.rows[0].doc["key"].startswith(self.prefix):
            self.rows.clear()   # past the prefix: nothing further is listed
            self.more = False
        return self.rows[0] if self.rows else None

    def pop(self) -> Resource:
        return self.rows.popleft()

    def seek(self, after: str) -> None:
        while self.rows and self.rows[0].id <= after:
            self.rows.popleft()
        if not self.rows and self.more:
            self.after = max(self.after, after)
            self.batch = 8


def _no_lock_configuration_on_object() -> ObjectError:
    return ObjectError("NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock configuration",
                       404)


def _bad_token(name: str = "continuation-token") -> ObjectError:
    return rules.invalid_argument("The continuation token provided is incorrect", name)


def _before(text: str) -> str:
    """A string just below ``text`` and above every string smaller than it that does not start with it
    — the exclusive keyset bound from which ``text`` itself is the first row."""
    if not text:
        return ""
    last = text[-1]
    if last == "\x00":
        return text[:-1]
    return text[:-1] + chr(ord(last) - 1) + _PAST
