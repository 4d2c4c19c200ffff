"""The errors Amazon S3 Glacier answers with, and the resource kinds its not-found errors name.

Every Glacier error is ``{"code", "message", "type"}``: the members all of its error shapes share, which the
REST-JSON codec writes for codes the model has no shape for too. The model gives each shape its HTTP status;
the table adds the codes Glacier answers with beyond them. A missing required member is
MissingParameterValueException, any other bad input InvalidParameterValueException, an unreadable body
SerializationException, a request no operation matches BadRequest, and a defect of ours
ServiceUnavailableException (500, from the model).
"""

from __future__ import annotations

from ...errors import (ErrorTable, RequestTooLarge, SerializationError, ServiceError, Unauthenticated,
                       UnknownOperation, ValidationFailed, json_unauthenticated)
from ..base import partition

VAULT = "glacier.vault"
ARCHIVE = "glacier.archive"
JOB = "glacier.job"
UPLOAD = "glacier.upload"
PART = "glacier.part"
SETTINGS = "glacier.settings"        # per account and region: the data retrieval policy and its bookkeeping
CAPACITY = "glacier.capacity"
RETRIEVAL = "glacier.retrieval"      # a Standard retrieval in flight, ordered by its end (data retrieval policy)


def vault_arn(region: str, account: str, name: str) -> str:
    """How Glacier names a vault, in errors as everywhere else."""
    return f"arn:{partition(region)}:glacier:{region}:{account}:vaults/{name}"


# -- factories ----------------------------------------------------------------------------------------------

def glacier_error(code: str, message: str) -> ServiceError:
    return ERRORS.error(code, message)


def not_found(message: str) -> ServiceError:
    return glacier_error("ResourceNotFoundException", message)


def invalid(message: str) -> ServiceError:
    return glacier_error("InvalidParameterValueException", message)


def missing(message: str) -> ServiceError:
    return glacier_error("MissingParameterValueException", message)


def limit_exceeded(message: str) -> ServiceError:
    return glacier_error("LimitExceededException", message)


def access_denied(message: str) -> ServiceError:
    return glacier_error("AccessDeniedException", message)


# -- the table ------------------------------------------------------------------------------------------------

def _missing_resource(kind: str, resource_id: str, scope) -> ServiceError:
    if kind == VAULT:
        return not_found(f"Vault not found for ARN: {vault_arn(scope.region, scope.account, resource_id)}")
    noun = {ARCHIVE: "archive", JOB: "job", UPLOAD: "upload"}[kind]
    return not_found(f"The {noun} ID was not found: {resource_id}")


def _validation(failure: ValidationFailed, operation: str | None) -> ServiceError:
    first = failure.violations[0]
    if first.kind == "required":
        return missing(f"Required parameter missing: {first.path}")
    return invalid(f"Invalid value for {first.path}: {first.value}")


def _serialization(failure: SerializationError, operation: str | None) -> ServiceError:
    return glacier_error("SerializationException", str(failure) or "The request body is not valid JSON")


def _too_large(failure: RequestTooLarge, operation: str | None) -> ServiceError:
    # The UploadArchive and UploadMultipartPart references list no size error of their own: a bad
    # Content-Length is an invalid parameter, as every other one (the message is jobyard's).
    if failure.upload:
        return invalid(f"Invalid Content-Length: {failure.size}. An archive or part holds at most "
                       f"{failure.limit} bytes.")
    return invalid(f"{failure}.")


def _unknown_operation(failure: UnknownOperation, operation: str | None) -> ServiceError:
    return glacier_error("BadRequest", f"The request cannot be processed: no operation at {failure.what}")


def _unauthenticated(failure: Unauthenticated, operation: str | None) -> ServiceError:
    # Glacier's "Error Responses" page: MissingAuthenticationTokenException is 400 there, InvalidSignatureException
    # 403; the rest as AWS's other JSON services answer.
    answer = json_unauthenticated(failure, operation)
    if answer.code == "MissingAuthenticationTokenException":
        return ServiceError(answer.code, answer.message, 400)
    return answer


def _foreign_account(failure: Exception, operation: str | None) -> ServiceError:
    return access_denied("The account in the request does not match the account of the credentials.")


ERRORS = ErrorTable(
    "glacier",
    {
        "AccessDeniedException": 403,    # Amazon S3 Glacier Developer Guide, "Error Responses"
        "BadRequest": 400,               # same page
        "SerializationException": 400,   # same page
    },
    validation=_validation,
    serialization=_serialization,
    unknown_operation=_unknown_operation,
    too_large=_too_large,
    access_denied=_foreign_account,
    unauthenticated=_unauthenticated,
    internal="ServiceUnavailableException",
    internal_message="The service cannot complete the request.",
    not_found=_missing_resource,
)
