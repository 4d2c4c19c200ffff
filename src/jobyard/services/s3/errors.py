"""The errors Amazon S3 answers with, in S3's ``<Error>`` layout.

The object layer raises S3's errors about buckets, objects and uploads itself (``jobyard.objects.rules``,
reused here for MalformedXML, InvalidArgument, InvalidRequest, PreconditionFailed, MethodNotAllowed and
AccessDenied); this module holds the ones only the S3 API raises. The model gives 21 error shapes a status;
the table's own entries come from the S3 API reference, "Error responses" (its list of error codes).
Input the codec refuses is answered by what it broke (a missing member is MalformedXML), an unknown
path or method is 405 and an operation jobyard does not implement 501, a defect of ours InternalError.
"""

from __future__ import annotations

from ...errors import RequestTooLarge, ErrorTable, SerializationError, ServiceError, UnknownOperation, ValidationFailed
from ...objects import checksums, rules


def duplicate_tag(key: str) -> ServiceError:
    return ERRORS.error("InvalidTag", "Cannot provide multiple Tags with the same key", TagKey=key)


def not_modified() -> ServiceError:
    return ERRORS.error("NotModified", "Not Modified")


def invalid_location_constraint(constraint: str) -> ServiceError:
    return ERRORS.error("InvalidLocationConstraint", "The specified location-constraint is not valid",
                        LocationConstraint=constraint)


def illegal_location_constraint(shown: str) -> ServiceError:
    return ERRORS.error("IllegalLocationConstraintException",
                        f"The {shown} location constraint is incompatible for the region specific endpoint this "
                        "request was sent to.")


def no_lock_configuration(bucket: str) -> ServiceError:
    return ERRORS.error("ObjectLockConfigurationNotFoundError",
                        "Object Lock configuration does not exist for this bucket", BucketName=bucket)


def unexpected_content() -> ServiceError:
    return ERRORS.error("UnexpectedContent", "This request does not support content")


def not_implemented(message: str) -> ServiceError:
    return ERRORS.error("NotImplemented", message)


def invalid_storage_class(requested) -> ServiceError:
    return ERRORS.error("InvalidStorageClass", "The storage class you specified is not valid",
                        StorageClassRequested=requested)


# -- answers to what no operation raised --------------------------------------------------------------

def _validation(failure: ValidationFailed, operation: str | None) -> ServiceError:
    violation = failure.violations[0]
    if violation.kind == "required":
        return rules.malformed_xml()
    if violation.path.endswith("storageClass"):
        return invalid_storage_class(violation.value)
    if violation.path.endswith("locationConstraint"):
        return invalid_location_constraint(violation.value)
    if violation.path == "checksumAlgorithm":
        return checksums.unsupported_algorithm()
    if violation.path == "checksumType":
        return rules.invalid_request("Value for x-amz-checksum-type header is invalid.")
    return rules.invalid_argument(violation.describe(), violation.path, violation.value)


# Operations whose every input is a header, query parameter or body bytes: what fails to read is an argument.
_ARGUMENT_OPERATIONS = ("GetObject", "HeadObject", "ListObjectsV2", "ListBuckets", "PutObject", "CopyObject",
                        "DeleteObject", "ListParts", "ListMultipartUploads", "ListObjects", "ListObjectVersions",
                        "GetObjectAttributes")


def _serialization(failure: SerializationError, operation: str | None) -> ServiceError:
    if operation in ("UploadPart", "UploadPartCopy"):
        # The part number is the only value of these requests that can fail to read as a number.
        return rules.invalid_argument("Part number must be an integer between 1 and 10000, inclusive", "partNumber")
    if operation in _ARGUMENT_OPERATIONS:
        return rules.invalid_argument(str(failure) or "Invalid argument")
    return rules.malformed_xml()


def _too_large(failure: RequestTooLarge, operation: str | None) -> ServiceError:
    if failure.upload:   # PutObject, UploadPart: S3's object and part size limit
        return rules.entity_too_large(failure.size, failure.limit)
    if failure.part == RequestTooLarge.HEAD:
        # S3 API reference, "Error responses": the request's headers and query parameters past S3's limit.
        return ERRORS.error("RequestHeaderSectionTooLarge", "The request header and query parameters used to make "
                                                            "the request exceed the maximum allowed size.")
    # An XML body past what jobyard reads (S3 API reference, "Error responses": MaxMessageLengthExceeded).
    return ERRORS.error("MaxMessageLengthExceeded", "Your request was too big.")


def _unknown_operation(failure: UnknownOperation, operation: str | None) -> ServiceError:
    # ``what`` is the request's path when no route matched, the operation's name when jobyard lacks it.
    if failure.what and not failure.what.startswith("/"):
        return not_implemented(f"{failure.what} is not implemented by jobyard")
    if failure.wrong_method:
        return rules.method_not_allowed()
    return ERRORS.error("InvalidURI", "Couldn't parse the specified URI.")


ERRORS = ErrorTable(
    "s3",
    {
        # S3 API reference, "Error responses" (list of error codes): the codes the model gives no status.
        "NotModified": 304,
        "ObjectLockConfigurationNotFoundError": 404,
        "MethodNotAllowed": 405,
        "PreconditionFailed": 412,
        "InternalError": 500,
        "NotImplemented": 501,
        "IllegalLocationConstraintException": 400,
        "IncompleteBody": 400,
        "InvalidLocationConstraint": 400,
        "InvalidStorageClass": 400,
        "InvalidTag": 400,
        "MalformedTrailerError": 400,
        "MaxMessageLengthExceeded": 400,
        "RequestHeaderSectionTooLarge": 400,
        "UnexpectedContent": 400,
        "XAmzContentSHA256Mismatch": 400,
    },
    validation=_validation,
    serialization=_serialization,
    unauthenticated=rules.unauthenticated,
    unknown_operation=_unknown_operation,
    too_large=_too_large,
    access_denied="AccessDenied",
    internal="InternalError",
    internal_message="We encountered an internal error. Please try again.",
)
