"""The errors S3 Control answers with: S3 XML errors with the modelled codes.

S3 Control's model gives only NoSuchPublicAccessBlockConfiguration (404) a status. The others below are
the table's own, from the "Errors" sections of the S3 Control API Reference (Amazon S3 API Reference,
"Amazon S3 Control" actions) and, for S3's own codes, the Amazon S3 API Reference's "List of error codes";
the API reference's job actions (CreateJob, DescribeJob, ListJobs, UpdateJobPriority, UpdateJobStatus, the
job tagging ones) list their errors without any HTTP status, so for those the status is the one a REST API
uses for each meaning, not one AWS documents:

==========================  ======  =========================================================================
NotFoundException           404     no such job here (AWS's troubleshooting page also calls it NoSuchJob)
BadRequestException         400     input the model or the service refuses (operations that model it)
InvalidRequestException     400     the same for ListJobs, which models this one instead
InvalidRequest              400     the same for operations that model neither (S3's own generic code)
JobStatusException          409     the job's status does not allow the requested change
IdempotencyException        409     a ClientRequestToken reused with different input
TooManyRequestsException    429     too many unfinished jobs in the account and region
InvalidNextTokenException   400     a page token that is not this request's
TooManyTagsException        400     more than 50 tags on a job
InvalidTag                  400     a tag set S3 refuses (duplicate keys, characters outside the allowed set)
AccessDenied                403     an account other than the caller's (raised by the server, or a job ARN)
MalformedXML                400     a body that cannot be read (S3's own code)
NotImplemented              501     an S3 Control operation outside the job API
MethodNotAllowed            405     a path of the API under a method it has no operation for (S3's own code)
InvalidURI                  400     a path no operation has (S3's own code)
InternalServiceException    500     a defect of jobyard's (logged; never a traceback)
==========================  ======  =========================================================================

Only the job API is served: a request for any other S3 Control operation in the model answers
``NotImplemented``, whichever failure stopped it first; a request for no operation at all is the client's
fault, a 4xx. The answers learn which operations are served from
``IMPLEMENTED``, which ``service.py`` fills once its class has collected them (this module cannot import it).
"""

from __future__ import annotations

from ...errors import ErrorTable, ServiceError
from ...objects import rules
from ...store import Resource
from .validation import MAX_JOB_TAGS

# The operations S3ControlService serves (set by service.py).
IMPLEMENTED: frozenset[str] = frozenset()

# Which code a request the codec could not accept gets, by operation: the one each operation models.
_INPUT_ERROR_CODES = {
    "CreateJob": "BadRequestException", "DescribeJob": "BadRequestException",
    "UpdateJobPriority": "BadRequestException", "UpdateJobStatus": "BadRequestException",
    "ListJobs": "InvalidRequestException",
}
# Members of the tagging operations whose violations are tag errors rather than malformed requests.
_TAG_MEMBERS = ("tags", "tagKeys")


# -- the service's errors ----------------------------------------------------------------------------------

def job_not_found(job_id: str) -> ServiceError:
    return ERRORS.error("NotFoundException", f"The specified job does not exist: {job_id}")


def bad_request(message: str) -> ServiceError:
    return ERRORS.error("BadRequestException", message)


def invalid_request(message: str) -> ServiceError:
    return ERRORS.error("InvalidRequest", message)


def job_status_error(job: Resource, message: str) -> ServiceError:
    return ERRORS.error("JobStatusException", f"Job {job.id} is {job.state}: {message}")


def idempotency_error() -> ServiceError:
    return ERRORS.error("IdempotencyException", "The ClientRequestToken was already used for a job created with "
                        "different parameters.")


def too_many_jobs() -> ServiceError:
    return ERRORS.error("TooManyRequestsException", "Too many unfinished jobs in this account and Region; retry "
                        "once some of them have finished.")


def invalid_tag(message: str) -> ServiceError:
    return ERRORS.error("InvalidTag", message)


def too_many_tags() -> ServiceError:
    return ERRORS.error("TooManyTagsException", f"A job can have at most {MAX_JOB_TAGS} tags.")


def access_denied() -> ServiceError:
    return ERRORS.error("AccessDenied", "Access Denied")


def not_implemented(message: str) -> ServiceError:
    return ERRORS.error("NotImplemented", message)


# -- answers to failures no operation raised -------------------------------------------------------------

def _not_served(what: str | None) -> ServiceError:
    """NotImplemented for ``what``: a model operation outside the job API, or a path no operation matches."""
    if what and not what.startswith("/"):
        return not_implemented(f"jobyard serves the S3 Batch Operations job API of S3 Control; {what} is not "
                               "implemented.")
    return not_implemented(f"No S3 Control operation matches {what or 'this request'}; jobyard serves the S3 "
                           "Batch Operations job API.")


def _unknown_operation(failure, operation: str | None) -> ServiceError:
    """A request no operation matches is the client's fault unless it names an operation jobyard lacks: a known
    path under another method is S3's MethodNotAllowed (405), any other path S3's InvalidURI (400), which S3
    Control answers for a URI it cannot parse (Amazon S3 API Reference, "List of error codes")."""
    if failure.what and not failure.what.startswith("/"):
        return _not_served(failure.what)
    if failure.wrong_method:
        return ERRORS.error("MethodNotAllowed", "The specified method is not allowed against this resource.")
    return ERRORS.error("InvalidURI", "Couldn't parse the specified URI.")


def _validation(failure, operation: str | None) -> ServiceError:
    if operation is not None and operation not in IMPLEMENTED:
        return _not_served(operation)
    if operation not in _INPUT_ERROR_CODES and all(v.path.split(".")[0] in _TAG_MEMBERS for v in failure.violations):
        if any(v.kind == "max_length" and v.path in _TAG_MEMBERS for v in failure.violations):
            return too_many_tags()
        return invalid_tag(str(failure))
    return ERRORS.error(_INPUT_ERROR_CODES.get(operation, "InvalidRequest"), str(failure))


def _serialization(failure, operation: str | None) -> ServiceError:
    if operation is not None and operation not in IMPLEMENTED:
        return _not_served(operation)
    return ERRORS.error("MalformedXML", "The XML you provided was not well-formed or did not validate against our "
                        f"published schema: {failure}".rstrip(": "))


ERRORS = ErrorTable(
    "s3control",
    {
        "NotFoundException": 404,          # S3 Control API Reference, DescribeJob: Errors
        "JobStatusException": 409,         # S3 Control API Reference, UpdateJobStatus: Errors
        "IdempotencyException": 409,       # S3 Control API Reference, CreateJob: Errors
        "TooManyRequestsException": 429,   # S3 Control API Reference, CreateJob: Errors
        "InternalServiceException": 500,   # S3 Control API Reference, CreateJob: Errors
        "AccessDenied": 403,               # Amazon S3 API Reference, Error responses: List of error codes
        "NotImplemented": 501,             # Amazon S3 API Reference, Error responses: List of error codes
        "MethodNotAllowed": 405,           # the same
        "InvalidURI": 400,                 # the same
    },
    validation=_validation,
    serialization=_serialization,
    unknown_operation=_unknown_operation,
    access_denied="AccessDenied",
    unauthenticated=rules.unauthenticated,
    internal="InternalServiceException",
    internal_message="We encountered an internal error. Please try again.",
    invalid_token="InvalidNextTokenException",
    invalid_token_message="The continuation token provided is invalid.",
    # Jobs are the only resources a request names by id.
    not_found=lambda kind, resource_id, scope: job_not_found(resource_id),
)
