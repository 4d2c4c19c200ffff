"""The object layer over an external S3-compatible server (``--s3-endpoint URL``), through boto3.

Credentials and region come from the environment as for any boto3 client (``AWS_ACCESS_KEY_ID``...,
``AWS_DEFAULT_REGION``, default us-east-1); every jobyard account reads and writes the external
server as that one identity. Requests go path-style (``URL/bucket/key``), which S3-compatible servers
all understand without wildcard DNS. The external server's errors come back as ``ObjectError`` with its
own codes; a HEAD's bodiless 404 is told apart (NoSuchBucket, NoSuchKey, NoSuchVersion) with one more
request, as S3 itself does not say.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from ..clock import from_datetime, to_datetime
from .api import (DEFAULT_CONTENT_TYPE, DEFAULT_REGION, STANDARD, Acl, BucketInfo, BucketPage, Deleted, ListPage,
                  MarkerPage, ObjectBody, ObjectError, ObjectInfo, ObjectLayer, ObjectParts, ObjectStore, Part,
                  PartPage, RestoreStatus, Retention, Upload, UploadPage, VersionPage)
from .checksums import ALGORITHMS

_STATUS_CODES = {400: "BadRequest", 403: "AccessDenied", 404: "NotFound", 405: "MethodNotAllowed",
                 409: "Conflict", 412: "PreconditionFailed", 416: "InvalidRange"}


def _error(exc) -> ObjectError:
    error = exc.response.get("Error") or {}
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500
    code = error.get("Code") or _STATUS_CODES.get(status, "InternalError")
    if code.isdigit():
        code = _STATUS_CODES.get(int(code), "InternalError")
    extra = {k: v for k, v in error.items() if k not in ("Code", "Message") and isinstance(v, str)}
    return ObjectError(code, error.get("Message") or code, status, **extra)


def _us(value) -> int | None:
    return from_datetime(value) if isinstance(value, datetime) else None


def _checksums(answer: dict) -> dict[str, str]:
    return {a: answer[f"Checksum{a}"] for a in ALGORITHMS if answer.get(f"Checksum{a}")}


def _checksum_members(values: dict[str, str] | None) -> dict[str, str]:
    return {f"Checksum{name}": value for name, value in (values or {}).items()}


def _grant_headers(grants: list[dict] | None) -> dict[str, str]:
    """Explicit grants as the ``x-amz-grant-*`` members of a request that has no ACL body."""
    members = {"FULL_CONTROL": "GrantFullControl", "READ": "GrantRead", "READ_ACP": "GrantReadACP",
               "WRITE_ACP": "GrantWriteACP"}
    out: dict[str, list[str]] = {}
    for grant in grants or ():
        grantee, member = grant.get("Grantee") or {}, members.get(grant.get("Permission"))
        if member is None:
            raise ObjectError("InvalidArgument", f"A multipart upload cannot grant {grant.get('Permission')}", 400)
        if grantee.get("ID"):
            item = f'id="{grantee["ID"]}"'
        elif grantee.get("URI"):
            item = f'uri="{grantee["URI"]}"'
        else:
            item = f'emailAddress="{grantee.get("EmailAddress", "")}"'
        out.setdefault(member, []).append(item)
    return {member: ", ".join(items) for member, items in out.items()}


def _restore_status(header: str | None) -> RestoreStatus | None:
    """The ``x-amz-restore`` header: ``ongoing-request="false", expiry-date="Fri, 23 Dec 2012 00:00:00 GMT"``."""
    if not header:
        return None
    from email.utils import parsedate_to_datetime
    ongoing = 'ongoing-request="true"' in header
    expiry = None
    if "expiry-date=" in header:
        text = header.split("expiry-date=", 1)[1].strip().strip('"')
        try:
            expiry = from_datetime(parsedate_to_datetime(text))
        except (TypeError, ValueError):
            expiry = None
    return RestoreStatus(ongoing, expiry)


class RemoteObjectLayer(ObjectLayer):
    def __init__(self, endpoint_url: str, client=None):
        self.endpoint_url = endpoint_url
        self._client = client

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config as BotoConfig

            session = boto3.session.Session()
            self._client = session.client(
                "s3", endpoint_url=self.endpoint_url, region_name=session.region_name or DEFAULT_REGION,
                config=BotoConfig(s3={"addressing_style": "path"}, retries={"mode": "standard"}))
        return self._client

    def bind(self, tx, account: str, now_us: int, files=None) -> "RemoteObjectStore":
        return RemoteObjectStore(self.client, account)

    def has_bucket(self, account: str, bucket: str) -> bool:
        return self.bind(None, account, 0).bucket_exists(bucket)


class RemoteObjectStore(ObjectStore):
    def __init__(self, client, account: str):
        self.client, self.account = client, account

    def _call(self, method: str, **params):
        from botocore.exceptions import ClientError

        try:
            return getattr(self.client, method)(**{k: v for k, v in params.items() if v is not None})
        except ClientError as exc:
            raise _error(exc) from None

    def _head_failed(self, error: ObjectError, bucket: str, key: str, version_id: str | None) -> ObjectError:
        if error.status != 404:
            return error
        if not self.bucket_exists(bucket):
            return ObjectError("NoSuchBucket", "The specified bucket does not exist", 404, BucketName=bucket)
        if version_id is not None:
            return ObjectError("NoSuchVersion", "The specified version does not exist.", 404, Key=key,
                               VersionId=version_id)
        return ObjectError("NoSuchKey", "The specified key does not exist.", 404, Key=key)

    # -- buckets ------------------------------------------------------------------------------------

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self._call("head_bucket", Bucket=bucket)
        except ObjectError as error:
            if error.status in (403, 404):
                return False
            raise
        return True

    def create_bucket(self, bucket, *, region=DEFAULT_REGION, object_lock=False) -> BucketInfo:
        configuration = {"LocationConstraint": region} if region != DEFAULT_REGION else None
        self._call("create_bucket", Bucket=bucket, CreateBucketConfiguration=configuration,
                   ObjectLockEnabledForBucket=True if object_lock else None)
        return self.head_bucket(bucket)

    def head_bucket(self, bucket) -> BucketInfo:
        try:
            answer = self._call("head_bucket", Bucket=bucket)
        except ObjectError as error:
            if error.status == 404:
                raise ObjectError("NoSuchBucket", "The specified bucket does not exist", 404,
                                  BucketName=bucket) from None
            raise
        region = answer.get("BucketRegion") or DEFAULT_REGION
        versioning = self._call("get_bucket_versioning", Bucket=bucket).get("Status")
        try:
            lock = self._call("get_object_lock_configuration", Bucket=bucket)
            object_lock = lock.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
        except ObjectError:
            object_lock = False
        created = next((b for b in self._call("list_buckets", Prefix=bucket).get("Buckets", [])
                        if b["Name"] == bucket), {})
        return BucketInfo(bucket, region, _us(created.get("CreationDate")) or 0, versioning, object_lock)

    def delete_bucket(self, bucket) -> None:
        self._call("delete_bucket", Bucket=bucket)

    def list_buckets(self, *, prefix="", region=None, max_buckets=10000, token=None) -> BucketPage:
        answer = self._call("list_buckets", Prefix=prefix or None, BucketRegion=region,
                            MaxBuckets=max_buckets if max_buckets < 10000 else None, ContinuationToken=token)
        buckets = [BucketInfo(b["Name"], b.get("BucketRegion") or DEFAULT_REGION, _us(b.get("CreationDate")) or 0)
                   for b in answer.get("Buckets", []) if b["Name"].startswith(prefix)]
        return BucketPage(buckets, answer.get("ContinuationToken"))

    def versioning(self, bucket) -> str | None:
        return self._call("get_bucket_versioning", Bucket=bucket).get("Status")

    def set_versioning(self, bucket, status) -> None:
        self._call("put_bucket_versioning", Bucket=bucket, VersioningConfiguration={"Status": status})

    # -- objects ------------------------------------------------------------------------------------

    @staticmethod
    def _info(bucket: str, key: str, answer: dict) -> ObjectInfo:
        retain = answer.get("ObjectLockRetainUntilDate")
        return ObjectInfo(
            bucket=bucket, key=key, size=answer.get("ContentLength", 0), etag=answer.get("ETag", ""),
            last_modified_us=_us(answer.get("LastModified")) or 0,
            version_id=None if answer.get("VersionId") in (None, "null") else answer["VersionId"],
            content_type=answer.get("ContentType") or DEFAULT_CONTENT_TYPE, metadata=answer.get("Metadata") or {},
            cache_control=answer.get("CacheControl"), content_disposition=answer.get("ContentDisposition"),
            content_encoding=answer.get("ContentEncoding"), content_language=answer.get("ContentLanguage"),
            expires_us=_us(answer.get("Expires")), storage_class=answer.get("StorageClass") or STANDARD,
            tag_count=answer.get("TagCount", 0), checksums=_checksums(answer),
            checksum_type=answer.get("ChecksumType") or "FULL_OBJECT",
            legal_hold=answer.get("ObjectLockLegalHoldStatus"),
            retention=Retention(answer["ObjectLockMode"], from_datetime(retain)) if retain else None,
            restore=_restore_status(answer.get("Restore")), delete_marker=bool(answer.get("DeleteMarker")))

    def put(self, bucket, key, data, *, content_type=None, metadata=None, tags=None, storage_class=None,
            cache_control=None, content_disposition=None, content_encoding=None, content_language=None,
            expires_us=None, checksums=None, acl=None, grants=None, legal_hold=None, retention=None,
            if_match=None, if_none_match=None) -> ObjectInfo:
        checksum = {f"Checksum{name}": value for name, value in (checksums or {}).items()}
        answer = self._call(
            "put_object", Bucket=bucket, Key=key, Body=data, ContentType=content_type, Metadata=metadata,
            Tagging=urlencode(tags) if tags else None, StorageClass=storage_class, CacheControl=cache_control,
            ContentDisposition=content_disposition, ContentEncoding=content_encoding,
            ContentLanguage=content_language, Expires=to_datetime(expires_us) if expires_us is not None else None,
            ACL=acl, ObjectLockLegalHoldStatus=legal_hold,
            ObjectLockMode=retention.mode if retention else None,
            ObjectLockRetainUntilDate=to_datetime(retention.until_us) if retention else None,
            IfMatch=if_match, IfNoneMatch=if_none_match, **checksum)
        if grants is not None:
            self.set_acl(bucket, key, grants=grants, version_id=answer.get("VersionId"))
        # The PUT answer lacks the size, type and date: read them back as the server keeps them.
        return self.head(bucket, key, version_id=answer.get("VersionId"))

    def get(self, bucket, key, *, version_id=None, byte_range=None) -> ObjectBody:
        range_header = None
        if byte_range is not None:
            first, last = byte_range
            range_header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
        answer = self._call("get_object", Bucket=bucket, Key=key, VersionId=version_id, Range=range_header)
        data = answer["Body"].read()
        info = self._info(bucket, key, answer)
        content_range = None
        if answer.get("ContentRange"):
            # "bytes first-last/size"
            span, _, size = answer["ContentRange"].split(" ", 1)[1].partition("/")
            first, _, last = span.partition("-")
            content_range = (int(first), int(last))
            info.size = int(size) if size.isdigit() else info.size
        return ObjectBody(info, data, content_range)

    def head(self, bucket, key, *, version_id=None) -> ObjectInfo:
        try:
            return self._info(bucket, key, self._call("head_object", Bucket=bucket, Key=key, VersionId=version_id))
        except ObjectError as error:
            raise self._head_failed(error, bucket, key, version_id) from None

    def delete(self, bucket, key, *, version_id=None, bypass_governance=False) -> Deleted:
        answer = self._call("delete_object", Bucket=bucket, Key=key, VersionId=version_id,
                            BypassGovernanceRetention=True if bypass_governance else None)
        return Deleted(answer.get("VersionId"), bool(answer.get("DeleteMarker")))

    def list(self, bucket, *, prefix="", delimiter=None, max_keys=1000, start_after=None, token=None) -> ListPage:
        answer = self._call("list_objects_v2", Bucket=bucket, Prefix=prefix or None, Delimiter=delimiter or None,
                            MaxKeys=max_keys, StartAfter=start_after, ContinuationToken=token)
        objects = []
        for item in answer.get("Contents", []):
            restore = item.get("RestoreStatus")
            objects.append(ObjectInfo(
                bucket=bucket, key=item["Key"], size=item.get("Size", 0), etag=item.get("ETag", ""),
                last_modified_us=_us(item.get("LastModified")) or 0,
                storage_class=item.get("StorageClass") or STANDARD,
                checksums={a: "" for a in item.get("ChecksumAlgorithm", [])},
                restore=RestoreStatus(restore.get("IsRestoreInProgress", False),
                                      _us(restore.get("RestoreExpiryDate"))) if restore else None,
                owner=(item.get("Owner") or {}).get("ID", "")))
        prefixes = [p["Prefix"] for p in answer.get("CommonPrefixes", [])]
        next_token = answer.get("NextContinuationToken") if answer.get("IsTruncated") else None
        return ListPage(objects, prefixes, next_token)

    def copy(self, source_bucket, source_key, bucket, key, *, source_version_id=None, metadata=None,
             content_type=None, cache_control=None, content_disposition=None, content_encoding=None,
             content_language=None, expires_us=None, tags=None, storage_class=None, acl=None, grants=None,
             legal_hold=None, retention=None, checksum_algorithm=None) -> ObjectInfo:
        source = {"Bucket": source_bucket, "Key": source_key}
        if source_version_id is not None:
            source["VersionId"] = source_version_id
        replace = metadata is not None
        answer = self._call(
            "copy_object", Bucket=bucket, Key=key, CopySource=source,
            MetadataDirective="REPLACE" if replace else None, Metadata=metadata,
            ContentType=content_type if replace else None, CacheControl=cache_control if replace else None,
            ContentDisposition=content_disposition if replace else None,
            ContentEncoding=content_encoding if replace else None,
            ContentLanguage=content_language if replace else None,
            Expires=to_datetime(expires_us) if replace and expires_us is not None else None,
            TaggingDirective="REPLACE" if tags is not None else None,
            Tagging=urlencode(tags) if tags is not None else None, StorageClass=storage_class, ACL=acl,
            ObjectLockLegalHoldStatus=legal_hold, ObjectLockMode=retention.mode if retention else None,
            ObjectLockRetainUntilDate=to_datetime(retention.until_us) if retention else None,
            ChecksumAlgorithm=checksum_algorithm)
        if grants is not None:
            self.set_acl(bucket, key, grants=grants, version_id=answer.get("VersionId"))
        return self.head(bucket, key, version_id=answer.get("VersionId"))

    @staticmethod
    def _listed(bucket: str, item: dict, **fields) -> ObjectInfo:
        """An entry of a listing (ListObjects, ListObjectsV2, ListObjectVersions)."""
        restore = item.get("RestoreStatus")
        version_id = item.get("VersionId")
        return ObjectInfo(
            bucket=bucket, key=item["Key"], size=item.get("Size", 0), etag=item.get("ETag", ""),
            last_modified_us=_us(item.get("LastModified")) or 0, storage_class=item.get("StorageClass") or STANDARD,
            checksums={a: "" for a in item.get("ChecksumAlgorithm", [])},
            checksum_type=item.get("ChecksumType") or "FULL_OBJECT",
            restore=RestoreStatus(restore.get("IsRestoreInProgress", False),
                                  _us(restore.get("RestoreExpiryDate"))) if restore else None,
            owner=(item.get("Owner") or {}).get("ID", ""),
            version_id=None if version_id in (None, "null") else version_id, **fields)

    def list_from_marker(self, bucket, *, prefix="", delimiter=None, max_keys=1000, marker=None) -> MarkerPage:
        answer = self._call("list_objects", Bucket=bucket, Prefix=prefix or None, Delimiter=delimiter or None,
                            MaxKeys=max_keys, Marker=marker or None)
        objects = [self._listed(bucket, item) for item in answer.get("Contents", [])]
        prefixes = [p["Prefix"] for p in answer.get("CommonPrefixes", [])]
        truncated = bool(answer.get("IsTruncated"))
        # S3 names the next marker only with a delimiter; without one it is the last key.
        next_marker = answer.get("NextMarker") or (objects[-1].key if truncated and objects else None)
        return MarkerPage(objects, prefixes, truncated, next_marker if truncated else None)

    def list_versions(self, bucket, *, prefix="", delimiter=None, max_keys=1000, key_marker=None,
                      version_id_marker=None) -> VersionPage:
        answer = self._call("list_object_versions", Bucket=bucket, Prefix=prefix or None,
                            Delimiter=delimiter or None, MaxKeys=max_keys, KeyMarker=key_marker,
                            VersionIdMarker=version_id_marker)
        entries = [self._listed(bucket, item, is_latest=bool(item.get("IsLatest")))
                   for item in answer.get("Versions", [])]
        entries += [self._listed(bucket, item, is_latest=bool(item.get("IsLatest")), delete_marker=True)
                    for item in answer.get("DeleteMarkers", [])]
        # botocore hands versions and delete markers apart: back into S3's order, by key, newest first.
        entries.sort(key=lambda info: (info.key, not info.is_latest, -info.last_modified_us))
        truncated = bool(answer.get("IsTruncated"))
        return VersionPage(entries, [p["Prefix"] for p in answer.get("CommonPrefixes", [])], truncated,
                           answer.get("NextKeyMarker") if truncated else None,
                           answer.get("NextVersionIdMarker") if truncated else None)

    def head_version(self, bucket, key, *, version_id=None) -> ObjectInfo:
        from botocore.exceptions import ClientError

        try:
            # With its checksums: GetObjectAttributes reports them.
            answer = self.client.head_object(**{k: v for k, v in (("Bucket", bucket), ("Key", key),
                                                                    ("VersionId", version_id)) if v is not None},
                                             ChecksumMode="ENABLED")
        except ClientError as exc:
            headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders") or {}
            if headers.get("x-amz-delete-marker") != "true":
                raise self._head_failed(_error(exc), bucket, key, version_id) from None
            # A delete marker: a HEAD answers 404 (the newest) or 405 (named) with its headers.
            from email.utils import parsedate_to_datetime

            modified = headers.get("last-modified")
            marker_id = headers.get("x-amz-version-id")
            return ObjectInfo(bucket=bucket, key=key, delete_marker=True, is_latest=version_id is None,
                              version_id=None if marker_id in (None, "null") else marker_id,
                              last_modified_us=from_datetime(parsedate_to_datetime(modified)) if modified else 0)
        return self._info(bucket, key, answer)

    def object_parts(self, bucket, key, *, version_id=None, max_parts=1000, marker=0) -> ObjectParts | None:
        answer = self._call("get_object_attributes", Bucket=bucket, Key=key, VersionId=version_id,
                            ObjectAttributes=["ObjectParts"], MaxParts=max_parts, PartNumberMarker=marker or None)
        listed = answer.get("ObjectParts")
        if not listed or not listed.get("TotalPartsCount"):
            return None
        parts = [Part(item["PartNumber"], item.get("Size", 0), "", 0, _checksums(item))
                 for item in listed.get("Parts", [])]
        return ObjectParts(listed["TotalPartsCount"], parts, bool(listed.get("IsTruncated")))

    # -- multipart uploads --------------------------------------------------------------------------------

    def create_upload(self, bucket, key, *, content_type=None, metadata=None, tags=None, storage_class=None,
                      cache_control=None, content_disposition=None, content_encoding=None, content_language=None,
                      expires_us=None, acl=None, grants=None, legal_hold=None, retention=None,
                      checksum_algorithm=None, checksum_type=None) -> Upload:
        answer = self._call(
            "create_multipart_upload", Bucket=bucket, Key=key, ContentType=content_type, Metadata=metadata,
            Tagging=urlencode(tags) if tags else None, StorageClass=storage_class, CacheControl=cache_control,
            ContentDisposition=content_disposition, ContentEncoding=content_encoding,
            ContentLanguage=content_language, Expires=to_datetime(expires_us) if expires_us is not None else None,
            ACL=acl, ObjectLockLegalHoldStatus=legal_hold, ObjectLockMode=retention.mode if retention else None,
            ObjectLockRetainUntilDate=to_datetime(retention.until_us) if retention else None,
            ChecksumAlgorithm=checksum_algorithm, ChecksumType=checksum_type, **_grant_headers(grants))
        return Upload(bucket, key, answer["UploadId"], storage_class=storage_class or STANDARD,
                      checksum_algorithm=answer.get("ChecksumAlgorithm"), checksum_type=answer.get("ChecksumType"))

    def upload_part(self, bucket, key, upload_id, part_number, data, *, checksums=None) -> Part:
        answer = self._call("upload_part", Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=part_number,
                            Body=data, **_checksum_members(checksums))
        return Part(part_number, len(data), answer.get("ETag", ""), checksums=_checksums(answer))

    def copy_part(self, bucket, key, upload_id, part_number, source_bucket, source_key, *, source_version_id=None,
                  byte_range=None, check_source=None) -> tuple[Part, ObjectInfo]:
        source_info = self.head(source_bucket, source_key, version_id=source_version_id)
        if check_source is not None:
            check_source(source_info)
        source = {"Bucket": source_bucket, "Key": source_key}
        if source_version_id is not None:
            source["VersionId"] = source_version_id
        answer = self._call("upload_part_copy", Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=part_number,
                            CopySource=source,
                            CopySourceRange=f"bytes={byte_range[0]}-{byte_range[1]}" if byte_range else None)
        result = answer.get("CopyPartResult") or {}
        first, last = byte_range if byte_range else (0, source_info.size - 1)
        part = Part(part_number, last - first + 1, result.get("ETag", ""), _us(result.get("LastModified")) or 0,
                    _checksums(result))
        return part, source_info

    @staticmethod
    def _upload(bucket: str, item: dict) -> Upload:
        return Upload(bucket, item["Key"], item["UploadId"], _us(item.get("Initiated")) or 0,
                      item.get("StorageClass") or STANDARD, (item.get("Owner") or {}).get("ID", ""),
                      item.get("ChecksumAlgorithm"), item.get("ChecksumType"))

    def list_parts(self, bucket, key, upload_id, *, max_parts=1000, marker=0) -> PartPage:
        answer = self._call("list_parts", Bucket=bucket, Key=key, UploadId=upload_id, MaxParts=max_parts,
                            PartNumberMarker=marker or None)
        upload = self._upload(bucket, {**answer, "Key": key, "UploadId": upload_id})
        parts = [Part(item["PartNumber"], item.get("Size", 0), item.get("ETag", ""),
                      _us(item.get("LastModified")) or 0, _checksums(item)) for item in answer.get("Parts", [])]
        return PartPage(upload, parts, bool(answer.get("IsTruncated")))

    def complete_upload(self, bucket, key, upload_id, parts, *, checksums=None, checksum_type=None, object_size=None,
                        if_match=None, if_none_match=None) -> ObjectInfo:
        listed = [{"PartNumber": part.number, "ETag": part.etag, **_checksum_members(part.checksums)}
                  for part in parts]
        answer = self._call("complete_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id,
                            MultipartUpload={"Parts": listed}, ChecksumType=checksum_type, MpuObjectSize=object_size,
                            IfMatch=if_match, IfNoneMatch=if_none_match, **_checksum_members(checksums))
        version_id = answer.get("VersionId")
        return ObjectInfo(bucket=bucket, key=key, etag=answer.get("ETag", ""),
                          version_id=None if version_id in (None, "null") else version_id,
                          checksums=_checksums(answer), checksum_type=answer.get("ChecksumType") or "FULL_OBJECT")

    def abort_upload(self, bucket, key, upload_id) -> None:
        self._call("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)

    def list_uploads(self, bucket, *, prefix="", delimiter=None, max_uploads=1000, key_marker=None,
                     upload_id_marker=None) -> UploadPage:
        answer = self._call("list_multipart_uploads", Bucket=bucket, Prefix=prefix or None,
                            Delimiter=delimiter or None, MaxUploads=max_uploads, KeyMarker=key_marker,
                            UploadIdMarker=upload_id_marker)
        return UploadPage([self._upload(bucket, item) for item in answer.get("Uploads", [])],
                          [item["Prefix"] for item in answer.get("CommonPrefixes", [])],
                          bool(answer.get("IsTruncated")), answer.get("NextKeyMarker") or "",
                          answer.get("NextUploadIdMarker") or "")

    def part_range(self, bucket, key, part_number, *, version_id=None) -> tuple[int, int, int | None]:
        try:
            answer = self._call("head_object", Bucket=bucket, Key=key, VersionId=version_id, PartNumber=part_number)
        except ObjectError as error:
            if error.status == 416:   # a HEAD error has no body to name it
                raise ObjectError("InvalidPartNumber", "The requested partnumber is not satisfiable", 416,
                                  PartNumberRequested=part_number) from None
            raise self._head_failed(error, bucket, key, version_id) from None
        span = (answer.get("ContentRange") or "").partition(" ")[2].partition("/")[0]
        if not span:   # an empty object
            return 0, -1, answer.get("PartsCount")
        first, _, last = span.partition("-")
        return int(first), int(last), answer.get("PartsCount")

    # -- sub-resources ------------------------------------------------------------------------------------

    def get_tags(self, bucket, key, *, version_id=None):
        answer = self._call("get_object_tagging", Bucket=bucket, Key=key, VersionId=version_id)
        return {t["Key"]: t["Value"] for t in answer.get("TagSet", [])}, answer.get("VersionId")

    def put_tags(self, bucket, key, tags, *, version_id=None):
        answer = self._call("put_object_tagging", Bucket=bucket, Key=key, VersionId=version_id,
                            Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
        return answer.get("VersionId")

    def delete_tags(self, bucket, key, *, version_id=None):
        return self._call("delete_object_tagging", Bucket=bucket, Key=key, VersionId=version_id).get("VersionId")

    def get_acl(self, bucket, key, *, version_id=None) -> Acl:
        answer = self._call("get_object_acl", Bucket=bucket, Key=key, VersionId=version_id)
        return Acl((answer.get("Owner") or {}).get("ID", ""), answer.get("Grants", []))

    def set_acl(self, bucket, key, *, acl=None, grants=None, version_id=None):
        policy = None
        if grants is not None:
            owner = self.get_acl(bucket, key, version_id=version_id).owner
            policy = {"Grants": grants, "Owner": {"ID": owner}}
        self._call("put_object_acl", Bucket=bucket, Key=key, VersionId=version_id, ACL=acl,
                   AccessControlPolicy=policy)
        return version_id

    def get_legal_hold(self, bucket, key, *, version_id=None) -> str:
        answer = self._call("get_object_legal_hold", Bucket=bucket, Key=key, VersionId=version_id)
        return answer["LegalHold"]["Status"]

    def set_legal_hold(self, bucket, key, status, *, version_id=None):
        self._call("put_object_legal_hold", Bucket=bucket, Key=key, VersionId=version_id,
                   LegalHold={"Status": status})
        return version_id

    def get_retention(self, bucket, key, *, version_id=None) -> Retention:
        answer = self._call("get_object_retention", Bucket=bucket, Key=key, VersionId=version_id)["Retention"]
        return Retention(answer["Mode"], from_datetime(answer["RetainUntilDate"]))

    def set_retention(self, bucket, key, retention, *, version_id=None, bypass_governance=False):
        body = ({"Mode": retention.mode, "RetainUntilDate": to_datetime(retention.until_us)}
                if retention is not None else {})
        self._call("put_object_retention", Bucket=bucket, Key=key, VersionId=version_id, Retention=body,
                   BypassGovernanceRetention=True if bypass_governance else None)
        return version_id

    def restore(self, bucket, key, *, days, tier="Standard", version_id=None) -> bool:
        answer = self._call("restore_object", Bucket=bucket, Key=key, VersionId=version_id,
                            RestoreRequest={"Days": days, "GlacierJobParameters": {"Tier": tier}})
        return answer.get("ResponseMetadata", {}).get("HTTPStatusCode") == 202
