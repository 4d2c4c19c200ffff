"""The errors AWS Data Exchange answers with.

The model gives every error shape its HTTP status: ValidationException 400, AccessDeniedException 403,
ResourceNotFoundException 404 and ConflictException 409 (both with ResourceId/ResourceType),
ServiceLimitExceededException 402, ThrottlingException 429, InternalServerException 500. Input the codec
refuses, or cannot read, is a ValidationException; a bad page token too.

Signed URLs answer with S3's codes, from ``objects.rules``.
"""

from __future__ import annotations

from ...errors import ErrorTable, ServiceError

DATA_SET = "dataexchange.data-set"
REVISION = "dataexchange.revision"
ASSET = "dataexchange.asset"
JOB = "dataexchange.job"
EVENT_ACTION = "dataexchange.event-action"
DATA_GRANT = "dataexchange.data-grant"               # the sender's record of a grant
RECEIVED_GRANT = "dataexchange.received-data-grant"  # the receiver's record of the same grant
NOTIFICATION = "dataexchange.notification"

# The ResourceType that ResourceNotFoundException names, by the kind of the missing resource.
RESOURCE_TYPES = {DATA_SET: "DATA_SET", REVISION: "REVISION", ASSET: "ASSET", JOB: "JOB",
                  EVENT_ACTION: "EVENT_ACTION", DATA_GRANT: "DATA_GRANT", RECEIVED_GRANT: "DATA_GRANT"}
NOUNS = {"DATA_SET": "Data set", "REVISION": "Revision", "ASSET": "Asset", "JOB": "Job",
         "EVENT_ACTION": "Event action", "DATA_GRANT": "Data grant"}


def not_found(resource_type: str, resource_id: str) -> ServiceError:
    return ERRORS.error("ResourceNotFoundException", f"{NOUNS[resource_type]} {resource_id} not found.",
                        ResourceId=resource_id, ResourceType=resource_type)


def conflict(message: str, resource_type: str, resource_id: str) -> ServiceError:
    return ERRORS.error("ConflictException", message, ResourceId=resource_id, ResourceType=resource_type)


def invalid(message: str, cause: str | None = None) -> ServiceError:
    extra = {"ExceptionCause": cause} if cause else {}
    return ERRORS.error("ValidationException", message, **extra)


def access_denied(message: str) -> ServiceError:
    return ERRORS.error("AccessDeniedException", message)


def limit_exceeded(limit_name: str, limit_value: float, message: str) -> ServiceError:
    return ERRORS.error("ServiceLimitExceededException", message, LimitName=limit_name,
                        LimitValue=float(limit_value))


def throttled(message: str) -> ServiceError:
    return ERRORS.error("ThrottlingException", message)


def _unknown_operation(failure, operation: str | None) -> ServiceError:
    return ERRORS.error("UnknownOperationException", f"Unknown operation {failure.what or ''}".strip())


ERRORS = ErrorTable(
    "dataexchange",
    serialization=lambda failure, operation: invalid(str(failure) or "The request body could not be read."),
    unknown_operation=_unknown_operation,
    access_denied=lambda failure, operation: access_denied(
        "Access denied: the request names an account other than the caller's."),
    internal="InternalServerException",
    invalid_token="ValidationException",
    invalid_token_message="The pagination token is invalid or has expired.",
    not_found=lambda kind, resource_id, scope: not_found(RESOURCE_TYPES[kind], resource_id),
)
