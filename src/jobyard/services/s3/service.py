"""Amazon S3 (REST-XML, 2006-03-01): the object API that jobs of the other services read and write,
multipart uploads included.

Every operation works through the object layer (``ctx.objects``), so it serves the built-in store or an
external S3 (``--s3-endpoint``) alike. Errors are S3's own codes in S3's ``<Error>`` layout (S3 API
reference, "Error responses"); operations of S3 that are not implemented here answer ``NotImplemented``
(501). Buckets are per account: a name another account uses is free for you (on AWS bucket names are
global across accounts; here accounts are isolated so that they can stand for separate users).
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import parse_qsl, quote, unquote

from ...clock import from_datetime, to_datetime
from ...objects import CompletedPart, ObjectError, ObjectInfo, Retention, checksums, rules
from ...objects.api import DEFAULT_REGION, STANDARD
from ...objects.rules import invalid_argument, malformed_xml
from ...outputs import SEQUENCE, STARTED
from ..base import Context, Service, operation
from .errors import (ERRORS, duplicate_tag, illegal_location_constraint, invalid_location_constraint,
                     no_lock_configuration, not_implemented, not_modified, unexpected_content)

MAX_KEYS = 1000
MAX_DELETE_OBJECTS = 1000
MAX_LISTED_PARTS = MAX_LISTED_UPLOADS = 1000
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_COPY_RANGE = re.compile(r"bytes=(\d+)-(\d+)")
_GRANT_ITEM = re.compile(r'\s*(id|uri|emailAddress)\s*=\s*"?([^",]*)"?\s*', re.IGNORECASE)
_GRANT_HEADERS = {"GrantFullControl": "FULL_CONTROL", "GrantRead": "READ", "GrantReadACP": "READ_ACP",
                  "GrantWrite": "WRITE", "GrantWriteACP": "WRITE_ACP"}
# Members of an operation's input that name a response override (GetObject's response-* parameters).
_OVERRIDES = {"ResponseCacheControl": "CacheControl", "ResponseContentDisposition": "ContentDisposition",
              "ResponseContentEncoding": "ContentEncoding", "ResponseContentLanguage": "ContentLanguage",
              "ResponseContentType": "ContentType"}
_REGION_ALIASES = {"EU": "eu-west-1"}


def _us(value: datetime | None) -> int | None:
    return from_datetime(value) if value is not None else None


# -- reading S3's header forms --------------------------------------------------------------------------

def parse_tagging(text: str) -> dict[str, str]:
    """``x-amz-tagging``: a URL query string of tags."""
    tags: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        if key in tags:
            raise duplicate_tag(key)
        tags[key] = value
    return tags


def tag_set(items: list[dict]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in items:
        key, value = item.get("Key"), item.get("Value", "")
        if key is None:
            raise malformed_xml()
        if key in tags:
            raise duplicate_tag(key)
        tags[key] = value
    return tags


def header_grants(params: dict) -> list[dict] | None:
    """``x-amz-grant-*`` headers (``id="..."``, ``uri="..."``, ``emailAddress="..."``, comma-separated)."""
    grants = []
    for member, permission in _GRANT_HEADERS.items():
        text = params.get(member)
        if not text:
            continue
        for item in text.split(","):
            match = _GRANT_ITEM.fullmatch(item)
            if match is None:
                raise invalid_argument("Invalid grant header", f"x-amz-grant-{permission.lower()}", text)
            kind, value = match.group(1).lower(), match.group(2)
            grantee = ({"Type": "CanonicalUser", "ID": value} if kind == "id" else
                       {"Type": "Group", "URI": value} if kind == "uri" else
                       {"Type": "AmazonCustomerByEmail", "EmailAddress": value})
            grants.append({"Grantee": grantee, "Permission": permission})
    return grants or None


def parse_range(text: str | None) -> tuple[int | None, int | None] | None:
    """A single ``bytes=`` range, or None: S3 ignores a Range header it cannot use (several ranges, bad
    syntax) and sends the whole object."""
    if not text:
        return None
    match = _RANGE.fullmatch(text.strip())
    if match is None or (not match.group(1) and not match.group(2)):
        return None
    first = int(match.group(1)) if match.group(1) else None
    last = int(match.group(2)) if match.group(2) else None
    if first is not None and last is not None and last < first:
        return None
    return first, last


def parse_copy_source(text: str) -> tuple[str, str, str | None]:
    """``x-amz-copy-source``: ``[/]bucket/key[?versionId=v]``, URL-encoded."""
    path, _, query = text.partition("?")
    path = unquote(path).lstrip("/")
    bucket, _, key = path.partition("/")
    version_id = dict(parse_qsl(query)).get("versionId") if query else None
    if not bucket or not key:
        raise invalid_argument("Invalid copy source object key", "x-amz-copy-source", text)
    return bucket, key, version_id


def parse_copy_range(text: str | None) -> tuple[int, int] | None:
    """``x-amz-copy-source-range``: exactly ``bytes=first-last`` (InvalidArgument otherwise)."""
    if text is None:
        return None
    match = _COPY_RANGE.fullmatch(text.strip())
    if match is None:
        raise invalid_argument("The x-amz-copy-source-range value must be of the form bytes=first-last where first "
                               "and last are the zero-based offsets of the first and last bytes to copy",
                               "x-amz-copy-source-range", text)
    return int(match.group(1)), int(match.group(2))


def list_limit(params: dict, member: str, argument: str, maximum: int) -> int:
    """``max-parts`` / ``max-uploads``: at most ``maximum`` (S3 lowers larger values), never negative."""
    value = params.get(member)
    if value is None:
        return maximum
    if value < 0:
        raise invalid_argument(f"Argument {argument} must be an integer between 0 and 2147483647", argument, value)
    return min(value, maximum)


def lock_retention(params: dict) -> Retention | None:
    mode, until = params.get("ObjectLockMode"), params.get("ObjectLockRetainUntilDate")
    if (mode is None) != (until is None):
        raise invalid_argument("x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be "
                               "supplied", "x-amz-object-lock-mode" if mode is None else
                               "x-amz-object-lock-retain-until-date")
    return Retention(mode, from_datetime(until)) if mode is not None else None


def given_checksums(params: dict) -> dict[str, str]:
    return {name: params[f"Checksum{name}"] for name in checksums.ALGORITHMS if params.get(f"Checksum{name}")}


def body_checksums(params: dict, data: bytes) -> dict[str, str]:
    """The checksums a PutObject/UploadPart sent, plus the one of ``x-amz-sdk-checksum-algorithm`` when the
    header itself is missing (computed here, when it can be)."""
    given = given_checksums(params)
    algorithm = params.get("ChecksumAlgorithm")
    if algorithm and algorithm not in given:
        computed = checksums.compute(algorithm, data)
        if computed is not None:
            given[algorithm] = computed
    return given


def checksum_members(values: dict[str, str]) -> dict[str, str]:
    return {f"Checksum{name}": value for name, value in values.items() if value}


def restore_header(info: ObjectInfo) -> str | None:
    status = info.restore
    if status is None:
        return None
    if status.ongoing:
        return 'ongoing-request="true"'
    expiry = to_datetime(status.expiry_us).strftime("%a, %d %b %Y %H:%M:%S GMT")
    return f'ongoing-request="false", expiry-date="{expiry}"'


def check_preconditions(info: ObjectInfo, if_match, if_none_match, if_modified_since, if_unmodified_since,
                        names=("If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"),
                        not_modified_status: int = 304) -> None:
    """RFC 7232 conditions as S3 applies them: If-Match wins over If-Unmodified-Since, If-None-Match over
    If-Modified-Since; a failed If-Match / If-Unmodified-Since is 412, the others 304 (CopyObject: 412)."""
    modified_s = info.last_modified_us // 1_000_000   # HTTP dates have whole seconds
    if if_match is not None:
        if not rules.etag_matches(if_match, info.etag):
            raise rules.precondition_failed(names[0])
    elif if_unmodified_since is not None and modified_s > _us(if_unmodified_since) // 1_000_000:
        raise rules.precondition_failed(names[3])
    unchanged = False
    if if_none_match is not None:
        unchanged = rules.etag_matches(if_none_match, info.etag)
    elif if_modified_since is not None:
        unchanged = modified_s <= _us(if_modified_since) // 1_000_000
    if unchanged:
        if not_modified_status == 304:
            raise not_modified()
        raise rules.precondition_failed(names[1] if if_none_match is not None else names[2])


class S3Service(Service):
    model_name = "s3"
    # S3 Express (directory buckets) and S3 Object Lambda requests are signed with names of their own.
    signing_names = ("s3", "s3express", "s3-object-lambda")
    signed_operations = {("s3express", "ListBuckets"): "ListDirectoryBuckets"}
    errors = ERRORS
    # A bucket may be named in the Host instead of the path (virtual-hosted-style requests).
    virtual_hosted = True

    def call(self, ctx: Context, operation: str, params: dict) -> dict:
        owner = params.get("ExpectedBucketOwner")
        if owner is not None and owner != ctx.account:
            raise rules.access_denied()
        return super().call(ctx, operation, params)

    # -- buckets -------------------------------------------------------------------------------------

    @operation("CreateBucket")
    def create_bucket(self, ctx: Context, params: dict) -> dict:
        configuration = params.get("CreateBucketConfiguration") or {}
        constraint = configuration.get("LocationConstraint")
        constraint = _REGION_ALIASES.get(constraint, constraint)
        if constraint == DEFAULT_REGION:
            # S3: us-east-1 is the default and may not be named (InvalidLocationConstraint).
            raise invalid_location_constraint(constraint)
        region = constraint or DEFAULT_REGION
        # The us-east-1 endpoint takes any constraint; a regional endpoint only its own region.
        if ctx.region != DEFAULT_REGION and ctx.region != region:
            shown = "unspecified" if constraint is None else constraint
            raise illegal_location_constraint(shown)
        created = {"Location": f"/{params['Bucket']}", "BucketArn": f"arn:aws:s3:::{params['Bucket']}"}
        if region == DEFAULT_REGION and ctx.objects.bucket_exists(params["Bucket"]) \
                and ctx.objects.head_bucket(params["Bucket"]).region == DEFAULT_REGION:
            # S3's legacy rule: re-creating a bucket you own in North Virginia answers 200 OK (409
            # BucketAlreadyOwnedByYou everywhere else).
            return created
        ctx.objects.create_bucket(params["Bucket"], region=region,
                                  object_lock=bool(params.get("ObjectLockEnabledForBucket")))
        return created

    @operation("HeadBucket")
    def head_bucket(self, ctx: Context, params: dict) -> dict:
        info = ctx.objects.head_bucket(params["Bucket"])
        return {"BucketRegion": info.region, "AccessPointAlias": False,
                "BucketArn": f"arn:aws:s3:::{info.name}"}

    @operation("DeleteBucket")
    def delete_bucket(self, ctx: Context, params: dict) -> dict:
        ctx.objects.delete_bucket(params["Bucket"])
        return {}

    @operation("ListBuckets")
    def list_buckets(self, ctx: Context, params: dict) -> dict:
        limit = params.get("MaxBuckets")
        if limit is not None and not 1 <= limit <= 10000:
            raise invalid_argument("Argument max-buckets must be an integer between 1 and 10000", "max-buckets",
                                   limit)
        page = ctx.objects.list_buckets(prefix=params.get("Prefix") or "", region=params.get("BucketRegion"),
                                        max_buckets=limit or 10000, token=params.get("ContinuationToken"))
        buckets = [{"Name": b.name, "CreationDate": to_datetime(b.created_us), "BucketRegion": b.region,
                    "BucketArn": f"arn:aws:s3:::{b.name}"} for b in page.buckets]
        return {"Buckets": buckets, "Owner": {"ID": _owner(ctx)}, "ContinuationToken": page.next_token,
                "Prefix": params.get("Prefix")}

    @operation("PutBucketVersioning")
    def put_bucket_versioning(self, ctx: Context, params: dict) -> dict:
        status = (params.get("VersioningConfiguration") or {}).get("Status")
        if status is None:
            raise malformed_xml()
        # MFA delete is accepted and not enforced: jobyard checks no MFA tokens.
        ctx.objects.set_versioning(params["Bucket"], status)
        return {}

    @operation("GetBucketVersioning")
    def get_bucket_versioning(self, ctx: Context, params: dict) -> dict:
        return {"Status": ctx.objects.versioning(params["Bucket"])}

    @operation("GetObjectLockConfiguration")
    def get_object_lock_configuration(self, ctx: Context, params: dict) -> dict:
        if not ctx.objects.head_bucket(params["Bucket"]).object_lock:
            raise no_lock_configuration(params["Bucket"])
        return {"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled"}}

    @operation("GetBucketLocation")
    def get_bucket_location(self, ctx: Context, params: dict) -> dict:
        region = ctx.objects.head_bucket(params["Bucket"]).region
        # S3 names no region for North Virginia: an empty <LocationConstraint/>.
        return {"LocationConstraint": None if region == DEFAULT_REGION else region}

    # -- objects -------------------------------------------------------------------------------------

    def _versioned(self, ctx: Context, bucket: str) -> bool:
        return ctx.objects.versioning(bucket) is not None

    @staticmethod
    def _version_header(versioned: bool, version_id: str | None) -> str | None:
        """S3 names the version of every write and read in a bucket that has had versioning turned on
        (``null`` for the null version), and none otherwise."""
        return (version_id or "null") if versioned else None

    @operation("PutObject")
    def put_object(self, ctx: Context, params: dict) -> dict:
        bucket, key = params["Bucket"], params["Key"]
        data = params.get("Body") or b""
        given = body_checksums(params, data)
        tags = parse_tagging(params["Tagging"]) if params.get("Tagging") else None
        info = ctx.objects.put(
            bucket, key, data, content_type=params.get("ContentType"), metadata=params.get("Metadata"),
            tags=tags, storage_class=params.get("StorageClass"), cache_control=params.get("CacheControl"),
            content_disposition=params.get("ContentDisposition"), content_encoding=params.get("ContentEncoding"),
            content_language=params.get("ContentLanguage"), expires_us=_us(params.get("Expires")),
            checksums=given, acl=params.get("ACL"), grants=header_grants(params),
            legal_hold=params.get("ObjectLockLegalHoldStatus"), retention=lock_retention(params),
            if_match=params.get("IfMatch"), if_none_match=params.get("IfNoneMatch"))
        out = {"ETag": info.etag, "ServerSideEncryption": "AES256",
               "VersionId": self._version_header(self._versioned(ctx, bucket), info.version_id)}
        out.update(self._checksum_members(info))
        return out

    @staticmethod
    def _checksum_members(info: ObjectInfo) -> dict:
        out = checksum_members(info.checksums)
        if out:
            out["ChecksumType"] = info.checksum_type
        return out

    def _describe(self, info: ObjectInfo, versioned: bool) -> dict:
        """The headers GetObject and HeadObject share."""
        out = {
            "ETag": info.etag, "LastModified": to_datetime(info.last_modified_us), "ContentLength": info.size,
            "ContentType": info.content_type, "Metadata": info.metadata or None, "AcceptRanges": "bytes",
            "CacheControl": info.cache_control, "ContentDisposition": info.content_disposition,
            "ContentEncoding": info.content_encoding, "ContentLanguage": info.content_language,
            "Expires": to_datetime(info.expires_us) if info.expires_us is not None else None,
            "ServerSideEncryption": "AES256", "VersionId": self._version_header(versioned, info.version_id),
            # S3 leaves x-amz-storage-class out for STANDARD objects.
            "StorageClass": info.storage_class if info.storage_class != STANDARD else None,
            "TagCount": info.tag_count or None, "Restore": restore_header(info),
            "ObjectLockLegalHoldStatus": info.legal_hold,
        }
        if info.retention is not None:
            out["ObjectLockMode"] = info.retention.mode
            out["ObjectLockRetainUntilDate"] = to_datetime(info.retention.until_us)
        return out

    def _read_checks(self, ctx: Context, params: dict,
                     info: ObjectInfo) -> tuple[tuple[int | None, int | None] | None, int | None]:
        """Conditions and part number of a GetObject/HeadObject: the byte range to serve, and the object's
        part count when a part of a multipart object was asked for."""
        check_preconditions(info, params.get("IfMatch"), params.get("IfNoneMatch"), params.get("IfModifiedSince"),
                            params.get("IfUnmodifiedSince"))
        part = params.get("PartNumber")
        if part is not None:
            first, last, count = ctx.objects.part_range(params["Bucket"], params["Key"], part,
                                                        version_id=params.get("VersionId"))
            return ((first, last) if last >= first else None), count
        return parse_range(params.get("Range")), None

    @staticmethod
    def _head(ctx: Context, bucket: str, key: str, version_id: str | None, method: str) -> ObjectInfo:
        """The version a read names; a delete marker in its way is answered as S3 answers it."""
        try:
            return ctx.objects.head(bucket, key, version_id=version_id)
        except ObjectError as error:
            if error.code not in ("NoSuchKey", "MethodNotAllowed"):
                raise
            found = ctx.objects.head_version(bucket, key, version_id=version_id)
            if found.delete_marker:
                raise _delete_marker_error(found, version_id, method) from None
            raise

    @operation("GetObject")
    def get_object(self, ctx: Context, params: dict) -> dict:
        bucket, key = params["Bucket"], params["Key"]
        store = ctx.objects
        info = self._head(ctx, bucket, key, params.get("VersionId"), "GET")
        byte_range, parts_count = self._read_checks(ctx, params, info)
        body = store.get(bucket, key, version_id=params.get("VersionId"), byte_range=byte_range)
        out = self._describe(body.info, self._versioned(ctx, bucket))
        out["Body"] = body.data
        out["ContentLength"] = len(body.data)
        out["PartsCount"] = parts_count
        if body.content_range is not None:
            first, last = body.content_range
            out["ContentRange"] = f"bytes {first}-{last}/{body.info.size}"
        elif params.get("ChecksumMode") == "ENABLED":
            out.update(self._checksum_members(body.info))
        for member, header in _OVERRIDES.items():
            if params.get(member) is not None:
                out[header] = params[member]
        if params.get("ResponseExpires") is not None:
            out["Expires"] = params["ResponseExpires"]
        return out

    @operation("HeadObject")
    def head_object(self, ctx: Context, params: dict) -> dict:
        bucket, key = params["Bucket"], params["Key"]
        info = self._head(ctx, bucket, key, params.get("VersionId"), "HEAD")
        byte_range, parts_count = self._read_checks(ctx, params, info)
        out = self._describe(info, self._versioned(ctx, bucket))
        out["PartsCount"] = parts_count
        if byte_range is not None and info.size:
            first, last = rules.resolve_range(byte_range, info.size)
            out["ContentLength"] = last - first + 1
            out["ContentRange"] = f"bytes {first}-{last}/{info.size}"
        elif params.get("ChecksumMode") == "ENABLED":
            out.update(self._checksum_members(info))
        return out

    @operation("DeleteObject")
    def delete_object(self, ctx: Context, params: dict) -> dict:
        bucket, key = params["Bucket"], params["Key"]
        if params.get("IfMatch") is not None:
            info = ctx.objects.head(bucket, key)
            check_preconditions(info, params["IfMatch"], None, None, None)
        deleted = ctx.objects.delete(bucket, key, version_id=params.get("VersionId"),
                                     bypass_governance=bool(params.get("BypassGovernanceRetention")))
        return {"DeleteMarker": True if deleted.delete_marker else None,
                "VersionId": deleted.version_id if (deleted.delete_marker or params.get("VersionId")) else None}

    @operation("DeleteObjects")
    def delete_objects(self, ctx: Context, params: dict) -> dict:
        request = params.get("Delete") or {}
        items = request.get("Objects") or []
        if not items or len(items) > MAX_DELETE_OBJECTS:
            raise malformed_xml()
        store = ctx.objects
        store.head_bucket(params["Bucket"])
        bypass = bool(params.get("BypassGovernanceRetention"))
        deleted, errors = [], []
        for item in items:
            key, version_id = item.get("Key"), item.get("VersionId")
            if key is None:
                raise malformed_xml()
            try:
                result = store.delete(params["Bucket"], key, version_id=version_id, bypass_governance=bypass)
            except ObjectError as error:
                errors.append({"Key": key, "VersionId": version_id, "Code": error.code, "Message": error.message})
                continue
            if request.get("Quiet"):
                continue
            entry = {"Key": key, "VersionId": version_id}
            if result.delete_marker:
                entry["DeleteMarker"] = True
                entry["DeleteMarkerVersionId"] = result.version_id
            deleted.append(entry)
        return {"Deleted": deleted or None, "Errors": errors or None}

    @staticmethod
    def _max_keys(params: dict) -> int:
        max_keys = params.get("MaxKeys")
        if max_keys is not None and max_keys < 0:
            raise invalid_argument("Provided max-keys not an integer or within integer range", "max-keys", max_keys)
        return MAX_KEYS if max_keys is None else min(max_keys, MAX_KEYS)

    @staticmethod
    def _listed(ctx: Context, info: ObjectInfo, params: dict, text, owner: bool) -> dict:
        """An object or version as the listings describe it."""
        entry = {"Key": text(info.key), "LastModified": to_datetime(info.last_modified_us), "ETag": info.etag,
                 "Size": info.size, "StorageClass": info.storage_class}
        if info.checksums:
            entry["ChecksumAlgorithm"] = sorted(info.checksums)
            entry["ChecksumType"] = info.checksum_type
        if owner:
            entry["Owner"] = {"ID": info.owner or _owner(ctx)}
        if "RestoreStatus" in (params.get("OptionalObjectAttributes") or ()) and info.restore is not None:
            entry["RestoreStatus"] = {"IsRestoreInProgress": info.restore.ongoing}
            if info.restore.expiry_us is not None:
                entry["RestoreStatus"]["RestoreExpiryDate"] = to_datetime(info.restore.expiry_us)
        return entry

    @operation("ListObjectsV2")
    def list_objects_v2(self, ctx: Context, params: dict) -> dict:
        bucket = params["Bucket"]
        max_keys = self._max_keys(params)
        prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or None
        token = params.get("ContinuationToken")
        if token == "":
            raise invalid_argument("The continuation token provided is incorrect", "continuation-token", token)
        page = ctx.objects.list(bucket, prefix=prefix, delimiter=delimiter, max_keys=max_keys,
                                start_after=params.get("StartAfter"), token=token)
        text = _encoder(params)
        contents = [self._listed(ctx, info, params, text, bool(params.get("FetchOwner"))) for info in page.objects]
        return {
            "IsTruncated": page.is_truncated, "Contents": contents or None, "Name": bucket, "Prefix": text(prefix),
            "Delimiter": text(delimiter), "MaxKeys": max_keys,
            "CommonPrefixes": [{"Prefix": text(p)} for p in page.common_prefixes] or None,
            "EncodingType": params.get("EncodingType"), "KeyCount": len(page.objects) + len(page.common_prefixes),
            "ContinuationToken": token, "NextContinuationToken": page.next_token,
            "StartAfter": text(params.get("StartAfter")),
        }

    @operation("ListObjects")
    def list_objects(self, ctx: Context, params: dict) -> dict:
        bucket = params["Bucket"]
        max_keys = self._max_keys(params)
        prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or None
        marker = params.get("Marker") or None
        page = ctx.objects.list_from_marker(bucket, prefix=prefix, delimiter=delimiter, max_keys=max_keys,
                                            marker=marker)
        text = _encoder(params)
        # Version 1 names each object's owner unasked.
        contents = [self._listed(ctx, info, params, text, True) for info in page.objects]
        return {
            "IsTruncated": page.is_truncated, "Marker": text(marker or ""),
            # S3 names the next marker only when a delimiter was given (the ListObjects reference, NextMarker);
            # without one, clients continue from the last key.
            "NextMarker": text(page.next_marker) if delimiter else None,
            "Contents": contents or None, "Name": bucket, "Prefix": text(prefix), "Delimiter": text(delimiter),
            "MaxKeys": max_keys, "CommonPrefixes": [{"Prefix": text(p)} for p in page.common_prefixes] or None,
            "EncodingType": params.get("EncodingType"),
        }

    @operation("ListObjectVersions")
    def list_object_versions(self, ctx: Context, params: dict) -> dict:
        bucket = params["Bucket"]
        max_keys = self._max_keys(params)
        prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or None
        key_marker = params.get("KeyMarker") or None
        version_id_marker = params.get("VersionIdMarker") or None
        if version_id_marker is not None and key_marker is None:
            raise invalid_argument("A version-id marker cannot be specified without a key marker.",
                                   "version-id-marker", version_id_marker)
        page = ctx.objects.list_versions(bucket, prefix=prefix, delimiter=delimiter, max_keys=max_keys,
                                         key_marker=key_marker, version_id_marker=version_id_marker)
        text = _encoder(params)
        versions, markers, sequence = [], [], []
        for info in page.versions:
            common = {"VersionId": info.version_id or "null", "IsLatest": info.is_latest}
            if info.delete_marker:
                markers.append({"Owner": {"ID": info.owner or _owner(ctx)}, "Key": text(info.key), **common,
                                "LastModified": to_datetime(info.last_modified_us)})
                sequence.append(("DeleteMarkers", markers[-1]))
            else:
                versions.append({**self._listed(ctx, info, params, text, True), **common})
                sequence.append(("Versions", versions[-1]))
        return {
            # S3 writes versions and delete markers as one sequence: by key, newest first.
            SEQUENCE: sequence,
            "IsTruncated": page.is_truncated, "KeyMarker": text(key_marker or ""),
            "VersionIdMarker": version_id_marker or "", "NextKeyMarker": text(page.next_key_marker),
            "NextVersionIdMarker": page.next_version_id_marker, "Versions": versions or None,
            "DeleteMarkers": markers or None, "Name": bucket, "Prefix": text(prefix), "Delimiter": text(delimiter),
            "MaxKeys": max_keys, "CommonPrefixes": [{"Prefix": text(p)} for p in page.common_prefixes] or None,
            "EncodingType": params.get("EncodingType"),
        }

    @operation("GetObjectAttributes")
    def get_object_attributes(self, ctx: Context, params: dict) -> dict:
        bucket, key, version_id = params["Bucket"], params["Key"], params.get("VersionId")
        wanted = set(params.get("ObjectAttributes") or ())
        info = ctx.objects.head_version(bucket, key, version_id=version_id)
        if info.delete_marker:
            raise _delete_marker_error(info, version_id, "GET")
        out = {"LastModified": to_datetime(info.last_modified_us),
               "VersionId": self._version_header(self._versioned(ctx, bucket), info.version_id)}
        if "ETag" in wanted:
            out["ETag"] = info.etag.strip('"')   # unquoted here, unlike every other answer of S3
        if "Checksum" in wanted and any(info.checksums.values()):
            out["Checksum"] = {**checksum_members(info.checksums), "ChecksumType": info.checksum_type}
        if "StorageClass" in wanted:
            out["StorageClass"] = info.storage_class
        if "ObjectSize" in wanted:
            out["ObjectSize"] = info.size
        if "ObjectParts" in wanted:
            max_parts = list_limit(params, "MaxParts", "max-parts", MAX_LISTED_PARTS)
            marker = params.get("PartNumberMarker") or 0
            if marker < 0:
                raise invalid_argument("Argument part-number-marker must be an integer between 0 and 2147483647",
                                       "part-number-marker", marker)
            parts = ctx.objects.object_parts(bucket, key, version_id=version_id, max_parts=max_parts, marker=marker)
            if parts is not None:
                listed = {"TotalPartsCount": parts.total, "PartNumberMarker": marker,
                          "NextPartNumberMarker": parts.parts[-1].number if parts.parts else marker,
                          "MaxParts": max_parts, "IsTruncated": parts.is_truncated}
                # S3 lists the parts only of an object with additional checksums (GetObjectAttributesParts).
                if info.checksums or any(part.checksums for part in parts.parts):
                    listed["Parts"] = [{"PartNumber": part.number, "Size": part.size,
                                        **checksum_members(part.checksums)} for part in parts.parts]
                out["ObjectParts"] = listed
        return out

    @operation("CopyObject")
    def copy_object(self, ctx: Context, params: dict) -> dict:
        store = ctx.objects
        source_bucket, source_key, source_version = parse_copy_source(params["CopySource"])
        source = store.head(source_bucket, source_key, version_id=source_version)
        check_preconditions(source, params.get("CopySourceIfMatch"), params.get("CopySourceIfNoneMatch"),
                            params.get("CopySourceIfModifiedSince"), params.get("CopySourceIfUnmodifiedSince"),
                            names=("x-amz-copy-source-If-Match", "x-amz-copy-source-If-None-Match",
                                   "x-amz-copy-source-If-Modified-Since", "x-amz-copy-source-If-Unmodified-Since"),
                            not_modified_status=412)
        replace_metadata = params.get("MetadataDirective") == "REPLACE"
        tagging = params.get("TaggingDirective") == "REPLACE"
        if params.get("IfNoneMatch") is not None or params.get("IfMatch") is not None:
            try:
                target = store.head(params["Bucket"], params["Key"])
            except ObjectError:
                target = None
            if params.get("IfNoneMatch") is not None and target is not None:
                raise rules.precondition_failed("If-None-Match")
            if params.get("IfMatch") is not None and (target is None or not rules.etag_matches(params["IfMatch"],
                                                                                           target.etag)):
                raise rules.precondition_failed("If-Match")
        info = store.copy(
            source_bucket, source_key, params["Bucket"], params["Key"], source_version_id=source_version,
            metadata=(params.get("Metadata") or {}) if replace_metadata else None,
            content_type=params.get("ContentType"), cache_control=params.get("CacheControl"),
            content_disposition=params.get("ContentDisposition"), content_encoding=params.get("ContentEncoding"),
            content_language=params.get("ContentLanguage"), expires_us=_us(params.get("Expires")),
            tags=parse_tagging(params.get("Tagging") or "") if tagging else None,
            storage_class=params.get("StorageClass"), acl=params.get("ACL"), grants=header_grants(params),
            legal_hold=params.get("ObjectLockLegalHoldStatus"), retention=lock_retention(params),
            checksum_algorithm=params.get("ChecksumAlgorithm"))
        result = {"ETag": info.etag, "LastModified": to_datetime(info.last_modified_us)}
        result.update(self._checksum_members(info))
        return {"CopyObjectResult": result, "ServerSideEncryption": "AES256",
                "VersionId": self._version_header(self._versioned(ctx, params["Bucket"]), info.version_id),
                "CopySourceVersionId": self._version_header(self._versioned(ctx, source_bucket), source.version_id)}

    # -- multipart uploads -----------------------------------------------------------------------------

    @operation("CreateMultipartUpload")
    def create_multipart_upload(self, ctx: Context, params: dict) -> dict:
        bucket, key = params["Bucket"], params["Key"]
        upload = ctx.objects.create_upload(
            bucket, key, content_type=params.get("ContentType"), metadata=params.get("Metadata"),
            tags=parse_tagging(params["Tagging"]) if params.get("Tagging") else None,
            storage_class=params.get("StorageClass"), cache_control=params.get("CacheControl"),
            content_disposition=params.get("ContentDisposition"), content_encoding=params.get("ContentEncoding"),
            content_language=params.get("ContentLanguage"), expires_us=_us(params.get("Expires")),
            acl=params.get("ACL"), grants=header_grants(params), legal_hold=params.get("ObjectLockLegalHoldStatus"),
            retention=lock_retention(params), checksum_algorithm=params.get("ChecksumAlgorithm"),
            checksum_type=params.get("ChecksumType"))
        return {"Bucket": bucket, "Key": key, "UploadId": upload.upload_id, "ServerSideEncryption": "AES256",
                "ChecksumAlgorithm": upload.checksum_algorithm, "ChecksumType": upload.checksum_type}

    @operation("UploadPart")
    def upload_part(self, ctx: Context, params: dict) -> dict:
        data = params.get("Body") or b""
        given = body_checksums(params, data)
        part = ctx.objects.upload_part(params["Bucket"], params["Key"], params["UploadId"], params["PartNumber"],
                                       data, checksums=given)
        # The part's checksums: the upload's algorithm's, and any other the client sent (checked above).
        return {"ETag": part.etag, "ServerSideEncryption": "AES256", **checksum_members({**given, **part.checksums})}

    @operation("UploadPartCopy")
    def upload_part_copy(self, ctx: Context, params: dict) -> dict:
        source_bucket, source_key, source_version = parse_copy_source(params["CopySource"])
        byte_range = parse_copy_range(params.get("CopySourceRange"))

        def check_source(source: ObjectInfo) -> None:
            check_preconditions(source, params.get("CopySourceIfMatch"), params.get("CopySourceIfNoneMatch"),
                                params.get("CopySourceIfModifiedSince"), params.get("CopySourceIfUnmodifiedSince"),
                                names=("x-amz-copy-source-If-Match", "x-amz-copy-source-If-None-Match",
                                       "x-amz-copy-source-If-Modified-Since",
                                       "x-amz-copy-source-If-Unmodified-Since"),
                                not_modified_status=412)

        part, source = ctx.objects.copy_part(
            params["Bucket"], params["Key"], params["UploadId"], params["PartNumber"], source_bucket, source_key,
            source_version_id=source_version, byte_range=byte_range, check_source=check_source)
        result = {"ETag": part.etag, "LastModified": to_datetime(part.last_modified_us or ctx.now_us),
                  **checksum_members(part.checksums)}
        return {"CopyPartResult": result, "ServerSideEncryption": "AES256",
                "CopySourceVersionId": self._version_header(self._versioned(ctx, source_bucket), source.version_id)}

    @operation("CompleteMultipartUpload")
    def complete_multipart_upload(self, ctx: Context, params: dict) -> dict:
        bucket, key = params["Bucket"], params["Key"]
        parts = []
        for item in (params.get("MultipartUpload") or {}).get("Parts") or []:
            if item.get("PartNumber") is None or item.get("ETag") is None:
                raise malformed_xml()
            parts.append(CompletedPart(item["PartNumber"], item["ETag"], given_checksums(item)))
        if not parts:
            raise malformed_xml()
        info = ctx.objects.complete_upload(
            bucket, key, params["UploadId"], parts, checksums=given_checksums(params),
            checksum_type=params.get("ChecksumType"), object_size=params.get("MpuObjectSize"),
            if_match=params.get("IfMatch"), if_none_match=params.get("IfNoneMatch"))
        out = {"Location": f"{ctx.base_url}/{bucket}/{quote(key, safe='')}", "Bucket": bucket, "Key": key,
               "ETag": info.etag, "ServerSideEncryption": "AES256",
               "VersionId": self._version_header(self._versioned(ctx, bucket), info.version_id)}
        out.update(self._checksum_members(info))
        return out

    @operation("AbortMultipartUpload")
    def abort_multipart_upload(self, ctx: Context, params: dict) -> dict:
        ctx.objects.abort_upload(params["Bucket"], params["Key"], params["UploadId"])
        return {}

    @operation("ListParts")
    def list_parts(self, ctx: Context, params: dict) -> dict:
        max_parts = list_limit(params, "MaxParts", "max-parts", MAX_LISTED_PARTS)
        marker = params.get("PartNumberMarker") or 0
        if marker < 0:
            raise invalid_argument("Argument part-number-marker must be an integer between 0 and 2147483647",
                                   "part-number-marker", marker)
        page = ctx.objects.list_parts(params["Bucket"], params["Key"], params["UploadId"], max_parts=max_parts,
                                      marker=marker)
        upload = page.upload
        parts = [{"PartNumber": part.number, "LastModified": to_datetime(part.last_modified_us), "ETag": part.etag,
                  "Size": part.size, **checksum_members(part.checksums)} for part in page.parts]
        owner = {"ID": upload.owner or _owner(ctx)}
        return {"Bucket": params["Bucket"], "Key": params["Key"], "UploadId": params["UploadId"],
                "PartNumberMarker": marker, "NextPartNumberMarker": page.parts[-1].number if page.parts else marker,
                "MaxParts": max_parts, "IsTruncated": page.is_truncated, "Parts": parts or None,
                "Initiator": owner, "Owner": owner, "StorageClass": upload.storage_class,
                "ChecksumAlgorithm": upload.checksum_algorithm, "ChecksumType": upload.checksum_type}

    @operation("ListMultipartUploads")
    def list_multipart_uploads(self, ctx: Context, params: dict) -> dict:
        max_uploads = list_limit(params, "MaxUploads", "max-uploads", MAX_LISTED_UPLOADS)
        prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or None
        key_marker = params.get("KeyMarker") or None
        # S3 ignores an upload id marker without a key marker.
        upload_id_marker = (params.get("UploadIdMarker") or None) if key_marker is not None else None
        page = ctx.objects.list_uploads(params["Bucket"], prefix=prefix, delimiter=delimiter, max_uploads=max_uploads,
                                        key_marker=key_marker, upload_id_marker=upload_id_marker)
        encode = params.get("EncodingType") == "url"
        text = (lambda value: quote(value, safe="/") if value is not None else None) if encode else (lambda v: v)
        uploads = []
        for upload in page.uploads:
            owner = {"ID": upload.owner or _owner(ctx)}
            uploads.append({"UploadId": upload.upload_id, "Key": text(upload.key),
                            "Initiated": to_datetime(upload.initiated_us), "StorageClass": upload.storage_class,
                            "Owner": owner, "Initiator": owner, "ChecksumAlgorithm": upload.checksum_algorithm,
                            "ChecksumType": upload.checksum_type})
        # S3 names the markers of every page, empty ones included, and the last entry of the page as the next.
        return {"Bucket": params["Bucket"], "KeyMarker": text(key_marker or ""),
                "UploadIdMarker": upload_id_marker or "", "NextKeyMarker": text(page.next_key_marker),
                "NextUploadIdMarker": page.next_upload_id_marker, "Prefix": text(prefix),
                "Delimiter": text(delimiter), "MaxUploads": max_uploads, "IsTruncated": page.is_truncated,
                "Uploads": uploads or None,
                "CommonPrefixes": [{"Prefix": text(p)} for p in page.common_prefixes] or None,
                "EncodingType": params.get("EncodingType")}

    # -- sub-resources -------------------------------------------------------------------------------------

    def _sub_resource_version(self, ctx: Context, bucket: str, version_id: str | None) -> str | None:
        return self._version_header(self._versioned(ctx, bucket), version_id)

    @operation("GetObjectTagging")
    def get_object_tagging(self, ctx: Context, params: dict) -> dict:
        tags, version_id = ctx.objects.get_tags(params["Bucket"], params["Key"], version_id=params.get("VersionId"))
        return {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()],
                "VersionId": self._sub_resource_version(ctx, params["Bucket"], version_id)}

    @operation("PutObjectTagging")
    def put_object_tagging(self, ctx: Context, params: dict) -> dict:
        tagging = params.get("Tagging")
        if tagging is None or "TagSet" not in tagging:
            raise malformed_xml()
        version_id = ctx.objects.put_tags(params["Bucket"], params["Key"], tag_set(tagging["TagSet"]),
                                          version_id=params.get("VersionId"))
        return {"VersionId": self._sub_resource_version(ctx, params["Bucket"], version_id)}

    @operation("DeleteObjectTagging")
    def delete_object_tagging(self, ctx: Context, params: dict) -> dict:
        version_id = ctx.objects.delete_tags(params["Bucket"], params["Key"], version_id=params.get("VersionId"))
        return {"VersionId": self._sub_resource_version(ctx, params["Bucket"], version_id)}

    @operation("GetObjectAcl")
    def get_object_acl(self, ctx: Context, params: dict) -> dict:
        acl = ctx.objects.get_acl(params["Bucket"], params["Key"], version_id=params.get("VersionId"))
        return {"Owner": {"ID": acl.owner}, "Grants": acl.grants}

    @operation("PutObjectAcl")
    def put_object_acl(self, ctx: Context, params: dict) -> dict:
        policy = params.get("AccessControlPolicy")
        grants = header_grants(params)
        if policy is not None:
            if params.get("ACL") is not None or grants is not None:
                raise unexpected_content()
            grants = policy.get("Grants")
            if grants is None:
                raise malformed_xml()
        ctx.objects.set_acl(params["Bucket"], params["Key"], acl=params.get("ACL"), grants=grants,
                            version_id=params.get("VersionId"))
        return {}

    @operation("PutObjectLegalHold")
    def put_object_legal_hold(self, ctx: Context, params: dict) -> dict:
        status = (params.get("LegalHold") or {}).get("Status")
        if status is None:
            raise malformed_xml()
        ctx.objects.set_legal_hold(params["Bucket"], params["Key"], status, version_id=params.get("VersionId"))
        return {}

    @operation("GetObjectLegalHold")
    def get_object_legal_hold(self, ctx: Context, params: dict) -> dict:
        status = ctx.objects.get_legal_hold(params["Bucket"], params["Key"], version_id=params.get("VersionId"))
        return {"LegalHold": {"Status": status}}

    @operation("PutObjectRetention")
    def put_object_retention(self, ctx: Context, params: dict) -> dict:
        body = params.get("Retention") or {}
        mode, until = body.get("Mode"), body.get("RetainUntilDate")
        if (mode is None) != (until is None):
            raise malformed_xml()
        retention = Retention(mode, from_datetime(until)) if mode is not None else None
        ctx.objects.set_retention(params["Bucket"], params["Key"], retention, version_id=params.get("VersionId"),
                                  bypass_governance=bool(params.get("BypassGovernanceRetention")))
        return {}

    @operation("GetObjectRetention")
    def get_object_retention(self, ctx: Context, params: dict) -> dict:
        retention = ctx.objects.get_retention(params["Bucket"], params["Key"], version_id=params.get("VersionId"))
        return {"Retention": {"Mode": retention.mode, "RetainUntilDate": to_datetime(retention.until_us)}}

    @operation("RestoreObject")
    def restore_object(self, ctx: Context, params: dict) -> dict:
        request = params.get("RestoreRequest") or {}
        if request.get("Type") == "SELECT" or request.get("SelectParameters") or request.get("OutputLocation"):
            raise not_implemented("Restore with S3 Select is not implemented")
        tier = (request.get("GlacierJobParameters") or {}).get("Tier") or request.get("Tier") or "Standard"
        started = ctx.objects.restore(params["Bucket"], params["Key"], days=request.get("Days"), tier=tier,
                                      version_id=params.get("VersionId"))
        # S3 answers a restore that starts differently from one of an object already restored.
        return {STARTED: started}


def _encoder(params: dict):
    """What writes a key, prefix, delimiter or marker into a listing: URL-encoded under encoding-type=url."""
    if params.get("EncodingType") == "url":
        return lambda value: quote(value, safe="/") if value is not None else None
    return lambda value: value


def _delete_marker_error(info: ObjectInfo, version_id: str | None, method: str) -> ObjectError:
    """A read that meets a delete marker: 404 NoSuchKey when it is the newest version, 405 MethodNotAllowed
    when it was named by its id; both say so in ``x-amz-delete-marker`` (S3 user guide, "Working with delete
    markers"; GetObject's reference for the 405 and its Last-Modified)."""
    error = rules.no_such_key(info.key) if version_id is None else rules.delete_marker_not_allowed(method)
    error.headers = [("x-amz-delete-marker", "true"), ("x-amz-version-id", info.version_id or "null")]
    if version_id is not None:
        error.headers.append(("Last-Modified", _http_date(info.last_modified_us)))
    return error


def _http_date(us: int) -> str:
    return to_datetime(us).strftime("%a, %d %b %Y %H:%M:%S GMT")


def _owner(ctx: Context) -> str:
    return rules.canonical_id(ctx.account)
