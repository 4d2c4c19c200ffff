"""S3's rules on names, tags, ACLs and metadata, and the errors that break them (shared by both stores).

Sources: the S3 user guide's bucket naming rules, object key and metadata limits (key ≤ 1024 bytes of
UTF-8, user metadata ≤ 2 KB), object tagging limits (≤ 10 tags, key ≤ 128, value ≤ 256 characters),
canned ACLs, and the S3 API reference's list of error codes.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re

from .api import MAX_PARTS, MIN_PART_SIZE, ObjectError

MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048
MAX_TAGS = 10

_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_BAD_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BAD_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# Letters, digits, white space and + - = . _ : / @ in any script (S3's tag character set).
_TAG_CHARS = re.compile(r"[\w\s+\-=.:/@]*")

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
CANNED_ACLS = ("private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
               "bucket-owner-read", "bucket-owner-full-control")
PERMISSIONS = ("FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP")
MALFORMED_XML = "The XML you provided was not well-formed or did not validate against our published schema"


# -- errors ------------------------------------------------------------------------------------------

def no_such_bucket(bucket: str) -> ObjectError:
    return ObjectError("NoSuchBucket", "The specified bucket does not exist", 404, BucketName=bucket)


def no_such_key(key: str | None = None) -> ObjectError:
    return ObjectError("NoSuchKey", "The specified key does not exist.", 404, Key=key)


def no_such_version(key: str, version_id: str) -> ObjectError:
    return ObjectError("NoSuchVersion", "The specified version does not exist.", 404, Key=key, VersionId=version_id)


def invalid_argument(message: str, name: str | None = None, value=None) -> ObjectError:
    return ObjectError("InvalidArgument", message, 400, ArgumentName=name, ArgumentValue=value)


def malformed_xml() -> ObjectError:
    return ObjectError("MalformedXML", MALFORMED_XML, 400)


def invalid_request(message: str) -> ObjectError:
    return ObjectError("InvalidRequest", message, 400)


def invalid_version_id(version_id: str) -> ObjectError:
    return invalid_argument("Invalid version id specified", "versionId", version_id)


def access_denied(message: str = "Access Denied", **extra) -> ObjectError:
    return ObjectError("AccessDenied", message, 403, **extra)


def request_expired(expires: str, server_time: str) -> ObjectError:
    """A presigned URL used after its expiry (both times in ISO 8601, UTC, as S3 writes them)."""
    return access_denied("Request has expired", Expires=expires, ServerTime=server_time)


def unauthenticated(failure, operation: str | None = None) -> ObjectError:
    """S3's answer to a request whose signature fails (``errors.Unauthenticated``), with the members S3
    adds to each of these errors (S3 API reference, "Error responses")."""
    kind, details = failure.kind, failure.details
    if kind == "missing":
        return access_denied()
    if kind == "sigv2":
        return invalid_request("The authorization mechanism you have provided is not supported. "
                               "Please use AWS4-HMAC-SHA256.")
    if kind == "incomplete":
        if details.get("presigned"):
            return ObjectError("AuthorizationQueryParametersError", failure.message, 400)
        return ObjectError("AuthorizationHeaderMalformed", f"The authorization header is malformed; {failure.message}",
                           400)
    if kind == "unknown-key":
        return ObjectError("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.",
                           403, AWSAccessKeyId=details.get("access_key"))
    if kind == "skewed":
        return ObjectError("RequestTimeTooSkewed",
                           "The difference between the request time and the current time is too large.", 403,
                           RequestTime=details.get("request_time"), ServerTime=details.get("server_time"),
                           MaxAllowedSkewMilliseconds=details.get("max_skew_ms"))
    if kind == "expired":
        return access_denied("Request has expired", **{"X-Amz-Expires": details.get("expires_seconds")},
                             Expires=details.get("expires"), ServerTime=details.get("server_time"))
    return ObjectError("SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                       "you provided. Check your key and signing method.", 403,
                       AWSAccessKeyId=details.get("access_key"), StringToSign=details.get("string_to_sign"),
                       SignatureProvided=details.get("signature"),
                       CanonicalRequest=details.get("canonical_request"))


def locked() -> ObjectError:
    return access_denied("Access Denied because object protected by object lock.")


def no_lock_configuration() -> ObjectError:
    return invalid_request("Bucket is missing Object Lock Configuration")


def precondition_failed(condition: str) -> ObjectError:
    return ObjectError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold",
                       412, Condition=condition)


def method_not_allowed(**extra) -> ObjectError:
    return ObjectError("MethodNotAllowed", "The specified method is not allowed against this resource.", 405, **extra)


def delete_marker_not_allowed(method: str) -> ObjectError:
    return method_not_allowed(Method=method, ResourceType="DeleteMarker")


def invalid_digest() -> ObjectError:
    return ObjectError("InvalidDigest", "The Content-MD5 you specified was invalid.", 400)


def bad_digest() -> ObjectError:
    return ObjectError("BadDigest", "The Content-MD5 you specified did not match what we received.", 400)


def entity_too_large(size: int, limit: int) -> ObjectError:
    return ObjectError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400,
                       ProposedSize=size, MaxSizeAllowed=limit)


def check_part_number(number: int) -> None:
    if not 1 <= number <= MAX_PARTS:
        raise invalid_argument(f"Part number must be an integer between 1 and {MAX_PARTS}, inclusive", "partNumber",
                               str(number))


def no_such_upload(upload_id: str) -> ObjectError:
    return ObjectError("NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the "
                                       "upload may have been aborted or completed.", 404, UploadId=upload_id)


def invalid_part(upload_id: str, number: int, etag: str) -> ObjectError:
    return ObjectError("InvalidPart", "One or more of the specified parts could not be found.  The part may not have "
                                      "been uploaded, or the specified entity tag may not match the part's entity "
                                      "tag.", 400, UploadId=upload_id, PartNumber=number, ETag=etag.strip('"'))


def invalid_part_order(upload_id: str) -> ObjectError:
    return ObjectError("InvalidPartOrder", "The list of parts was not in ascending order. Parts must be ordered by "
                                           "part number.", 400, UploadId=upload_id)


def entity_too_small(size: int, number: int, etag: str) -> ObjectError:
    return ObjectError("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size", 400,
                       ProposedSize=size, MinSizeAllowed=MIN_PART_SIZE, PartNumber=number, ETag=etag.strip('"'))


def invalid_part_number(number: int, count: int) -> ObjectError:
    return ObjectError("InvalidPartNumber", "The requested partnumber is not satisfiable", 416,
                       PartNumberRequested=number, ActualPartCount=count)


def invalid_copy_range(size: int, first: int, last: int) -> ObjectError:
    return invalid_argument(f"Range specified is not valid for source object of size: {size}",
                            "x-amz-copy-source-range", f"bytes={first}-{last}")


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


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


def resolve_range(byte_range: tuple[int | None, int | None], size: int) -> tuple[int, int]:
    """(first, last) bytes of an HTTP range over ``size`` bytes; InvalidRange (416) when none is there."""
    first, last = byte_range
    if first is None:
        if not last:
            raise _invalid_range(byte_range, size)
        return max(size - last, 0), size - 1
    if first >= size:
        raise _invalid_range(byte_range, size)
    return first, size - 1 if last is None else min(last, size - 1)


def _invalid_range(byte_range, size: int) -> ObjectError:
    first, last = byte_range
    text = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    return ObjectError("InvalidRange", "The requested range is not satisfiable", 416, RangeRequested=text,
                       ActualObjectSize=size)


def etag_matches(condition: str, etag: str) -> bool:
    """An If-Match / If-None-Match list against an ETag (quotes optional, ``*`` matches any)."""
    for item in condition.split(","):
        item = item.strip()
        if item.startswith("W/"):
            item = item[2:]
        if item == "*" or item.strip('"') == etag.strip('"'):
            return True
    return False


# -- names -------------------------------------------------------------------------------------------

def check_bucket_name(name: str) -> None:
    """S3's general-purpose bucket naming rules; a name that breaks one gets ``InvalidBucketName``."""
    valid = (bool(_BUCKET_CHARS.fullmatch(name)) and ".." not in name and ".-" not in name and "-." not in name
             and not name.startswith(_BAD_BUCKET_PREFIXES) and not name.endswith(_BAD_BUCKET_SUFFIXES)
             and not _is_ip_address(name))
    if not valid:
        raise ObjectError("InvalidBucketName", "The specified bucket is not valid.", 400, BucketName=name)


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def check_key(key: str) -> None:
    if not key:
        raise invalid_argument("Object key must not be empty", "key", key)
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ObjectError("KeyTooLongError", "Your key is too long", 400, Size=len(key.encode("utf-8")),
                          MaxSizeAllowed=MAX_KEY_BYTES)
    # NUL separates a key from its version in the store, and XML 1.0 cannot carry it in a listing, not even
    # as &#0;. The user guide ("Creating object key names") lists 00-1F only among characters that "might
    # require special handling" and says nothing of S3 refusing them, so this refusal is jobyard's.
    if "\x00" in key:
        raise invalid_argument("Object key must not contain the NUL character", "key", key)


def check_metadata(metadata: dict[str, str]) -> None:
    size = sum(len(k.encode("utf-8")) + len(v.encode("utf-8")) for k, v in metadata.items())
    if size > MAX_METADATA_BYTES:
        raise ObjectError("MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.",
                          400, Size=size, MaxSizeAllowed=MAX_METADATA_BYTES)


def check_tags(tags: dict[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise ObjectError("BadRequest", "Object tags cannot be greater than 10", 400)
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or not _TAG_CHARS.fullmatch(key) or key.startswith("aws:"):
            raise ObjectError("InvalidTag", "The TagKey you have provided is invalid", 400, TagKey=key)
        if len(value) > 256 or not _TAG_CHARS.fullmatch(value):
            raise ObjectError("InvalidTag", "The TagValue you have provided is invalid", 400, TagKey=key,
                              TagValue=value)


# -- owners and ACLs ----------------------------------------------------------------------------------

def canonical_id(account: str) -> str:
    """The account's canonical user id (64 hex digits, like S3's), the same every time."""
    return hashlib.sha256(f"jobyard-canonical-user/{account}".encode()).hexdigest()


def owner_grant(owner: str) -> dict:
    return {"Grantee": {"Type": "CanonicalUser", "ID": owner}, "Permission": "FULL_CONTROL"}


def canned_grants(acl: str, owner: str) -> list[dict]:
    """The grants a canned ACL stands for (the bucket owner is the object owner here: one account)."""
    if acl not in CANNED_ACLS:
        raise invalid_argument(f"Invalid canned ACL: {acl}", "x-amz-acl", acl)
    grants = [owner_grant(owner)]
    if acl in ("public-read", "public-read-write"):
        grants.append({"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"})
    if acl == "public-read-write":
        grants.append({"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "WRITE"})
    if acl == "authenticated-read":
        grants.append({"Grantee": {"Type": "Group", "URI": AUTHENTICATED_USERS}, "Permission": "READ"})
    return grants


def check_grants(grants: list[dict]) -> list[dict]:
    """Explicit grants in S3's ``Grant`` form, checked and kept with only the members S3 keeps."""
    kept = []
    for grant in grants:
        grantee, permission = grant.get("Grantee") or {}, grant.get("Permission")
        kind = grantee.get("Type")
        if permission not in PERMISSIONS:
            raise ObjectError("MalformedACLError", MALFORMED_XML, 400)
        if kind == "CanonicalUser" and grantee.get("ID"):
            who = {"Type": kind, "ID": grantee["ID"]}
        elif kind == "Group" and grantee.get("URI") in (ALL_USERS, AUTHENTICATED_USERS,
                                                        "http://acs.amazonaws.com/groups/s3/LogDelivery"):
            who = {"Type": kind, "URI": grantee["URI"]}
        elif kind == "AmazonCustomerByEmail":
            # "As of October 1, 2025, Amazon S3 has discontinued support for Email Grantee Access Control
            # Lists": such a request "will receive an HTTP 405 (Method Not Allowed) error" (API reference,
            # PutObjectAcl, PutObject, CopyObject, CreateMultipartUpload). 405 is S3's MethodNotAllowed.
            raise method_not_allowed()
        else:
            raise ObjectError("InvalidArgument", "Invalid id", 400, ArgumentName="CanonicalUser/ID")
        kept.append({"Grantee": who, "Permission": permission})
    return kept
