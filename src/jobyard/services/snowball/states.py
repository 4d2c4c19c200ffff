"""Snowball job and cluster state machines and their timing on the simulated clock.

Paths (AWS Snowball developer guide, "Job statuses"):

* IMPORT:    New → PreparingAppliance → PreparingShipment → InTransitToCustomer → WithCustomer
             → InTransitToAWS → WithAWSSortingFacility → WithAWS → InProgress → Complete
* EXPORT part: New → PreparingAppliance → InProgress (data copied onto the device) → PreparingShipment
             → InTransitToCustomer → WithCustomer → InTransitToAWS → WithAWSSortingFacility → WithAWS → Complete
  Parts after the first wait in Pending until the part before them is on its way back to AWS.
* LOCAL_USE: as IMPORT without the import step (the device is erased at AWS): … → WithAWS → Complete
* Cancelled: from New only (CancelJob / CancelCluster).

Each step's duration is drawn from the ranges below, seeded by the job id, so runs repeat.
"""

from __future__ import annotations

from ...lifecycle import draw_seconds

HOUR = 3600.0
DAY = 24 * HOUR

NEW, PREPARING_APPLIANCE, PREPARING_SHIPMENT = "New", "PreparingAppliance", "PreparingShipment"
IN_TRANSIT_TO_CUSTOMER, WITH_CUSTOMER, IN_TRANSIT_TO_AWS = "InTransitToCustomer", "WithCustomer", "InTransitToAWS"
WITH_AWS_SORTING, WITH_AWS, IN_PROGRESS = "WithAWSSortingFacility", "WithAWS", "InProgress"
COMPLETE, CANCELLED, PENDING = "Complete", "Cancelled", "Pending"

TERMINAL = frozenset({COMPLETE, CANCELLED})

_RETURN_LEG = [IN_TRANSIT_TO_AWS, WITH_AWS_SORTING, WITH_AWS]

PATHS: dict[str, list[str]] = {
    "IMPORT": [NEW, PREPARING_APPLIANCE, PREPARING_SHIPMENT, IN_TRANSIT_TO_CUSTOMER, WITH_CUSTOMER,
               *_RETURN_LEG, IN_PROGRESS, COMPLETE],
    "EXPORT": [NEW, PREPARING_APPLIANCE, IN_PROGRESS, PREPARING_SHIPMENT, IN_TRANSIT_TO_CUSTOMER, WITH_CUSTOMER,
               *_RETURN_LEG, COMPLETE],
    "LOCAL_USE": [NEW, PREPARING_APPLIANCE, PREPARING_SHIPMENT, IN_TRANSIT_TO_CUSTOMER, WITH_CUSTOMER,
                  *_RETURN_LEG, COMPLETE],
}

# Carrier transit time by shipping speed, in seconds (low, high).
TRANSIT = {
    "NEXT_DAY": (20 * HOUR, 28 * HOUR),
    "EXPRESS": (20 * HOUR, 36 * HOUR),
    "SECOND_DAY": (44 * HOUR, 52 * HOUR),
    "STANDARD": (3 * DAY, 5 * DAY),
}
DEFAULT_SHIPPING = "SECOND_DAY"

# How long a job stays in each state before it moves on (low, high); transit comes from TRANSIT.
STAY: dict[str, tuple[float, float]] = {
    NEW: (60 * 60.0, 75 * 60.0),                 # the cancel/update window: "usually within 60 minutes"
    PREPARING_APPLIANCE: (12 * HOUR, 36 * HOUR),
    PREPARING_SHIPMENT: (4 * HOUR, 24 * HOUR),  # carriers pick up once a day
    WITH_CUSTOMER: (2 * DAY, 4 * DAY),          # the simulated customer uses the device, then ships it back
    WITH_AWS_SORTING: (12 * HOUR, 48 * HOUR),   # processing typically starts within two days
    WITH_AWS: (4 * HOUR, 24 * HOUR),            # import typically starts within a day
}
# InProgress: importing into S3 averages two business days; exporting onto the device takes about a day.
IN_PROGRESS_STAY = {"IMPORT": (1 * DAY, 2.5 * DAY), "EXPORT": (12 * HOUR, 36 * HOUR)}
ERASE_STAY = (12 * HOUR, 30 * HOUR)             # LOCAL_USE and export devices: WithAWS → Complete

# A return shipping label is ready a few minutes after it was asked for and valid for 30 days.
LABEL_READY = (2 * 60.0, 10 * 60.0)
LABEL_VALID = 30 * DAY
MANIFEST_URL_VALID = 60 * 60.0
UPDATES_URL_VALID = 60 * 60.0


# Each path's state → the state after it (None after the last), looked up once per transition.
_NEXT = {(job_type, state): (path[i + 1] if i + 1 < len(path) else None)
         for job_type, path in PATHS.items() for i, state in enumerate(path)}


def next_state(job_type: str, state: str) -> str | None:
    try:
        return _NEXT[job_type, state]
    except KeyError:
        PATHS[job_type]   # an unknown job type is an error; a state off the path has no next one
        return None


def stay_seconds(job_id: str, job_type: str, state: str, shipping: str) -> float:
    """How long the job stays in ``state`` before its next step (seeded by the job id)."""
    if state in (IN_TRANSIT_TO_CUSTOMER, IN_TRANSIT_TO_AWS):
        low, high = TRANSIT.get(shipping, TRANSIT[DEFAULT_SHIPPING])
    elif state == IN_PROGRESS:
        low, high = IN_PROGRESS_STAY.get(job_type, IN_PROGRESS_STAY["IMPORT"])
    elif state == WITH_AWS and next_state(job_type, state) == COMPLETE:
        low, high = ERASE_STAY
    else:
        low, high = STAY[state]
    return draw_seconds(job_id, state, low, high)


# Clusters: AwaitingQuorum → Pending (all nodes ordered) → InUse (a node delivered) → Complete (all back).
AWAITING_QUORUM, CLUSTER_PENDING, IN_USE = "AwaitingQuorum", "Pending", "InUse"
