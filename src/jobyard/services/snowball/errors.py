"""The errors AWS Snowball answers with.

Snowball's model gives its error shapes no HTTP status; the API reference lists every one of them as
HTTP 400 ("Errors" of each operation in the AWS Snowball API Reference), which the table's default is.
Input the codec refuses is ``ValidationException`` (the Coral message), an unreadable body
``SerializationException``, an unknown target ``UnknownOperationException`` (AWS JSON 1.1 services'
answers), and a defect of ours ``InternalFailure`` 500.
"""

from __future__ import annotations

from ...errors import ErrorTable, ServiceError

JOB, CLUSTER, ADDRESS, PRICING = "snowball.job", "snowball.cluster", "snowball.address", "snowball.long-term-pricing"

# The resource types InvalidResourceException names, by the kind of the missing resource.
RESOURCE_TYPES = {JOB: "JOB", CLUSTER: "CLUSTER", ADDRESS: "ADDRESS", PRICING: "LONG_TERM_PRICING"}
_NOUNS = {"JOB": "job", "CLUSTER": "cluster", "ADDRESS": "address", "LONG_TERM_PRICING": "long-term pricing"}


def invalid_resource(resource_type: str, resource_id: str) -> ServiceError:
    return ERRORS.error("InvalidResourceException", f"The {_NOUNS[resource_type]} ID {resource_id} is not valid.",
                        ResourceType=resource_type)


def invalid_state(message: str) -> ServiceError:
    return ERRORS.error("InvalidJobStateException", message)


def invalid_combination(message: str) -> ServiceError:
    return ERRORS.error("InvalidInputCombinationException", message)


def invalid_resource_token() -> ServiceError:
    # ListPickupLocations models no InvalidNextTokenException; InvalidResourceException is what it has.
    return ERRORS.error("InvalidResourceException", "The token provided is not valid.", ResourceType="TOKEN")


ERRORS = ErrorTable(
    "snowball",
    not_found=lambda kind, resource_id, scope: invalid_resource(RESOURCE_TYPES[kind], resource_id),
)
