"""The one error type that services raise and protocol codecs write.

A service raises ``ServiceError(code, message, status, **extra)``; the codec of the request's protocol
writes it in that protocol's layout (JSON ``__type``, CBOR ``__type``, REST ``x-amzn-ErrorType``, XML
``<Error><Code>``). ``extra`` holds further members of the error shape (``ResourceType``, ``ResourceId`` ...).
"""

from __future__ import annotations


class ServiceError(Exception):
    def __init__(self, code: str, message: str = "", status: int = 400, sender_fault: bool = True, **extra):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = sender_fault  # Client vs Server fault, for protocols that say which
        self.extra = extra


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
    """Raised by a codec when input breaks the model's constraints; the service turns it into its own error."""

    operation: str | None = None  # the operation the request was for, set by the server

    def __init__(self, violations: list[Violation]):
        super().__init__(validation_message(violations))
        self.violations = violations


class SerializationError(Exception):
    """Raised by a codec when the body cannot be read as the operation's input (bad JSON/CBOR, wrong types)."""

    operation: str | None = None  # the operation the request was for, set by the server
