"""The object layer's interface: what services may do with S3 objects, and the values it hands back.

An ``ObjectLayer`` is made once per server (built-in store or an external S3 endpoint); ``bind`` gives an
``ObjectStore`` for one account inside one store transaction at one simulated instant. Every failure is
an ``ObjectError``: a ``ServiceError`` carrying S3's own error code, message and HTTP status, so the S3
API can pass it straight on and job services can record the code (``NoSuchKey``...) as a task's result.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Iterator

from ..errors import ServiceError
from ..lifecycle import Handler

DEFAULT_REGION = "us-east-1"
DEFAULT_CONTENT_TYPE = "binary/octet-stream"   # what S3 answers for an object stored without one
STANDARD = "STANDARD"
# Storage classes whose objects must be restored before they can be read.
ARCHIVE_CLASSES = ("GLACIER", "DEEP_ARCHIVE")
# Multipart upload limits (S3 user guide, "Amazon S3 multipart upload limits").
MIN_PART_SIZE = 5 * 1024 * 1024          # every part but the last
MAX_PART_SIZE = 5 * 1024 * 1024 * 1024
MAX_PARTS = 10000
MAX_PUT_SIZE = 5 * 1024 * 1024 * 1024    # one PUT of a whole object (S3 user guide, "Uploading objects")


class ObjectError(ServiceError):
    """An S3 error (code, message, HTTP status, extra members of S3's ``<Error>`` element)."""


# -- values ---------------------------------------------------------------------------------------


@dataclass
class Retention:
    mode: str                # "GOVERNANCE" or "COMPLIANCE"
    until_us: int            # retain-until date, simulated microseconds


@dataclass
class RestoreStatus:
    ongoing: bool
    expiry_us: int | None = None   # when the restored copy goes away (None while ongoing)
    tier: str = "Standard"


@dataclass
class ObjectInfo:
    """One version of an object (or a delete marker), without its bytes."""

    bucket: str
    key: str
    size: int = 0
    etag: str = ""                          # quoted, as S3 sends it: '"<md5 hex>"' for single-part puts
    last_modified_us: int = 0
    version_id: str | None = None           # None is S3's "null" version (never versioned, or suspended)
    content_type: str = DEFAULT_CONTENT_TYPE
    metadata: dict[str, str] = field(default_factory=dict)   # user metadata (x-amz-meta-*), lower-case names
    cache_control: str | None = None
    content_disposition: str | None = None
    content_encoding: str | None = None
    content_language: str | None = None
    expires_us: int | None = None
    storage_class: str = STANDARD
    tag_count: int = 0
    # "CRC32" / "CRC32C" / "CRC64NVME" / "SHA1" / "SHA256" -> base64 value ("" when only the algorithm is
    # known: an external server's listings name the algorithm without the value)
    checksums: dict[str, str] = field(default_factory=dict)
    # How ``checksums`` were computed: "FULL_OBJECT", or "COMPOSITE" (a multipart object's checksum of its
    # parts' checksums, with a ``-N`` suffix)
    checksum_type: str = "FULL_OBJECT"
    legal_hold: str | None = None           # "ON" / "OFF" / None (never set)
    retention: Retention | None = None
    restore: RestoreStatus | None = None
    owner: str = ""                         # canonical user id of the owner
    delete_marker: bool = False
    is_latest: bool = True


@dataclass
class ObjectBody:
    """An object's bytes (or the requested range of them) with its description."""

    info: ObjectInfo
    data: bytes
    content_range: tuple[int, int] | None = None   # (first, last) byte served when a range was asked for


@dataclass
class Deleted:
    version_id: str | None        # the version removed, or the delete marker created
    delete_marker: bool           # a delete marker was created, or the version removed was one


@dataclass
class ListPage:
    objects: list[ObjectInfo]
    common_prefixes: list[str]
    next_token: str | None        # pass as ``token`` for the next page; None on the last page

    @property
    def is_truncated(self) -> bool:
        return self.next_token is not None


@dataclass
class MarkerPage:
    """A page of ListObjects (version 1): current objects and common prefixes after a marker."""

    objects: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_marker: str | None = None   # the page's last key or common prefix, when truncated


@dataclass
class VersionPage:
    """A page of ListObjectVersions: versions and delete markers (``ObjectInfo.delete_marker``), by key, then
    newest first, with ``is_latest`` set; the markers name the page's last entry when it is truncated."""

    versions: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None = None
    next_version_id_marker: str | None = None   # "null" for the null version; None after a common prefix


@dataclass
class ObjectParts:
    """The parts of a multipart object (GetObjectAttributes' ``ObjectParts``), numbered above a marker."""

    total: int
    parts: list[Part]
    is_truncated: bool


@dataclass
class BucketInfo:
    name: str
    region: str
    created_us: int
    versioning: str | None = None   # None (never enabled), "Enabled" or "Suspended"
    object_lock: bool = False
    owner: str = ""


@dataclass
class BucketPage:
    buckets: list[BucketInfo]
    next_token: str | None


@dataclass
class Upload:
    """A multipart upload in progress."""

    bucket: str
    key: str
    upload_id: str
    initiated_us: int = 0
    storage_class: str = STANDARD
    owner: str = ""
    checksum_algorithm: str | None = None   # the parts' and the object's algorithm, if one was chosen
    checksum_type: str | None = None        # "COMPOSITE" or "FULL_OBJECT" when there is an algorithm


@dataclass
class Part:
    """One uploaded part of a multipart upload."""

    number: int
    size: int
    etag: str                                # quoted MD5 of the part's bytes
    last_modified_us: int = 0
    checksums: dict[str, str] = field(default_factory=dict)


@dataclass
class CompletedPart:
    """A part as CompleteMultipartUpload names it: number, ETag (quotes optional) and any checksums."""

    number: int
    etag: str
    checksums: dict[str, str] = field(default_factory=dict)


@dataclass
class PartPage:
    upload: Upload
    parts: list[Part]
    is_truncated: bool


@dataclass
class UploadPage:
    uploads: list[Upload]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str = ""        # the last upload's key (or the last common prefix) of the page
    next_upload_id_marker: str = ""  # the last upload's id ("" when the page ended with a common prefix)


@dataclass
class Acl:
    owner: str                     # canonical user id
    grants: list[dict]             # S3 ``Grant`` dicts: {"Grantee": {"Type": ..., "ID"/"URI": ...}, "Permission": ...}


# -- the interface ----------------------------------------------------------------------------------


class ObjectStore(ABC):
    """S3 objects of one account, with S3's rules and errors.

    ``version_id`` arguments name a version (``"null"`` is the null version); None means the current
    one. Methods that change a version return the id of the version they changed (None for the null
    version). Byte ranges are ``(first, last)`` as in HTTP: ``(a, b)``, ``(a, None)`` from ``a`` to the
    end, ``(None, n)`` the last ``n`` bytes.
    """

    account: str

    # buckets
    @abstractmethod
    def bucket_exists(self, bucket: str) -> bool: ...

    @abstractmethod
    def create_bucket(self, bucket: str, *, region: str = DEFAULT_REGION, object_lock: bool = False) -> BucketInfo: ...

    @abstractmethod
    def head_bucket(self, bucket: str) -> BucketInfo: ...

    @abstractmethod
    def delete_bucket(self, bucket: str) -> None: ...

    @abstractmethod
    def list_buckets(self, *, prefix: str = "", region: str | None = None, max_buckets: int = 10000,
                     token: str | None = None) -> BucketPage: ...

    @abstractmethod
    def versioning(self, bucket: str) -> str | None:
        """None (never enabled), "Enabled" or "Suspended"."""

    @abstractmethod
    def set_versioning(self, bucket: str, status: str) -> None: ...

    # objects
    @abstractmethod
    def put(self, bucket: str, key: str, data: bytes, *, content_type: str | None = None,
            metadata: dict[str, str] | None = None, tags: dict[str, str] | None = None,
            storage_class: str | None = None, cache_control: str | None = None,
            content_disposition: str | None = None, content_encoding: str | None = None,
            content_language: str | None = None, expires_us: int | None = None,
            checksums: dict[str, str] | None = None, acl: str | None = None, grants: list[dict] | None = None,
            legal_hold: str | None = None, retention: Retention | None = None,
            if_match: str | None = None, if_none_match: str | None = None) -> ObjectInfo:
        """Store ``data`` as the new current version of ``key``. ``acl`` is a canned ACL, ``grants`` explicit
        ones; ``checksums`` (algorithm -> base64) are checked against the bytes (BadDigest) and kept."""

    @abstractmethod
    def get(self, bucket: str, key: str, *, version_id: str | None = None,
            byte_range: tuple[int | None, int | None] | None = None) -> ObjectBody:
        """The bytes (InvalidObjectState for an archived object that is not restored, InvalidRange)."""

    @abstractmethod
    def head(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo: ...

    @abstractmethod
    def delete(self, bucket: str, key: str, *, version_id: str | None = None,
               bypass_governance: bool = False) -> Deleted:
        """Without ``version_id``: remove the key (a versioned bucket gets a delete marker instead). With
        it: remove that version for good (AccessDenied while Object Lock protects it)."""

    @abstractmethod
    def list(self, bucket: str, *, prefix: str = "", delimiter: str | None = None, max_keys: int = 1000,
             start_after: str | None = None, token: str | None = None) -> ListPage:
        """One page of current objects in key (UTF-8 byte) order, as ListObjectsV2; ``token`` is the
        previous page's ``next_token`` (InvalidArgument when it belongs to another listing)."""

    @abstractmethod
    def list_from_marker(self, bucket: str, *, prefix: str = "", delimiter: str | None = None,
                         max_keys: int = 1000, marker: str | None = None) -> MarkerPage:
        """ListObjects (version 1): current objects after ``marker`` in key order. A marker that is a common
        prefix of this listing (a previous page's ``next_marker``) skips every key under it."""

    @abstractmethod
    def list_versions(self, bucket: str, *, prefix: str = "", delimiter: str | None = None,
                      max_keys: int = 1000, key_marker: str | None = None,
                      version_id_marker: str | None = None) -> VersionPage:
        """ListObjectVersions: every version and delete marker after the markers, in key order and newest
        first within a key. Without ``version_id_marker`` the listing starts after every version of
        ``key_marker``; with it, after that version of ``key_marker`` (``"null"`` names the null version)."""

    @abstractmethod
    def head_version(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo:
        """Like ``head``, but a delete marker is described (``delete_marker``, ``is_latest``) rather than
        refused: without ``version_id``, the newest version of the key whether it is one or not."""

    @abstractmethod
    def object_parts(self, bucket: str, key: str, *, version_id: str | None = None, max_parts: int = 1000,
                     marker: int = 0) -> ObjectParts | None:
        """The parts of a version made by a multipart upload numbered above ``marker`` (their checksums when
        the upload had an algorithm), or None for an object written in one piece."""

    @abstractmethod
    def copy(self, source_bucket: str, source_key: str, bucket: str, key: str, *,
             source_version_id: str | None = None, metadata: dict[str, str] | None = None,
             content_type: str | None = None, cache_control: str | None = None,
             content_disposition: str | None = None, content_encoding: str | None = None,
             content_language: str | None = None, expires_us: int | None = None,
             tags: dict[str, str] | None = None, storage_class: str | None = None, acl: str | None = None,
             grants: list[dict] | None = None, legal_hold: str | None = None,
             retention: Retention | None = None, checksum_algorithm: str | None = None) -> ObjectInfo:
        """Copy a version to ``bucket``/``key``. ``metadata=None`` keeps the source's metadata and content
        headers (MetadataDirective COPY), a dict replaces them with the given ones; ``tags=None`` keeps the
        source's tags. The copy is STANDARD unless ``storage_class`` says otherwise, as on S3."""

    @abstractmethod
    def get_tags(self, bucket: str, key: str, *,
                 version_id: str | None = None) -> tuple[dict[str, str], str | None]:
        """(tags, version id of the version read)."""

    @abstractmethod
    def put_tags(self, bucket: str, key: str, tags: dict[str, str], *, version_id: str | None = None) -> str | None: ...

    @abstractmethod
    def delete_tags(self, bucket: str, key: str, *, version_id: str | None = None) -> str | None: ...

    @abstractmethod
    def get_acl(self, bucket: str, key: str, *, version_id: str | None = None) -> Acl: ...

    @abstractmethod
    def set_acl(self, bucket: str, key: str, *, acl: str | None = None, grants: list[dict] | None = None,
                version_id: str | None = None) -> str | None: ...

    @abstractmethod
    def get_legal_hold(self, bucket: str, key: str, *, version_id: str | None = None) -> str: ...

    @abstractmethod
    def set_legal_hold(self, bucket: str, key: str, status: str, *, version_id: str | None = None) -> str | None: ...

    @abstractmethod
    def get_retention(self, bucket: str, key: str, *, version_id: str | None = None) -> Retention: ...

    @abstractmethod
    def set_retention(self, bucket: str, key: str, retention: Retention | None, *, version_id: str | None = None,
                      bypass_governance: bool = False) -> str | None:
        """Set (None: remove) the retention. A COMPLIANCE lock can only be extended; a GOVERNANCE one can be
        shortened or removed with ``bypass_governance``; otherwise AccessDenied."""

    @abstractmethod
    def restore(self, bucket: str, key: str, *, days: int, tier: str = "Standard",
                version_id: str | None = None) -> bool:
        """Start restoring an archived (GLACIER / DEEP_ARCHIVE) object for ``days``: True when a restore
        started (it completes on the simulated clock after the tier's time), False when the object was
        already restored and only its expiry moved."""

    # multipart uploads

    @abstractmethod
    def create_upload(self, bucket: str, key: str, *, content_type: str | None = None,
                      metadata: dict[str, str] | None = None, tags: dict[str, str] | None = None,
                      storage_class: str | None = None, cache_control: str | None = None,
                      content_disposition: str | None = None, content_encoding: str | None = None,
                      content_language: str | None = None, expires_us: int | None = None, acl: str | None = None,
                      grants: list[dict] | None = None, legal_hold: str | None = None,
                      retention: Retention | None = None, checksum_algorithm: str | None = None,
                      checksum_type: str | None = None) -> Upload:
        """Start a multipart upload; what is given here describes the object that completing it makes."""

    @abstractmethod
    def upload_part(self, bucket: str, key: str, upload_id: str, part_number: int, data: bytes, *,
                    checksums: dict[str, str] | None = None) -> Part:
        """Store (or replace) part ``part_number`` (1-10,000) of an upload (NoSuchUpload when it is not in
        progress). ``checksums`` are checked against the bytes; an upload with a checksum algorithm keeps
        that algorithm's checksum of each part."""

    @abstractmethod
    def copy_part(self, bucket: str, key: str, upload_id: str, part_number: int, source_bucket: str,
                  source_key: str, *, source_version_id: str | None = None,
                  byte_range: tuple[int, int] | None = None,
                  check_source: Callable[[ObjectInfo], None] | None = None) -> tuple[Part, ObjectInfo]:
        """Make part ``part_number`` from an object's bytes (``byte_range`` = first and last byte, both
        within the object); ``check_source`` may refuse the source (copy conditions). Returns the part and
        the source version copied."""

    @abstractmethod
    def list_parts(self, bucket: str, key: str, upload_id: str, *, max_parts: int = 1000,
                   marker: int = 0) -> PartPage:
        """The upload and its parts numbered above ``marker``, in part number order."""

    @abstractmethod
    def complete_upload(self, bucket: str, key: str, upload_id: str, parts: list[CompletedPart], *,
                        checksums: dict[str, str] | None = None, checksum_type: str | None = None,
                        object_size: int | None = None, if_match: str | None = None,
                        if_none_match: str | None = None) -> ObjectInfo:
        """Join the listed parts (ascending part numbers, every one but the last at least 5 MiB) into the
        new current version of ``key``; the upload and all its parts are gone afterwards. ``checksums``
        (the object's, algorithm -> base64) and ``object_size`` are checked against the result."""

    @abstractmethod
    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        """Discard an upload and its parts (NoSuchUpload when it is not in progress)."""

    @abstractmethod
    def list_uploads(self, bucket: str, *, prefix: str = "", delimiter: str | None = None,
                     max_uploads: int = 1000, key_marker: str | None = None,
                     upload_id_marker: str | None = None) -> UploadPage:
        """Uploads in progress by key (UTF-8 byte order), then by initiation, after the markers: the
        uploads of ``key_marker`` itself are included only after ``upload_id_marker``."""

    @abstractmethod
    def part_range(self, bucket: str, key: str, part_number: int, *,
                   version_id: str | None = None) -> tuple[int, int, int | None]:
        """(first byte, last byte, part count) of a part of an object (InvalidPartNumber when there is
        no such part). An object written in one piece is its own part 1 and has no part count; an empty
        part has ``last < first``."""

    # conveniences built on the operations above

    def walk(self, bucket: str, prefix: str = "", page_size: int = 1000) -> Iterator[ObjectInfo]:
        """Every object under ``prefix`` in key order, page by page."""
        token = None
        while True:
            page = self.list(bucket, prefix=prefix, max_keys=page_size, token=token)
            yield from page.objects
            if page.next_token is None:
                return
            token = page.next_token

    def read(self, bucket: str, key: str, *, version_id: str | None = None) -> bytes:
        return self.get(bucket, key, version_id=version_id).data


class ObjectLayer(ABC):
    """Makes ``ObjectStore``s; one per server, chosen by ``--s3-endpoint``."""

    @abstractmethod
    def bind(self, tx, account: str, now_us: int, files=None) -> ObjectStore:
        """The store of ``account`` for work inside ``tx`` (the request's or a transition's) at ``now_us``;
        ``files`` is that transaction's ``TxFiles`` (``ctx.files``), where a layer keeps bytes locally, so that
        they are written and removed with the transaction."""

    def has_bucket(self, account: str, bucket: str) -> bool:
        """Whether ``account`` owns ``bucket``, outside any request (for telling apart addressing styles)."""
        return False

    def transitions(self) -> dict[str, Handler]:
        """The scheduled-transition handler of each resource kind the layer keeps (restores of archived objects)."""
        return {}
