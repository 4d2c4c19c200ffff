"""The one error type that services raise and protocol codecs write, and each service's table of errors.

A service raises ``ServiceError(code, message, status, **extra)``, usually made by its ``ErrorTable``
(``ERRORS.error(code, message, **extra)``), which knows each code's HTTP status; the codec of the request's
protocol writes it in that protocol's layout (JSON ``__type``, CBOR ``__type``, REST ``x-amzn-ErrorType``, XML
``<Error><Code>``, query ``<ErrorResponse><Error><Code>``). ``extra`` holds further members of the error shape (``ResourceType``, ``ResourceId`` ...).
"""

from __future__ import annotations

from functools import cached_property
from typing import Callable, Union


class ServiceError(Exception):
    def __init__(self, code: str, message: str = "", status: int = 400, sender_fault: bool = True, **extra):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = sender_fault  # Client vs Server fault, for protocols that say which
        self.extra = extra
        # Response headers the error carries besides its body (S3's ``x-amz-delete-marker``), for REST codecs.
        self.headers: list[tuple[str, str]] = []


class Violation:
    """One failed input constraint, found while parsing a request against its model.

    ``path`` is the member path as AWS names it in messages (``maxResults``, ``address.city``),
    ``kind`` is one of ``required``, ``min``, ``max``, ``min_length``, ``max_length``, ``enum``,
    ``pattern``, and ``limit`` the constraint's value (the enum list, the pattern, the bound).
    """

    __slots__ = ("path", "kind", "value", "limit")

    def __init__(self, path: str, kind: str, value, limit=None):
        self.path, self.kind, self.value, self.limit = path, kind, value, limit

    def describe(self) -> str:
        """The constraint in the wording AWS's JSON services use in ValidationException messages."""
        if self.kind == "required":
            return f"Value null at '{self.path}' failed to satisfy constraint: Member must not be null"
        shown = self.value if not isinstance(self.value, (bytes, bytearray)) else "<binary>"
        return f"Value '{shown}' at '{self.path}' failed to satisfy constraint: {self._constraint()}"

    def _constraint(self) -> str:
        if self.kind == "enum":
            return f"Member must satisfy enum value set: [{', '.join(self.limit or [])}]"
        if self.kind == "pattern":
            return f"Member must satisfy regular expression pattern: {self.limit}"
        bound = {"min": "value greater than or equal to", "max": "value less than or equal to",
                 "min_length": "length greater than or equal to", "max_length": "length less than or equal to"}
        if self.kind in bound:
            return f"Member must have {bound[self.kind]} {self.limit}"
        return self.kind

    def __repr__(self):
        return f"Violation({self.path!r}, {self.kind!r}, {self.value!r}, {self.limit!r})"


def validation_message(violations: list[Violation]) -> str:
    n = len(violations)
    head = f"{n} validation error{'s' if n != 1 else ''} detected: "
    return head + "; ".join(v.describe() for v in violations)


class ValidationFailed(Exception):
    """Raised by a codec when input breaks the model's constraints; the service's ErrorTable answers it."""

    def __init__(self, violations: list[Violation]):
        super().__init__(validation_message(violations))
        self.violations = violations


class SerializationError(Exception):
    """Raised by a codec when the body cannot be read as the operation's input (bad JSON/CBOR, wrong types)."""


class UnknownOperation(Exception):
    """No operation of the service matches the request (``what``: the target, path or query ``Action`` that
    was asked for, None when a query request names no action; ``wrong_method``: the path has operations,
    under other methods; ``version``: the API version a query request named, "" when it named none, None
    for protocols whose requests name no version)."""

    def __init__(self, what: str | None, wrong_method: bool = False, version: str | None = None):
        super().__init__(what or "")
        self.what = what
        self.wrong_method = wrong_method
        self.version = version


class ForeignAccount(Exception):
    """The request names an account other than the one its credentials belong to."""


class RequestTooLarge(Exception):
    """A request over a size limit (``size``: what was declared or received so far). ``part`` says what:
    ``UPLOAD``, the body of an operation that takes an upload's bytes (its limit is the service's);
    ``BODY``, an API body (JSON, CBOR, XML); ``HEAD``, the headers, path and query string together."""

    UPLOAD, BODY, HEAD = "upload", "body", "head"

    def __init__(self, size: int, limit: int, part: str = BODY):
        what = "request headers and URL" if part == self.HEAD else "request body"
        super().__init__(f"The {what} ({size} bytes) exceed{'s' if part != self.HEAD else ''} the maximum of "
                         f"{limit} bytes")
        self.size, self.limit, self.part = size, limit, part

    @property
    def upload(self) -> bool:
        return self.part == self.UPLOAD
class Unauthenticated(Exception):
    """A request whose signature does not prove who sent it (``auth.py``); each protocol's table answers it.

    ``kind`` is one of the constants below; ``details`` what the answer may show (``access_key``,
    ``string_to_sign``, ``canonical_request``, ``signature``, ``request_time``, ``server_time``,
    ``expires``, ``presigned``).
    """

    MISSING = "missing"            # no signature at all
    INCOMPLETE = "incomplete"      # a signature whose parts are missing or malformed
    SIGNATURE = "signature"        # a signature that does not match the request
    UNKNOWN_KEY = "unknown-key"    # an access key id no credential has
    SKEWED = "skewed"              # a request time too far from the real time
    EXPIRED = "expired"            # a presigned URL past its X-Amz-Expires
    SIGV2 = "sigv2"                # signature version 2, which jobyard refuses

    def __init__(self, kind: str, message: str, **details):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = details


def json_unauthenticated(failure: Unauthenticated, operation: str | None = None) -> ServiceError:
    """How AWS's JSON, CBOR and REST-JSON services answer a request they cannot authenticate."""
    code, status = _JSON_UNAUTHENTICATED[failure.kind]
    return ServiceError(code, failure.message, status)


_JSON_UNAUTHENTICATED = {
    Unauthenticated.MISSING: ("MissingAuthenticationTokenException", 403),
    Unauthenticated.INCOMPLETE: ("IncompleteSignatureException", 400),
    Unauthenticated.SIGV2: ("IncompleteSignatureException", 400),
    Unauthenticated.SIGNATURE: ("InvalidSignatureException", 403),
    Unauthenticated.UNKNOWN_KEY: ("UnrecognizedClientException", 403),
    Unauthenticated.SKEWED: ("InvalidSignatureException", 403),
    Unauthenticated.EXPIRED: ("InvalidSignatureException", 403),
}


# How a table answers a failure that no operation raised: a code (its message is the failure's text) or a
# function of the failure and the operation's name (None when no operation matched) giving the ServiceError.
Answer = Union[str, Callable[[Exception, "str | None"], ServiceError]]


class ErrorTable:
    """What one service answers with, as data.

    ``statuses`` maps each code to its HTTP status. The botocore model's error shapes give it where they
    carry one (``error.httpStatusCode``); the table's own entries, from the AWS documentation of each
    service, fill the rest and win where they differ. Unlisted codes are 400.

    The answers to failures outside the operations — input the codec refused (``validation``,
    ``serialization``), no matching operation (``unknown_operation``), credentials of one account naming
    another (``access_denied``), a request over a size limit (``too_large``, a ``RequestTooLarge``;
    by default answered as ``serialization``), a signature that fails (``unauthenticated``), a defect of ours
    (``internal``) — are codes or functions; ``translate`` applies them. ``invalid_token`` is the code for a page
    token that is not the service's, and
    ``not_found(kind, id, scope)`` the error for a resource that does not exist.
    """

    def __init__(self, service: str | None, statuses: dict[str, int] | None = None, *,
                 validation: Answer = "ValidationException",
                 serialization: Answer = "SerializationException",
                 unknown_operation: Answer = "UnknownOperationException",
                 access_denied: Answer = "AccessDeniedException",
                 unauthenticated: Answer = json_unauthenticated,
                 internal: str = "InternalFailure",
                 internal_message: str = "An internal error occurred.",
                 invalid_token: str = "InvalidNextTokenException",
                 invalid_token_message: str = "The token provided is not valid.",
                 not_found: Callable[[str, str, object], ServiceError] | None = None,
                 too_large: Answer | None = None):
        self.service = service
        self._ours = dict(statuses or {})
        self.validation, self.serialization = validation, serialization
        self.unknown_operation, self.access_denied = unknown_operation, access_denied
        self.unauthenticated = unauthenticated
        self.internal, self.internal_message = internal, internal_message
        self.invalid_token_code, self.invalid_token_message = invalid_token, invalid_token_message
        self._not_found = not_found
        self.too_large = too_large

    @cached_property
    def statuses(self) -> dict[str, int]:
        import botocore.session

        statuses = {}
        model = botocore.session.get_session().get_service_model(self.service) if self.service else None
        for shape in model.error_shapes if model is not None else ():
            status = shape.metadata.get("error", {}).get("httpStatusCode")
            if status:
                statuses[shape.name] = status
        statuses.update(self._ours)
        return statuses

    def status(self, code: str) -> int:
        return self.statuses.get(code, 400)

    def error(self, code: str, message: str = "", **extra) -> ServiceError:
        status = self.status(code)
        return ServiceError(code, message, status, sender_fault=status < 500, **extra)

    def invalid_token(self) -> ServiceError:
        return self.error(self.invalid_token_code, self.invalid_token_message)

    def not_found(self, kind: str, resource_id: str, scope) -> ServiceError:
        if self._not_found is None:
            return self.error("ResourceNotFoundException", f"{resource_id} not found")
        return self._not_found(kind, resource_id, scope)

    def translate(self, failure: BaseException, operation: str | None) -> ServiceError:
        """The ServiceError that answers ``failure`` of a request for ``operation``."""
        if isinstance(failure, ServiceError):
            return failure
        if isinstance(failure, ValidationFailed):
            return self._answer(self.validation, failure, operation)
        if isinstance(failure, SerializationError):
            return self._answer(self.serialization, failure, operation)
        if isinstance(failure, UnknownOperation):
            return self._answer(self.unknown_operation, failure, operation)
        if isinstance(failure, ForeignAccount):
            return self._answer(self.access_denied, failure, operation)
        if isinstance(failure, Unauthenticated):
            return self._answer(self.unauthenticated, failure, operation)
        if isinstance(failure, RequestTooLarge):
            if self.too_large is None:   # a body the codec will not read: answered as one it could not read
                return self._answer(self.serialization, SerializationError(str(failure)), operation)
            return self._answer(self.too_large, failure, operation)
        return self.error(self.internal, self.internal_message)

    def _answer(self, answer: Answer, failure: Exception, operation: str | None) -> ServiceError:
        if callable(answer):
            return answer(failure, operation)
        return self.error(answer, str(failure) or _DEFAULT_MESSAGES.get(answer, answer))


_DEFAULT_MESSAGES = {"SerializationException": "Malformed request body", "AccessDenied": "Access Denied",
                     "AccessDeniedException": "Access Denied"}
