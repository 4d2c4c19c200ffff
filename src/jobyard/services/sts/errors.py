"""The errors STS answers with, in the query protocol's ``<ErrorResponse>`` layout.

The model gives STS's own error shapes their statuses; the codes below are the table's own, from the
"Common Errors" of AWS's query APIs (400 unless said otherwise):

=====================  ======  ==========================================================================
MissingAction          400     a request that names no ``Action``
MissingParameter       400     a request without ``Version`` (a required common parameter)
InvalidAction          400     an ``Action`` with no operation in the request's ``Version`` ("Could not find
                               operation X for version Y", as AWS words it), or an operation of the model
                               that jobyard does not serve (see below)
ValidationError        400     input that breaks the model's constraints
InvalidParameterValue  400     a value that cannot be read as its member's type, or parameters that are
                               not UTF-8
AccessDenied           403     credentials of one account naming another
MissingAuthenticationToken  403  (``--auth``) a request with no signature
IncompleteSignature    400     (``--auth``) a signature with parts missing or malformed, or Signature V2
SignatureDoesNotMatch  403     (``--auth``) a signature that does not match the request
InvalidClientTokenId   403     (``--auth``) an access key no credential has
RequestExpired         400     (``--auth``) a request time too far from now, or a presigned URL past its expiry
InternalFailure        500     a defect of jobyard's (logged; never a traceback)
=====================  ======  ==========================================================================

Only GetCallerIdentity is served. Every other STS operation answers ``InvalidAction`` (400) whichever
failure stopped it first: it is what STS itself answers for an operation of its API that an endpoint does
not offer (AssumeRoot sent to the global endpoint answers ``InvalidAction: Unknown Operation``, boto/boto3
#4461), and clients treat it as the request's fault rather than retrying it. The answers learn which
operations are served from ``SERVED``, which ``service.py`` fills (this module cannot import it).
"""

from __future__ import annotations

from ...errors import ErrorTable, ServiceError, Unauthenticated

# The operations StsService serves (set by service.py).
SERVED: frozenset[str] = frozenset()


def _not_served(operation: str) -> ServiceError:
    served = ", ".join(sorted(SERVED))
    return ERRORS.error("InvalidAction", f"Unknown Operation: {operation} is not served by this endpoint "
                                         f"(it serves {served})")


def _unknown_operation(failure, operation: str | None) -> ServiceError:
    if failure.version is None:
        # Raised by the service, not the codec: an operation of the model that jobyard does not serve.
        return _not_served(failure.what or operation or "")
    if not failure.what:
        return ERRORS.error("MissingAction", "The request is missing an action or a required parameter.")
    if not failure.version:
        return ERRORS.error("MissingParameter", "The request must contain the parameter Version")
    return ERRORS.error("InvalidAction", f"Could not find operation {failure.what} for version {failure.version}")


# A request STS cannot authenticate: the query APIs' "Common Errors", not the JSON services' codes.
_UNAUTHENTICATED = {
    Unauthenticated.MISSING: "MissingAuthenticationToken",
    Unauthenticated.INCOMPLETE: "IncompleteSignature",
    Unauthenticated.SIGV2: "IncompleteSignature",
    Unauthenticated.SIGNATURE: "SignatureDoesNotMatch",
    Unauthenticated.UNKNOWN_KEY: "InvalidClientTokenId",
    Unauthenticated.SKEWED: "RequestExpired",
    Unauthenticated.EXPIRED: "RequestExpired",
}


def _unauthenticated(failure: Unauthenticated, operation: str | None) -> ServiceError:
    return ERRORS.error(_UNAUTHENTICATED[failure.kind], failure.message)


def _validation(failure, operation: str | None) -> ServiceError:
    if operation is not None and operation not in SERVED:
        return _not_served(operation)
    return ERRORS.error("ValidationError", str(failure))


def _serialization(failure, operation: str | None) -> ServiceError:
    if operation is not None and operation not in SERVED:
        return _not_served(operation)
    return ERRORS.error("InvalidParameterValue", str(failure) or "Invalid parameter value")


ERRORS = ErrorTable(
    "sts",
    {
        "MissingAction": 400,
        "MissingParameter": 400,
        "InvalidAction": 400,
        "ValidationError": 400,
        "InvalidParameterValue": 400,
        "AccessDenied": 403,
        "MissingAuthenticationToken": 403,
        "IncompleteSignature": 400,
        "SignatureDoesNotMatch": 403,
        "InvalidClientTokenId": 403,
        "RequestExpired": 400,
        "InternalFailure": 500,
    },
    validation=_validation,
    serialization=_serialization,
    unknown_operation=_unknown_operation,
    unauthenticated=_unauthenticated,
    access_denied="AccessDenied",
    internal="InternalFailure",
)
