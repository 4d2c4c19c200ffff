"""Data Exchange resources as the store keeps them: ids, ARNs, lookups and their API renderings.

Every resource is one store row. Data sets carry their ``Origin`` as state (so ``ListDataSets(Origin=)``
is an index filter); revisions hang under their data set, assets under their revision (``ref`` = data
set id); jobs hang under the data set they name, with the revision in ``ref``, so ``ListJobs`` filters
are index filters too.
"""

from __future__ import annotations

import re
import uuid

from ...clock import to_datetime
from ...context import Scope
from ...store import Resource
from ..base import partition
from .errors import ASSET, DATA_SET, REVISION, not_found

OWNED, ENTITLED = "OWNED", "ENTITLED"
DRAFT, FINALIZED = "DRAFT", "FINALIZED"              # revision states (Revoked is a flag on top)
PENDING, ACCEPTED = "PENDING_RECEIVER_ACCEPTANCE", "ACCEPTED"

ID_PATTERN = re.compile(r"[a-zA-Z0-9]{30,40}")
_ARN = re.compile(r"arn:(aws[a-z-]*):dataexchange:([a-z0-9-]+):(\d{12}):(.+)")


def new_id() -> str:
    """Ids as AWS issues them: 32 lowercase hex characters."""
    return uuid.uuid4().hex


# -- ARNs ------------------------------------------------------------------------------------------

def arn(account: str, region: str, path: str) -> str:
    return f"arn:{partition(region)}:dataexchange:{region}:{account}:{path}"


def data_set_arn(r: Resource) -> str:
    return arn(r.account, r.region, f"data-sets/{r.id}")


def revision_arn(r: Resource) -> str:
    return arn(r.account, r.region, f"data-sets/{r.parent}/revisions/{r.id}")


def asset_arn(r: Resource) -> str:
    return arn(r.account, r.region, f"data-sets/{r.ref}/revisions/{r.parent}/assets/{r.id}")


def job_arn(r: Resource) -> str:
    return arn(r.account, r.region, f"jobs/{r.id}")


def event_action_arn(r: Resource) -> str:
    return arn(r.account, r.region, f"event-actions/{r.id}")


def grant_arn(account: str, region: str, grant_id: str) -> str:
    return arn(account, region, f"data-grants/{grant_id}")


def parse_arn(value: str) -> tuple[str, str, list[str]] | None:
    """(account, region, resource path parts) of a Data Exchange ARN, or None when it is not one."""
    match = _ARN.fullmatch(value or "")
    if not match:
        return None
    return match.group(3), match.group(2), match.group(4).split("/")


# -- renderings ------------------------------------------------------------------------------------

def _stamps(r: Resource) -> dict:
    return {"CreatedAt": to_datetime(r.created_us), "UpdatedAt": to_datetime(r.doc.get("UpdatedAt", r.created_us))}


def data_set_entry(r: Resource, with_tags: bool = False) -> dict:
    doc = r.doc
    out = {"Arn": data_set_arn(r), "AssetType": doc["AssetType"], "Description": doc["Description"], "Id": r.id,
           "Name": doc["Name"], "Origin": r.state, **_stamps(r)}
    if doc.get("OriginDetails"):
        out["OriginDetails"] = doc["OriginDetails"]
    if doc.get("SourceId"):
        out["SourceId"] = doc["SourceId"]
    if with_tags:
        out["Tags"] = doc.get("Tags") or {}
    return out


def revision_entry(r: Resource, with_tags: bool = False) -> dict:
    doc = r.doc
    out = {"Arn": revision_arn(r), "DataSetId": r.parent, "Id": r.id, "Finalized": r.state == FINALIZED,
           "Revoked": bool(doc.get("Revoked")), **_stamps(r)}
    if doc.get("Comment") is not None:
        out["Comment"] = doc["Comment"]
    if doc.get("Revoked"):
        out["RevokedAt"] = to_datetime(doc["RevokedAt"])
        out["RevocationComment"] = doc["RevocationComment"]
    if doc.get("SourceId"):
        out["SourceId"] = doc["SourceId"]
    if with_tags:
        out["Tags"] = doc.get("Tags") or {}
    return out


def asset_entry(r: Resource, details: dict, with_tags: bool = False) -> dict:
    """An asset; ``details`` is its AssetDetails with any time-limited URL already filled in."""
    doc = r.doc
    out = {"Arn": asset_arn(r), "AssetDetails": details, "AssetType": doc["AssetType"], "DataSetId": r.ref,
           "Id": r.id, "Name": doc["Name"], "RevisionId": r.parent, **_stamps(r)}
    if doc.get("SourceId"):
        out["SourceId"] = doc["SourceId"]
    if with_tags:
        out["Tags"] = doc.get("Tags") or {}
    return out


def event_action_entry(r: Resource, with_tags: bool = False) -> dict:
    out = {"Action": r.doc["Action"], "Arn": event_action_arn(r), "Event": r.doc["Event"], "Id": r.id,
           **_stamps(r)}
    if with_tags:
        out["Tags"] = r.doc.get("Tags") or {}
    return out


def grant_entry(r: Resource, *, sender_view: bool, with_tags: bool = False, summary: bool = False) -> dict:
    """A data grant as its sender (GetDataGrant, ListDataGrants) or its receiver sees it."""
    doc = r.doc
    out = {"Name": doc["Name"], "SenderPrincipal": doc["SenderPrincipal"],
           "ReceiverPrincipal": doc["ReceiverPrincipal"], "AcceptanceState": r.state,
           "DataSetId": doc["DataSetId"], "Id": r.id,
           "Arn": grant_arn(doc["SenderPrincipal"], r.region, r.id), **_stamps(r)}
    if not summary:
        out["GrantDistributionScope"] = doc["GrantDistributionScope"]
        if doc.get("Description"):
            out["Description"] = doc["Description"]
    if sender_view:
        out["SourceDataSetId"] = doc["SourceDataSetId"]
    if doc.get("AcceptedAt") is not None:
        out["AcceptedAt"] = to_datetime(doc["AcceptedAt"])
    if doc.get("EndsAt") is not None:
        out["EndsAt"] = to_datetime(doc["EndsAt"])
    if with_tags:
        out["Tags"] = doc.get("Tags") or {}
    return out


# -- lookups that answer AWS's 404s ------------------------------------------------------------------

def get_data_set(scope: Scope, data_set_id: str) -> Resource:
    return scope.require(DATA_SET, data_set_id)


def get_revision(scope: Scope, data_set_id: str, revision_id: str) -> Resource:
    get_data_set(scope, data_set_id)
    revision = scope.get(REVISION, revision_id)
    if revision is None or revision.parent != data_set_id:
        raise not_found("REVISION", revision_id)
    return revision


def get_asset(scope: Scope, data_set_id: str, revision_id: str, asset_id: str) -> Resource:
    get_revision(scope, data_set_id, revision_id)
    asset = scope.get(ASSET, asset_id)
    if asset is None or asset.parent != revision_id:
        raise not_found("ASSET", asset_id)
    return asset


def tag_map(tags: list[dict] | None) -> dict:
    """AssetConfiguration's list of {Key, Value} as the map assets carry."""
    return {t["Key"]: t["Value"] for t in tags or ()}
