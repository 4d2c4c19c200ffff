"""Snowball jobs and clusters: how they are stored, how they move, and how they read back.

A job's document keeps the members the customer gave (in the API's own names) plus what the service
fills in along the way (device id, tracking numbers, transfer totals, a return label). The lifecycle
handlers below move jobs along ``states.PATHS`` and keep the two kinds of job families in step:

* an EXPORT job is a *main* job (``IsMaster``) whose device work is done by job parts, created when
  the main job leaves ``New``; the main job shows the state of its current part;
* a cluster's node jobs wait in ``New`` until the cluster has all its nodes, then ship; the cluster goes
  ``AwaitingQuorum → Pending → InUse → Complete``.
"""

from __future__ import annotations

import hashlib
import uuid

from ...clock import US, to_datetime
from ...context import Context, Scope
from ...lifecycle import works_on_given_row
from ...store import Resource
from . import states
from .errors import CLUSTER, JOB

# Members a job takes from CreateJob as given (and echoes in JobMetadata).
JOB_INPUT_MEMBERS = (
    "JobType", "Resources", "OnDeviceServiceConfiguration", "Description", "AddressId", "KmsKeyARN",
    "RoleARN", "SnowballCapacityPreference", "ShippingOption", "Notification", "SnowballType",
    "ForwardingAddressId", "TaxDocuments", "DeviceConfiguration", "RemoteManagement", "LongTermPricingId",
    "ImpactLevel", "PickupDetails",
)
# What a cluster's node jobs inherit from it.
CLUSTER_INHERITED = (
    "JobType", "Resources", "OnDeviceServiceConfiguration", "AddressId", "KmsKeyARN", "RoleARN",
    "SnowballType", "ShippingOption", "Notification", "ForwardingAddressId", "TaxDocuments",
    "RemoteManagement", "SnowballCapacityPreference",
)

# States in which the device is out of AWS's hands (GetSnowballUsage's "in use").
DEVICE_OUT = (states.PREPARING_SHIPMENT, states.IN_TRANSIT_TO_CUSTOMER, states.WITH_CUSTOMER, states.IN_TRANSIT_TO_AWS)
_OUT = frozenset(DEVICE_OUT)
# Their kept count: every change of a job's state keeps it (``_set_state``); new jobs start outside it.
DEVICES_OUT = "snowball.devices-out"


def devices_out(scope: Scope) -> int:
    return scope.counter(DEVICES_OUT, JOB, states=DEVICE_OUT)


def _set_state(scope: Scope, job: Resource, state: str) -> None:
    if (state in _OUT) != (job.state in _OUT):
        scope.bump(DEVICES_OUT, 1 if state in _OUT else -1)
    job.state = state


def new_job_id() -> str:
    return f"JID{uuid.uuid4()}"


def new_cluster_id() -> str:
    return f"CID{uuid.uuid4()}"


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("/".join(parts).encode()).digest()


def tracking_number(job_id: str, leg: str) -> str:
    digits = int.from_bytes(_digest(job_id, "tracking", leg)[:8], "big")
    return f"1Z{digits % 10**16:016d}"


def unlock_code(job_id: str, secret: str) -> str:
    """25 alphanumerics in five groups of five: the same for a job every time it is asked for."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    raw = _digest(secret, job_id, "unlock")
    chars = "".join(alphabet[b % len(alphabet)] for b in raw[:25])
    return "-".join(chars[i:i + 5] for i in range(0, 25, 5))


def manifest_bytes(job_id: str, secret: str) -> bytes:
    """The job's manifest: an opaque binary file (on AWS it is encrypted for the device)."""
    body = b"".join(_digest(secret, job_id, "manifest", str(i)) for i in range(64))
    return b"SNOWBALL-MANIFEST\x00" + job_id.encode() + b"\x00" + body


# -- creating --------------------------------------------------------------------------------------

def new_job(account: str, region: str, now_us: int, doc: dict, *, parent: str = "", job_id: str | None = None,
            state: str = states.NEW, schedule: bool = True) -> Resource:
    job_id = job_id or new_job_id()
    doc.setdefault("IsMaster", False)
    doc.setdefault("ShippingOption", states.DEFAULT_SHIPPING)
    doc["Entered"] = {state: now_us}
    job = Resource(JOB, account, region, job_id, parent=parent, state=state, created_us=now_us, doc=doc)
    if schedule:
        _schedule_stay(job, now_us)
    return job


def _path_type(job: Resource) -> str:
    return job.doc["JobType"]


def _schedule_stay(job: Resource, entered_us: int) -> None:
    """Set when the job leaves its current state (None for terminal and waiting states)."""
    doc = job.doc
    if job.state in states.TERMINAL or job.state == states.PENDING or doc.get("IsMaster") and job.state != states.NEW:
        job.next_due_us = None
        return
    seconds = states.stay_seconds(job.id, _path_type(job), job.state, doc.get("ShippingOption", states.DEFAULT_SHIPPING))
    job.next_due_us = entered_us + int(seconds * US)


def enter(scope: Scope, job: Resource, state: str, at_us: int, main: Resource | None = None) -> list[Resource]:
    """Move ``job`` into ``state`` at ``at_us``: record it, do the step's work, schedule the next step.
    ``main`` is a job part's main job if the caller has it (as the store has it, or the main job the caller
    is moving).

    Returns the other resources this changed (already saved).
    """
    _set_state(scope, job, state)
    doc = job.doc
    doc.setdefault("Entered", {})[state] = at_us
    _on_enter(job, state, at_us)
    _schedule_stay(job, at_us)
    touched: list[Resource] = []
    if doc.get("IsMaster") and state == states.PREPARING_APPLIANCE:
        touched += _create_export_parts(scope, job, at_us)
    if doc.get("MainJobId"):
        touched += _after_part_moved(scope, job, at_us, main)
    if doc.get("ClusterId"):
        touched += _after_node_moved(scope, job)
    return touched


def _on_enter(job: Resource, state: str, at_us: int) -> None:
    doc = job.doc
    if state == states.PREPARING_APPLIANCE and not doc.get("IsMaster"):
        doc["SnowballId"] = hashlib.sha256(job.id.encode()).hexdigest()[:12]
    elif state == states.PREPARING_SHIPMENT:
        doc["OutboundShipment"] = {"Status": "Preparing", "TrackingNumber": tracking_number(job.id, "out")}
    elif state == states.IN_TRANSIT_TO_CUSTOMER:
        doc.setdefault("OutboundShipment", {})["Status"] = "InTransit"
    elif state == states.WITH_CUSTOMER:
        doc.setdefault("OutboundShipment", {})["Status"] = "Delivered"
    elif state == states.IN_TRANSIT_TO_AWS:
        doc["InboundShipment"] = {"Status": "InTransit", "TrackingNumber": tracking_number(job.id, "in")}
    elif state == states.WITH_AWS_SORTING:
        doc.setdefault("InboundShipment", {})["Status"] = "Delivered"
    elif state == states.IN_PROGRESS and _path_type(job) in ("IMPORT", "EXPORT"):
        raw = _digest(job.id, "transfer")
        objects = 1_000 + int.from_bytes(raw[:4], "big") % 5_000_000
        doc["Transfer"] = {"TotalObjects": objects,
                           "TotalBytes": objects * (4096 + int.from_bytes(raw[4:8], "big") % 8_000_000)}


@works_on_given_row
def advance(ctx: Context, job: Resource) -> list[Resource]:
    """The transition handler: the job's stay in its state is over. A part of a family of several, or a
    cluster's node, reads its fellow jobs, which show it as the store has it: it is held apart first."""
    following = states.next_state(_path_type(job), job.state)
    if following is None:
        job.next_due_us = None
        return []
    doc, main = job.doc, None
    if doc.get("MainJobId"):
        main = ctx.scope.get(JOB, doc["MainJobId"])
        if main is None or main.doc.get("PartIds") != [job.id]:
            ctx.tx.hold_apart(job)   # its siblings are read, and show it as the store has it
    elif doc.get("ClusterId"):
        ctx.tx.hold_apart(job)       # its fellow nodes are read, and show it as the store has it
    return enter(ctx.scope, job, following, ctx.now_us, main)


# -- export job families ---------------------------------------------------------------------------

def _create_export_parts(scope: Scope, main: Resource, at_us: int) -> list[Resource]:
    """One job part per S3 resource (at least one); the first starts now, the rest wait their turn."""
    buckets = (main.doc.get("Resources") or {}).get("S3Resources") or [{}]
    parts = []
    for index, bucket in enumerate(buckets):
        doc = {k: v for k, v in main.doc.items() if k in JOB_INPUT_MEMBERS}
        if bucket:
            doc["Resources"] = {**(main.doc.get("Resources") or {}), "S3Resources": [bucket]}
        doc["MainJobId"] = main.id
        # Part ids derive from the main job's, so a job family's schedule repeats run after run.
        part_id = f"JID{uuid.uuid5(uuid.NAMESPACE_OID, f'{main.id}/part/{index}')}"
        part = new_job(main.account, main.region, at_us + index, doc, parent=main.id, job_id=part_id,
                       state=states.PENDING, schedule=False)
        scope.insert(part)
        parts.append(part)
    # The family's part ids, in order: a part's step in a one-part family need not read its siblings.
    main.doc["PartIds"] = [p.id for p in parts]
    # The main job is already in the state its first part enters: no need to read it back.
    enter(scope, parts[0], states.PREPARING_APPLIANCE, at_us, main)
    scope.save(parts[0])
    return parts


def _after_part_moved(scope: Scope, part: Resource, at_us: int, main: Resource | None = None) -> list[Resource]:
    if main is None:
        main = scope.get(JOB, part.doc["MainJobId"])
    if main is None:
        return []
    touched = []
    if main.doc.get("PartIds") == [part.id]:
        parts = [part]
    else:   # several parts (or a family made before part ids were kept): read them
        parts = [part if p.id == part.id else p for p in scope.children(JOB, main.id)]
    if part.state == states.IN_TRANSIT_TO_AWS:
        # The next part ships once the one before it is on its way back.
        waiting = next((p for p in parts if p.state == states.PENDING), None)
        if waiting is not None:
            enter(scope, waiting, states.PREPARING_APPLIANCE, at_us)
            scope.save(waiting)
            touched.append(waiting)
    current = next((p for p in parts if p.state not in states.TERMINAL), None)
    main_state = current.state if current is not None else states.COMPLETE
    if current is not None and current.state == states.PENDING:
        main_state = states.IN_TRANSIT_TO_AWS
    if main.state != main_state:
        _set_state(scope, main, main_state)
        main.doc.setdefault("Entered", {})[main_state] = at_us
        scope.save(main)
        touched.append(main)
    return touched


# -- clusters --------------------------------------------------------------------------------------

def cluster_nodes(scope: Scope, cluster: Resource) -> list[Resource]:
    return scope.children(JOB, cluster.id)


def start_cluster_if_complete(scope: Scope, cluster: Resource, now_us: int) -> list[Resource]:
    """Once a cluster has all its nodes it leaves AwaitingQuorum and its node jobs start moving."""
    nodes = [n for n in cluster_nodes(scope, cluster) if n.state != states.CANCELLED]
    if cluster.state != states.AWAITING_QUORUM or len(nodes) < cluster.doc["ClusterSize"]:
        return []
    cluster.state = states.CLUSTER_PENDING
    scope.save(cluster)
    for node in nodes:
        if node.state == states.NEW and node.next_due_us is None:
            _schedule_stay(node, now_us)
            scope.save(node)
    return nodes


def _after_node_moved(scope: Scope, node: Resource) -> list[Resource]:
    cluster = scope.get(CLUSTER, node.doc["ClusterId"])
    if cluster is None or cluster.state in (states.AWAITING_QUORUM, states.CANCELLED, states.COMPLETE):
        return []
    nodes = [node if n.id == node.id else n for n in cluster_nodes(scope, cluster) if n.state != states.CANCELLED]
    delivered = {states.WITH_CUSTOMER, states.IN_TRANSIT_TO_AWS, states.WITH_AWS_SORTING, states.WITH_AWS, states.COMPLETE}
    if nodes and all(n.state == states.COMPLETE for n in nodes):
        state = states.COMPLETE
    elif any(n.state in delivered for n in nodes):
        state = states.IN_USE
    else:
        state = cluster.state
    if state != cluster.state:
        cluster.state = state
        scope.save(cluster)
        return [cluster]
    return []


# -- reading back ----------------------------------------------------------------------------------

def _progress(job: Resource, now_us: int) -> dict | None:
    transfer = job.doc.get("Transfer")
    if not transfer:
        return None
    started = job.doc.get("Entered", {}).get(states.IN_PROGRESS)
    if job.state == states.IN_PROGRESS and started is not None and job.next_due_us:
        done = min(1.0, max(0.0, (now_us - started) / max(1, job.next_due_us - started)))
    else:
        done = 1.0
    return {"BytesTransferred": int(transfer["TotalBytes"] * done),
            "ObjectsTransferred": int(transfer["TotalObjects"] * done),
            "TotalBytes": transfer["TotalBytes"], "TotalObjects": transfer["TotalObjects"]}


def _epoch_seconds(us: int) -> int | float:
    """Microseconds as the epoch seconds a timestamp goes out as, at AWS's millisecond precision: what the
    codecs would make of ``to_datetime(us)``, without building the datetime (a list pays this per row)."""
    seconds, rest = divmod(us, US)
    millis = rest // 1000
    return seconds + millis / 1000 if millis else seconds


def list_entry(job: Resource) -> dict:
    doc = job.doc
    entry = {"JobId": job.id, "JobState": job.state, "IsMaster": bool(doc.get("IsMaster")),
             "JobType": doc.get("JobType"), "SnowballType": doc.get("SnowballType"),
             "CreationDate": _epoch_seconds(job.created_us)}
    description = doc.get("Description")
    if description:
        entry["Description"] = description
    return entry


def metadata(job: Resource, now_us: int, log_urls: dict | None = None) -> dict:
    """JobMetadata as DescribeJob returns it."""
    doc = job.doc
    out = {k: doc[k] for k in JOB_INPUT_MEMBERS if doc.get(k) is not None and k != "ShippingOption"}
    pickup = out.get("PickupDetails")
    if pickup and pickup.get("IdentificationExpirationDate") is not None:
        out["PickupDetails"] = {**pickup, "IdentificationExpirationDate":
                                to_datetime(pickup["IdentificationExpirationDate"])}
    shipping = {"ShippingOption": doc.get("ShippingOption", states.DEFAULT_SHIPPING)}
    if doc.get("OutboundShipment"):
        shipping["OutboundShipment"] = doc["OutboundShipment"]
    if doc.get("InboundShipment"):
        shipping["InboundShipment"] = doc["InboundShipment"]
    out.update(JobId=job.id, JobState=job.state, CreationDate=to_datetime(job.created_us), ShippingDetails=shipping)
    if doc.get("ClusterId"):
        out["ClusterId"] = doc["ClusterId"]
    if doc.get("SnowballId"):
        out["SnowballId"] = doc["SnowballId"]
    progress = _progress(job, now_us)
    if progress:
        out["DataTransferProgress"] = progress
    if log_urls:
        out["JobLogInfo"] = log_urls
    return out


def cluster_metadata(cluster: Resource) -> dict:
    doc = cluster.doc
    members = ("Description", "KmsKeyARN", "RoleARN", "JobType", "SnowballType", "Resources", "AddressId",
               "ShippingOption", "Notification", "ForwardingAddressId", "TaxDocuments", "OnDeviceServiceConfiguration")
    out = {k: doc[k] for k in members if doc.get(k) is not None}
    out.update(ClusterId=cluster.id, ClusterState=cluster.state, CreationDate=to_datetime(cluster.created_us))
    return out


def cluster_entry(cluster: Resource) -> dict:
    entry = {"ClusterId": cluster.id, "ClusterState": cluster.state, "CreationDate": to_datetime(cluster.created_us)}
    if cluster.doc.get("Description"):
        entry["Description"] = cluster.doc["Description"]
    return entry
