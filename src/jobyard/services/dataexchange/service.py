"""AWS Data Exchange (2017-07-25, REST-JSON): every operation.

Data sets hold revisions, revisions hold assets; jobs import assets into a revision or export them out
(see ``jobs``). Finalized revisions are read-only; revoked ones can no longer be exported. Data grants
share an owned data set with another account: once accepted, the receiver has an ``ENTITLED`` copy that
follows the source's finalized revisions. Event actions export each newly published revision to S3.

Errors are the modelled ones with their modelled HTTP status (``errors``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import partial

from ...clock import US, from_datetime, to_datetime
from ...context import Scope
from ...objects import rules
from ...objects.urls import Content, Download, Upload
from ...store import Resource
from ..base import Context, Service, operation
from . import jobs, resources
from .errors import (ASSET, DATA_GRANT, DATA_SET, ERRORS, EVENT_ACTION, JOB, NOTIFICATION, RECEIVED_GRANT,
                     REVISION, access_denied, conflict, invalid, limit_exceeded, not_found, throttled)

DEFAULT_PAGE = 25            # MaxResults when absent (AWS does not document its default)
DATA_SETS_PER_ACCOUNT = 3000
EVENT_ACTIONS_PER_ACCOUNT = 50
EVENT_ACTIONS_PER_DATA_SET = 5
NAME_MAX, DESCRIPTION_MAX = 256, 16384
SCHEMA_CHANGES_MAX, SCOPE_KEYS_MAX = 100, 50
SPEC_URL_VALID_US = 3600 * US


def _with_token(out: dict, token: str | None) -> dict:
    if token:
        out["NextToken"] = token
    return out


def _limit(params: dict) -> int:
    return params.get("MaxResults") or DEFAULT_PAGE


def _check_tags(tags: dict | None) -> dict:
    """AWS's tagging rules: at most 50 tags, keys of 1–128 and values of up to 256 characters."""
    tags = tags or {}
    if len(tags) > 50:
        raise invalid(f"A resource can have at most 50 tags; {len(tags)} were given.")
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            raise invalid(f"Tag key {key!r} is not valid: keys have 1 to 128 characters and may not start "
                          "with aws:.")
        if len(value) > 256:
            raise invalid(f"The value of tag {key!r} is longer than 256 characters.")
    return dict(tags)


def _check_name(name: str, what: str = "Name") -> None:
    if not name.strip() or len(name) > NAME_MAX:
        raise invalid(f"{what} must have 1 to {NAME_MAX} characters.")


def _check_description(description: str) -> None:
    if len(description) > DESCRIPTION_MAX:
        raise invalid(f"Description must have at most {DESCRIPTION_MAX} characters.")


def _upload_key(account: str, region: str, job_id: str) -> str:
    return f"dataexchange/{account}/{region}/uploads/{job_id}"


class DataExchangeService(Service):
    model_name = "dataexchange"
    signing_names = ("dataexchange",)
    errors = ERRORS

    def transitions(self) -> dict:
        return {JOB: jobs.advance, RECEIVED_GRANT: _end_grant}

    def signed_urls(self) -> dict:
        return {"upload": Upload(self._receive_upload, max_bytes=jobs.SIGNED_URL_MAX_BYTES),
                "asset": Download(partial(self._asset_download, "application/octet-stream")),
                "api-spec": Download(partial(self._asset_download, "application/json"))}

    # -- data sets ------------------------------------------------------------------------------

    def _owned_data_set(self, ctx: Context, data_set_id: str, action: str) -> Resource:
        data_set = resources.get_data_set(ctx.scope, data_set_id)
        if data_set.state == resources.ENTITLED:
            raise access_denied(f"Data set {data_set_id} is entitled to this account; only its owner can "
                                f"{action}.")
        return data_set

    @operation("CreateDataSet")
    def create_data_set(self, ctx: Context, params: dict) -> dict:
        _check_name(params["Name"])
        _check_description(params["Description"])
        tags = _check_tags(params.get("Tags"))
        if ctx.scope.count(DATA_SET, states=[resources.OWNED]) >= DATA_SETS_PER_ACCOUNT:
            raise limit_exceeded("Data sets per account", DATA_SETS_PER_ACCOUNT,
                                 f"An account can own at most {DATA_SETS_PER_ACCOUNT} data sets.")
        doc = {"Name": params["Name"], "Description": params["Description"], "AssetType": params["AssetType"],
               "Tags": tags, "UpdatedAt": ctx.now_us}
        data_set = ctx.scope.add(DATA_SET, resources.new_id(), state=resources.OWNED, doc=doc)
        return resources.data_set_entry(data_set, with_tags=True)

    @operation("GetDataSet")
    def get_data_set(self, ctx: Context, params: dict) -> dict:
        return resources.data_set_entry(resources.get_data_set(ctx.scope, params["DataSetId"]), with_tags=True)

    @operation("ListDataSets")
    def list_data_sets(self, ctx: Context, params: dict) -> dict:
        origin = params.get("Origin")
        if origin is not None and origin not in (resources.OWNED, resources.ENTITLED):
            raise invalid(f"Origin must be OWNED or ENTITLED, not {origin!r}.")
        page = ctx.scope.page(DATA_SET, limit=_limit(params), token=params.get("NextToken"),
                              states=[origin] if origin else None, descending=True)
        return _with_token({"DataSets": [resources.data_set_entry(d) for d in page.items]}, page.next_token)

    @operation("UpdateDataSet")
    def update_data_set(self, ctx: Context, params: dict) -> dict:
        data_set = self._owned_data_set(ctx, params["DataSetId"], "update it")
        if params.get("Name") is not None:
            _check_name(params["Name"])
            data_set.doc["Name"] = params["Name"]
        if params.get("Description") is not None:
            _check_description(params["Description"])
            data_set.doc["Description"] = params["Description"]
        data_set.doc["UpdatedAt"] = ctx.now_us
        ctx.scope.save(data_set)
        return resources.data_set_entry(data_set)

    @operation("DeleteDataSet")
    def delete_data_set(self, ctx: Context, params: dict) -> dict:
        data_set = self._owned_data_set(ctx, params["DataSetId"], "delete it")
        if self._active_grants(ctx, data_set):
            raise conflict(f"Data set {data_set.id} is shared through data grants; delete them first.",
                           "DATA_SET", data_set.id)
        if ctx.scope.exists(JOB, parent=data_set.id, states=[jobs.IN_PROGRESS]):
            raise conflict(f"Data set {data_set.id} has jobs in progress.", "DATA_SET", data_set.id)
        _delete_data_set(ctx, data_set)
        return {}

    def _active_grants(self, ctx: Context, data_set: Resource) -> list[Resource]:
        """The accepted grants of an owned data set whose access has not ended."""
        return [g for g in ctx.scope.children(DATA_GRANT, data_set.id)
                if g.state == resources.ACCEPTED and (g.doc.get("EndsAt") is None or g.doc["EndsAt"] > ctx.now_us)]

    # -- revisions --------------------------------------------------------------------------------

    @operation("CreateRevision")
    def create_revision(self, ctx: Context, params: dict) -> dict:
        data_set = self._owned_data_set(ctx, params["DataSetId"], "add revisions to it")
        doc = {"Tags": _check_tags(params.get("Tags")), "UpdatedAt": ctx.now_us}
        if params.get("Comment") is not None:
            doc["Comment"] = params["Comment"]
        revision = ctx.scope.add(REVISION, resources.new_id(), parent=data_set.id, state=resources.DRAFT, doc=doc)
        return resources.revision_entry(revision, with_tags=True)

    @operation("GetRevision")
    def get_revision(self, ctx: Context, params: dict) -> dict:
        revision = resources.get_revision(ctx.scope, params["DataSetId"], params["RevisionId"])
        return resources.revision_entry(revision, with_tags=True)

    @operation("ListDataSetRevisions")
    def list_data_set_revisions(self, ctx: Context, params: dict) -> dict:
        data_set = resources.get_data_set(ctx.scope, params["DataSetId"])
        page = ctx.scope.page(REVISION, limit=_limit(params), token=params.get("NextToken"), parent=data_set.id,
                              descending=True)
        return _with_token({"Revisions": [resources.revision_entry(r) for r in page.items]}, page.next_token)

    def _owned_revision(self, ctx: Context, params: dict, action: str) -> Resource:
        self._owned_data_set(ctx, params["DataSetId"], action)
        return resources.get_revision(ctx.scope, params["DataSetId"], params["RevisionId"])

    @operation("UpdateRevision")
    def update_revision(self, ctx: Context, params: dict) -> dict:
        revision = self._owned_revision(ctx, params, "change its revisions")
        finalize, comment = params.get("Finalized"), params.get("Comment")
        if revision.doc.get("Revoked"):
            raise conflict(f"Revision {revision.id} has been revoked and can no longer be changed.", "REVISION",
                           revision.id)
        finalized = revision.state == resources.FINALIZED
        if finalized and finalize is not False and comment is not None:
            raise conflict(f"Revision {revision.id} is finalized and read-only; set Finalized to false to "
                           "change it.", "REVISION", revision.id)
        publish = False
        if finalized and finalize is False:
            data_set = ctx.scope.get(DATA_SET, revision.parent)
            if self._active_grants(ctx, data_set):
                raise conflict(f"Revision {revision.id} is shared through data grants and cannot be "
                               "unfinalized.", "REVISION", revision.id)
            revision.state = resources.DRAFT
        elif not finalized and finalize:
            if not ctx.scope.exists(ASSET, parent=revision.id):
                raise invalid(f"Revision {revision.id} has no assets; a revision needs at least one asset "
                              "to be finalized.")
            if ctx.scope.exists(JOB, ref=revision.id, states=[jobs.IN_PROGRESS]):
                raise conflict(f"Revision {revision.id} has jobs in progress.", "REVISION", revision.id)
            revision.state, publish = resources.FINALIZED, True
        if comment is not None:
            revision.doc["Comment"] = comment
        revision.doc["UpdatedAt"] = ctx.now_us
        ctx.scope.save(revision)
        if publish:
            self._publish(ctx, revision)
        return resources.revision_entry(revision)

    @operation("DeleteRevision")
    def delete_revision(self, ctx: Context, params: dict) -> dict:
        revision = self._owned_revision(ctx, params, "delete its revisions")
        if revision.state == resources.FINALIZED and not revision.doc.get("Revoked"):
            raise conflict(f"Revision {revision.id} is finalized; set Finalized to false before deleting it.",
                           "REVISION", revision.id)
        if ctx.scope.exists(JOB, ref=revision.id, states=[jobs.IN_PROGRESS]):
            raise conflict(f"Revision {revision.id} has jobs in progress.", "REVISION", revision.id)
        _delete_revision(ctx, revision, owned=True)
        return {}

    @operation("RevokeRevision")
    def revoke_revision(self, ctx: Context, params: dict) -> dict:
        revision = self._owned_revision(ctx, params, "revoke its revisions")
        if revision.state != resources.FINALIZED:
            raise conflict(f"Revision {revision.id} is not finalized; only published revisions can be revoked.",
                           "REVISION", revision.id)
        if revision.doc.get("Revoked"):
            raise conflict(f"Revision {revision.id} has already been revoked.", "REVISION", revision.id)
        revocation = {"Revoked": True, "RevokedAt": ctx.now_us, "RevocationComment": params["RevocationComment"],
                      "UpdatedAt": ctx.now_us}
        revision.doc.update(revocation)
        ctx.scope.save(revision)
        # Receivers of the data set lose access to their copy too.
        for grant in ctx.scope.children(DATA_GRANT, revision.parent):
            receiver = ctx.at(grant.doc["ReceiverPrincipal"], ctx.region).scope
            copy = receiver.get(REVISION, revision.id)
            if copy is not None:
                copy.doc.update(revocation)
                receiver.save(copy)
        return resources.revision_entry(revision)

    # -- publishing: grants and event actions follow finalized revisions --------------------------

    def _publish(self, ctx: Context, revision: Resource) -> None:
        data_set = ctx.scope.get(DATA_SET, revision.parent)
        assets = ctx.scope.children(ASSET, revision.id)
        for grant in self._active_grants(ctx, data_set):
            receiver = ctx.at(grant.doc["ReceiverPrincipal"], ctx.region).scope
            entitled = receiver.get(DATA_SET, grant.doc["DataSetId"])
            if entitled is not None:
                _copy_revision(receiver, revision, assets, entitled)
                self._fire_event_actions(receiver, entitled.id, revision.id)
        self._fire_event_actions(ctx.scope, data_set.id, revision.id)

    def _fire_event_actions(self, scope: Scope, data_set_id: str, revision_id: str) -> None:
        """Each RevisionPublished event action on the data set starts an export of the new revision."""
        for action in scope.children(EVENT_ACTION, data_set_id):
            export = action.doc["Action"]["ExportRevisionToS3"]
            destination = export["RevisionDestination"]
            details = {"DataSetId": data_set_id, "EventActionArn": resources.event_action_arn(action),
                       "RevisionDestinations": [{"Bucket": destination["Bucket"], "RevisionId": revision_id,
                                                 "KeyPattern": destination.get("KeyPattern")
                                                 or jobs.AUTO_EXPORT_KEY_PATTERN}]}
            if export.get("Encryption"):
                details["Encryption"] = export["Encryption"]
            job = jobs.new_job(scope, jobs.EXPORT_REVISIONS, details, None, data_set_id, revision_id)
            jobs.start(job, scope.now_us)
            scope.insert(job)

    # -- assets ---------------------------------------------------------------------------------

    def _asset_details(self, ctx: Context, asset: Resource) -> dict:
        details = asset.doc["AssetDetails"]
        api = details.get("ApiGatewayApiAsset")
        if api is not None and asset.doc.get("FileKey"):
            expires = ctx.now_us + SPEC_URL_VALID_US
            url = ctx.signed_url("api-spec", {"asset": asset.id}, expires)
            details = {"ApiGatewayApiAsset": {**api, "ApiSpecificationDownloadUrl": url,
                                              "ApiSpecificationDownloadUrlExpiresAt": to_datetime(expires)}}
        return details

    def _asset(self, ctx: Context, params: dict) -> Resource:
        return resources.get_asset(ctx.scope, params["DataSetId"], params["RevisionId"], params["AssetId"])

    @operation("GetAsset")
    def get_asset(self, ctx: Context, params: dict) -> dict:
        asset = self._asset(ctx, params)
        return resources.asset_entry(asset, self._asset_details(ctx, asset), with_tags=True)

    @operation("ListRevisionAssets")
    def list_revision_assets(self, ctx: Context, params: dict) -> dict:
        revision = resources.get_revision(ctx.scope, params["DataSetId"], params["RevisionId"])
        # "Sorted alphabetically in descending order": jobyard sorts by asset id, which pages by keyset.
        page = ctx.scope.page(ASSET, limit=_limit(params), token=params.get("NextToken"), parent=revision.id, by="id",
                              descending=True)
        return _with_token({"Assets": [resources.asset_entry(a, self._asset_details(ctx, a)) for a in page.items]},
                           page.next_token)

    def _changeable_asset(self, ctx: Context, params: dict, action: str,
                          revoked_ok: bool = False) -> tuple[Resource, Resource]:
        """The asset and its revision, which must be a draft (or, with ``revoked_ok``, revoked)."""
        revision = self._owned_revision(ctx, params, action)
        asset = self._asset(ctx, params)
        if revision.state == resources.FINALIZED and not (revoked_ok and revision.doc.get("Revoked")):
            raise conflict(f"Revision {revision.id} is finalized and read-only; its assets cannot change.",
                           "ASSET", asset.id)
        return asset, revision

    @operation("UpdateAsset")
    def update_asset(self, ctx: Context, params: dict) -> dict:
        asset, _revision = self._changeable_asset(ctx, params, "rename its assets")
        if not params["Name"].strip():
            raise invalid("Name must not be empty.")
        asset.doc.update(Name=params["Name"], UpdatedAt=ctx.now_us)
        ctx.scope.save(asset)
        return resources.asset_entry(asset, self._asset_details(ctx, asset))

    @operation("DeleteAsset")
    def delete_asset(self, ctx: Context, params: dict) -> dict:
        # Data Exchange User Guide, "Revoking access to revisions": revoking does not delete a revision's assets,
        # and after it they can be deleted with DeleteAsset (a finalized revision's cannot).
        asset, revision = self._changeable_asset(ctx, params, "delete its assets", revoked_ok=True)
        ctx.scope.delete(asset)
        if asset.doc.get("FileKey"):
            ctx.files.delete(asset.doc["FileKey"])
        if revision.doc.get("Revoked"):   # receivers' copies of it go with it: their bytes were the owner's
            for grant in ctx.scope.children(DATA_GRANT, revision.parent):
                receiver = ctx.at(grant.doc["ReceiverPrincipal"], ctx.region).scope
                copy = receiver.get(ASSET, asset.id)
                if copy is not None:
                    receiver.delete(copy)
        return {}

    # -- jobs -----------------------------------------------------------------------------------

    @operation("CreateJob")
    def create_job(self, ctx: Context, params: dict) -> dict:
        job_type, given = params["Type"], params["Details"]
        member = jobs.DETAILS_MEMBER[job_type]
        if member not in given:
            raise invalid(f"Details.{member} is required for jobs of type {job_type}.")
        others = sorted(set(given) - {member})
        if others:
            raise invalid(f"Details may only contain {member} for jobs of type {job_type}, not "
                          f"{', '.join(others)}.")
        details = given[member]
        jobs.validate(ctx.scope, job_type, details)
        configuration = params.get("AssetConfiguration")
        if configuration is not None:
            _check_tags(resources.tag_map(configuration.get("Tags")))
        data_set_id, revision_id = jobs.target_ids(job_type, details)
        job = ctx.scope.insert(jobs.new_job(ctx.scope, job_type, details, configuration, data_set_id, revision_id))
        return jobs.entry(job, ctx.signed_url)

    @operation("GetJob")
    def get_job(self, ctx: Context, params: dict) -> dict:
        return jobs.entry(ctx.scope.require(JOB, params["JobId"]), ctx.signed_url)

    @operation("ListJobs")
    def list_jobs(self, ctx: Context, params: dict) -> dict:
        data_set_id, revision_id = params.get("DataSetId"), params.get("RevisionId")
        for member, value in (("dataSetId", data_set_id), ("revisionId", revision_id)):
            if value is not None and not resources.ID_PATTERN.fullmatch(value):
                raise invalid(f"Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy "
                              f"regular expression pattern: {resources.ID_PATTERN.pattern}")
        # The filters select the jobs that work on that data set / revision; an id that names nothing
        # (or a data set deleted since) simply matches no job.
        page = ctx.scope.page(JOB, limit=_limit(params), token=params.get("NextToken"), parent=data_set_id,
                              ref=revision_id, descending=True)
        return _with_token({"Jobs": [jobs.entry(j, ctx.signed_url) for j in page.items]}, page.next_token)

    @operation("StartJob")
    def start_job(self, ctx: Context, params: dict) -> dict:
        job = ctx.scope.require(JOB, params["JobId"])
        if job.state != jobs.WAITING:
            raise conflict(f"Job {job.id} is {job.state}; only WAITING jobs can be started.", "JOB", job.id)
        job_type = job.doc["Type"]
        if job_type in jobs.IMPORT_ASSET_TYPE:
            revision = ctx.scope.get(REVISION, job.ref)
            if revision is not None and revision.state == resources.FINALIZED:
                raise conflict(f"Revision {revision.id} is finalized and cannot take new assets.", "REVISION",
                               revision.id)
        running, _ = ctx.scope.rows(JOB, limit=1000, states=[jobs.IN_PROGRESS])
        if sum(1 for j in running if j.doc["Type"] == job_type) >= jobs.CONCURRENT_JOBS_PER_TYPE:
            raise throttled(f"At most {jobs.CONCURRENT_JOBS_PER_TYPE} {job_type} jobs can be in progress at once; "
                            "start this job when one of them has finished.")
        jobs.start(job, ctx.now_us)
        ctx.scope.save(job)
        return {}

    @operation("CancelJob")
    def cancel_job(self, ctx: Context, params: dict) -> dict:
        job = ctx.scope.require(JOB, params["JobId"])
        if job.state != jobs.WAITING:
            raise conflict(f"Job {job.id} is {job.state}; only WAITING jobs can be cancelled.", "JOB", job.id)
        job.state = jobs.CANCELLED
        job.doc["UpdatedAt"] = ctx.now_us
        upload = job.doc.pop("Upload", None)
        ctx.scope.save(job)
        if upload:
            ctx.files.delete(upload["Key"])
        return {}

    # -- signed URLs: uploads into import jobs, downloads of assets -------------------------------
    # ``ctx`` speaks for the account and Region that issued the URL; objects/urls.py has already checked
    # the method, the size and any Content-MD5 the client sent.

    def _asset_download(self, content_type: str, ctx: Context, args: dict) -> Content:
        asset = ctx.scope.get(ASSET, args["asset"])
        if asset is None or not asset.doc.get("FileKey") or not ctx.files.exists(asset.doc["FileKey"]):
            raise rules.no_such_key()
        revision = ctx.scope.get(REVISION, asset.parent)
        if revision is not None and revision.doc.get("Revoked"):
            raise rules.access_denied("Access to this revision has been revoked.")
        filename = asset.doc["Name"].rsplit("/", 1)[-1].replace('"', "")
        # Streamed by the server, whatever the asset's size.
        return Content(content_type, ctx.files.stream(asset.doc["FileKey"]), f'attachment; filename="{filename}"')

    def _receive_upload(self, ctx: Context, args: dict, data: bytes, content_type: str) -> None:
        job = ctx.scope.get(JOB, args["job"])
        if job is None:
            raise rules.no_such_upload(args["job"])
        if job.state in jobs.FINISHED:
            raise rules.access_denied(f"Job {job.id} is {job.state} and takes no more uploads.")
        details = job.doc["Details"]
        if jobs.md5_base64(data) != (details.get("Md5Hash") or details.get("ApiSpecificationMd5Hash")):
            raise rules.bad_digest()
        key = _upload_key(job.account, job.region, job.id)
        ctx.files.put(key, data)
        job.doc["Upload"] = {"Key": key, "Size": len(data)}
        ctx.scope.save(job)

    # -- event actions --------------------------------------------------------------------------

    def _check_action(self, action: dict) -> None:
        export = action.get("ExportRevisionToS3")
        if export is None:
            raise invalid("Action.ExportRevisionToS3 is required.")
        destination = export["RevisionDestination"]
        jobs.check_bucket(destination["Bucket"], "RevisionDestination.Bucket")
        jobs.check_key_pattern(destination.get("KeyPattern"), "RevisionDestination.KeyPattern")
        jobs.check_encryption(export.get("Encryption"))

    @operation("CreateEventAction")
    def create_event_action(self, ctx: Context, params: dict) -> dict:
        published = params["Event"].get("RevisionPublished")
        if published is None:
            raise invalid("Event.RevisionPublished is required.")
        self._check_action(params["Action"])
        data_set_id = published["DataSetId"]
        if ctx.scope.get(DATA_SET, data_set_id) is None:
            # CreateEventAction models no ResourceNotFoundException.
            raise invalid(f"Event.RevisionPublished.DataSetId {data_set_id} does not name a data set of this "
                          "account.")
        if ctx.scope.count(EVENT_ACTION) >= EVENT_ACTIONS_PER_ACCOUNT:
            raise limit_exceeded("Event actions per account", EVENT_ACTIONS_PER_ACCOUNT,
                                 f"An account can have at most {EVENT_ACTIONS_PER_ACCOUNT} event actions.")
        if ctx.scope.count(EVENT_ACTION, parent=data_set_id) >= EVENT_ACTIONS_PER_DATA_SET:
            raise limit_exceeded("Auto export event actions per data set", EVENT_ACTIONS_PER_DATA_SET,
                                 f"A data set can have at most {EVENT_ACTIONS_PER_DATA_SET} event actions.")
        doc = {"Action": params["Action"], "Event": params["Event"], "Tags": _check_tags(params.get("Tags")),
               "UpdatedAt": ctx.now_us}
        action = ctx.scope.add(EVENT_ACTION, resources.new_id(), parent=data_set_id, doc=doc)
        return resources.event_action_entry(action, with_tags=True)

    @operation("GetEventAction")
    def get_event_action(self, ctx: Context, params: dict) -> dict:
        return resources.event_action_entry(ctx.scope.require(EVENT_ACTION, params["EventActionId"]), with_tags=True)

    @operation("ListEventActions")
    def list_event_actions(self, ctx: Context, params: dict) -> dict:
        page = ctx.scope.page(EVENT_ACTION, limit=_limit(params), token=params.get("NextToken"),
                              parent=params.get("EventSourceId"), descending=True)
        return _with_token({"EventActions": [resources.event_action_entry(a) for a in page.items]}, page.next_token)

    @operation("UpdateEventAction")
    def update_event_action(self, ctx: Context, params: dict) -> dict:
        action = ctx.scope.require(EVENT_ACTION, params["EventActionId"])
        if params.get("Action") is not None:
            self._check_action(params["Action"])
            action.doc["Action"] = params["Action"]
        action.doc["UpdatedAt"] = ctx.now_us
        ctx.scope.save(action)
        return resources.event_action_entry(action)

    @operation("DeleteEventAction")
    def delete_event_action(self, ctx: Context, params: dict) -> dict:
        ctx.scope.delete(ctx.scope.require(EVENT_ACTION, params["EventActionId"]))
        return {}

    # -- data grants ----------------------------------------------------------------------------

    def _sent_grant(self, ctx: Context, grant_id_or_arn: str) -> Resource:
        grant_id = grant_id_or_arn
        parsed = resources.parse_arn(grant_id_or_arn)
        if parsed is not None:
            account, region, parts = parsed
            grant_id = parts[-1]
            if account != ctx.account or region != ctx.region:
                raise not_found("DATA_GRANT", grant_id)
        return ctx.scope.require(DATA_GRANT, grant_id)

    def _received_grant(self, ctx: Context, grant_arn: str) -> Resource:
        parsed = resources.parse_arn(grant_arn)
        grant_id = grant_arn.rsplit("/", 1)[-1]
        grant = ctx.scope.get(RECEIVED_GRANT, grant_id) if parsed else None
        if grant is None or parsed[1] != ctx.region or grant.doc["SenderPrincipal"] != parsed[0]:
            raise not_found("DATA_GRANT", grant_id)
        return grant

    @operation("CreateDataGrant")
    def create_data_grant(self, ctx: Context, params: dict) -> dict:
        source = self._owned_data_set(ctx, params["SourceDataSetId"], "share it")
        receiver = params["ReceiverPrincipal"]
        if receiver == ctx.account:
            raise invalid("ReceiverPrincipal must be another account than the sender's.")
        ends_at = from_datetime(params["EndsAt"]) if params.get("EndsAt") is not None else None
        if ends_at is not None and ends_at <= ctx.now_us:
            raise invalid("EndsAt must be in the future.")
        description = params.get("Description")
        if description is not None:
            _check_description(description)
        grant_id = resources.new_id()
        doc = {"Name": params["Name"], "SenderPrincipal": ctx.account, "ReceiverPrincipal": receiver,
               "GrantDistributionScope": params["GrantDistributionScope"], "SourceDataSetId": source.id,
               "DataSetId": resources.new_id(), "EndsAt": ends_at, "UpdatedAt": ctx.now_us}
        if description:
            doc["Description"] = description
        grant = ctx.scope.add(DATA_GRANT, grant_id, parent=source.id, state=resources.PENDING,
                              doc={**doc, "Tags": _check_tags(params.get("Tags"))})
        ctx.at(receiver, ctx.region).scope.add(RECEIVED_GRANT, grant_id, parent=ctx.account, state=resources.PENDING,
                                               doc=doc)
        return resources.grant_entry(grant, sender_view=True, with_tags=True)

    @operation("GetDataGrant")
    def get_data_grant(self, ctx: Context, params: dict) -> dict:
        return resources.grant_entry(self._sent_grant(ctx, params["DataGrantId"]), sender_view=True, with_tags=True)

    @operation("ListDataGrants")
    def list_data_grants(self, ctx: Context, params: dict) -> dict:
        page = ctx.scope.page(DATA_GRANT, limit=_limit(params), token=params.get("NextToken"), descending=True)
        return _with_token({"DataGrantSummaries": [resources.grant_entry(g, sender_view=True, summary=True)
                                                   for g in page.items]}, page.next_token)

    @operation("DeleteDataGrant")
    def delete_data_grant(self, ctx: Context, params: dict) -> dict:
        grant = self._sent_grant(ctx, params["DataGrantId"])
        _delete_grant(ctx, grant)
        return {}

    @operation("GetReceivedDataGrant")
    def get_received_data_grant(self, ctx: Context, params: dict) -> dict:
        return resources.grant_entry(self._received_grant(ctx, params["DataGrantArn"]), sender_view=False)

    @operation("ListReceivedDataGrants")
    def list_received_data_grants(self, ctx: Context, params: dict) -> dict:
        states = params.get("AcceptanceState") or None
        page = ctx.scope.page(RECEIVED_GRANT, limit=_limit(params), token=params.get("NextToken"), states=states,
                              descending=True)
        return _with_token({"DataGrantSummaries": [resources.grant_entry(g, sender_view=False, summary=True)
                                                   for g in page.items]}, page.next_token)

    @operation("AcceptDataGrant")
    def accept_data_grant(self, ctx: Context, params: dict) -> dict:
        received = self._received_grant(ctx, params["DataGrantArn"])
        if received.state == resources.ACCEPTED:
            raise conflict(f"Data grant {received.id} has already been accepted.", "DATA_GRANT", received.id)
        ends_at = received.doc.get("EndsAt")
        if ends_at is not None and ends_at <= ctx.now_us:
            raise conflict(f"Data grant {received.id} ended at {to_datetime(ends_at).isoformat()}.",
                           "DATA_GRANT", received.id)
        sender = ctx.at(received.doc["SenderPrincipal"], ctx.region).scope
        grant = sender.get(DATA_GRANT, received.id)
        source = sender.get(DATA_SET, received.doc["SourceDataSetId"])
        if grant is None or source is None:
            raise not_found("DATA_GRANT", received.id)
        for r in (received, grant):
            r.state = resources.ACCEPTED
            r.doc.update(AcceptedAt=ctx.now_us, UpdatedAt=ctx.now_us)
        received.next_due_us = ends_at  # access ends then: the entitled data set goes away
        ctx.scope.save(received)
        sender.save(grant)
        entitled = ctx.scope.add(DATA_SET, received.doc["DataSetId"], state=resources.ENTITLED, doc={
            "Name": source.doc["Name"], "Description": source.doc["Description"], "AssetType": source.doc["AssetType"],
            "Tags": {}, "UpdatedAt": ctx.now_us, "OriginDetails": {"DataGrantId": received.id}})
        for revision in sender.children(REVISION, source.id):
            if revision.state == resources.FINALIZED:
                _copy_revision(ctx.scope, revision, sender.children(ASSET, revision.id), entitled)
        return resources.grant_entry(received, sender_view=False)

    # -- notifications and API assets ---------------------------------------------------------------

    @operation("SendDataSetNotification")
    def send_data_set_notification(self, ctx: Context, params: dict) -> dict:
        data_set = self._owned_data_set(ctx, params["DataSetId"], "notify its subscribers")
        _check_notification(data_set, params, ctx.now_us)
        record = _jsonable({k: v for k, v in params.items() if k not in ("DataSetId", "ClientToken")})
        token = params.get("ClientToken")
        if token is None:
            notification_id = resources.new_id()
        else:
            notification_id = hashlib.sha256(f"{data_set.id}/{token}".encode()).hexdigest()[:32]
            earlier = ctx.scope.get(NOTIFICATION, notification_id)
            if earlier is not None:
                if earlier.doc["Notification"] != record:
                    raise conflict(f"ClientToken {token} was already used for a different notification.",
                                   "DATA_SET", data_set.id)
                return {}   # a retry of a notification already sent
        ctx.scope.add(NOTIFICATION, notification_id, parent=data_set.id, state=params["Type"],
                      doc={"Notification": record})
        return {}

    @operation("SendApiAsset")
    def send_api_asset(self, ctx: Context, params: dict) -> dict:
        for member in ("DataSetId", "RevisionId", "AssetId"):
            if not resources.ID_PATTERN.fullmatch(params[member]):
                raise invalid(f"{member} {params[member]!r} is not a valid id.")
        asset = self._asset(ctx, params)
        api = asset.doc["AssetDetails"].get("ApiGatewayApiAsset")
        if api is None:
            raise invalid(f"Asset {asset.id} is not an API Gateway API asset.")
        revision = ctx.scope.get(REVISION, asset.parent)
        if revision.doc.get("Revoked"):
            raise access_denied(f"Access to revision {revision.id} has been revoked.")
        # jobyard cannot reach the provider's API Gateway API. It answers with the request it would
        # have proxied, so that callers can check what they send, and says so in body and headers.
        request = {"Method": params.get("Method") or "POST", "Path": params.get("Path") or "/",
                   "QueryStringParameters": params.get("QueryStringParameters") or {},
                   "RequestHeaders": params.get("RequestHeaders") or {}, "Body": params.get("Body") or "",
                   "Endpoint": f"{api['ApiEndpoint']}", "ApiId": api.get("ApiId"), "Stage": api.get("Stage")}
        body = {"Message": "jobyard does not call API Gateway; this is the request it would have proxied.",
                "Request": request}
        return {"Body": json.dumps(body), "ResponseHeaders": {"Content-Type": "application/json",
                                                              "x-jobyard-api-gateway": "not-called"}}

    # -- tags -----------------------------------------------------------------------------------

    def _tagged(self, ctx: Context, resource_arn: str) -> Resource:
        # The tagging operations model no errors, so every failure is a (generic) ValidationException,
        # or AccessDeniedException for another account's resource.
        parsed = resources.parse_arn(resource_arn)
        if parsed is None:
            raise invalid(f"{resource_arn} is not a valid AWS Data Exchange resource ARN.")
        account, region, parts = parsed
        if account != ctx.account or region != ctx.region:
            raise access_denied(f"{resource_arn} belongs to another account or Region.")
        kinds = {("data-sets",): DATA_SET, ("data-sets", "revisions"): REVISION,
                 ("data-sets", "revisions", "assets"): ASSET, ("event-actions",): EVENT_ACTION,
                 ("data-grants",): DATA_GRANT}
        kind = kinds.get(tuple(parts[0::2])) if len(parts) % 2 == 0 else None
        resource = ctx.scope.get(kind, parts[-1]) if kind else None
        parents = parts[1:-1:2]
        if resource is None or (kind == REVISION and resource.parent != parents[0]) or (
                kind == ASSET and (resource.ref, resource.parent) != tuple(parents)):
            raise invalid(f"Resource {resource_arn} not found.")
        return resource

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: Context, params: dict) -> dict:
        return {"Tags": self._tagged(ctx, params["ResourceArn"]).doc.get("Tags") or {}}

    @operation("TagResource")
    def tag_resource(self, ctx: Context, params: dict) -> dict:
        resource = self._tagged(ctx, params["ResourceArn"])
        resource.doc["Tags"] = _check_tags({**(resource.doc.get("Tags") or {}), **params["Tags"]})
        ctx.scope.save(resource)
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: Context, params: dict) -> dict:
        resource = self._tagged(ctx, params["ResourceArn"])
        tags = resource.doc.get("Tags") or {}
        resource.doc["Tags"] = {k: v for k, v in tags.items() if k not in set(params["TagKeys"])}
        ctx.scope.save(resource)
        return {}


# -- helpers that also run in transitions: each takes the context (or scope) of the rows' own account ------

def _copy_revision(scope: Scope, revision: Resource, assets: list[Resource], entitled: Resource) -> None:
    """Give a receiver's entitled data set (in ``scope``) its copy of a finalized revision (same ids, as AWS
    shows them)."""
    if scope.get(REVISION, revision.id) is not None:
        return
    doc = {k: v for k, v in revision.doc.items() if k != "Tags"}
    scope.add(REVISION, revision.id, parent=entitled.id, state=resources.FINALIZED, created_us=revision.created_us,
              doc={**doc, "Tags": {}})
    scope.tx.insert_many(scope.new(ASSET, a.id, parent=revision.id, ref=entitled.id, created_us=a.created_us,
                                   doc={**a.doc, "Tags": {}}) for a in assets)


def _delete_revision(ctx: Context, revision: Resource, owned: bool) -> None:
    """Delete a revision and its assets, and the payload files of the owner's assets (once committed)."""
    for asset in ctx.scope.children(ASSET, revision.id):
        ctx.scope.delete(asset)
        if owned and asset.doc.get("FileKey"):
            ctx.files.delete(asset.doc["FileKey"])
    ctx.scope.delete(revision)


def _delete_data_set(ctx: Context, data_set: Resource) -> None:
    """Delete a data set with its revisions, assets, event actions and grants; entitled copies own no files."""
    owned = data_set.state == resources.OWNED
    for revision in ctx.scope.children(REVISION, data_set.id):
        _delete_revision(ctx, revision, owned)
    for kind in (EVENT_ACTION, NOTIFICATION):
        for row in ctx.scope.children(kind, data_set.id):
            ctx.scope.delete(row)
    for grant in ctx.scope.children(DATA_GRANT, data_set.id):
        _delete_grant(ctx, grant)
    ctx.scope.delete(data_set)


def _delete_grant(ctx: Context, grant: Resource) -> None:
    """Delete a data grant on both sides; the receiver loses its entitled data set."""
    receiver = ctx.at(grant.doc["ReceiverPrincipal"], grant.region)
    received = receiver.scope.get(RECEIVED_GRANT, grant.id)
    if received is not None:
        receiver.scope.delete(received)
    entitled = receiver.scope.get(DATA_SET, grant.doc["DataSetId"])
    if entitled is not None:
        _delete_data_set(receiver, entitled)
    ctx.scope.delete(grant)


def _end_grant(ctx: Context, received: Resource):
    """Transition: a data grant's EndsAt has come; the receiver's entitled data set goes away."""
    entitled = ctx.scope.get(DATA_SET, received.doc["DataSetId"])
    if entitled is not None:
        _delete_data_set(ctx, entitled)
    received.next_due_us = None
    return ()


def _jsonable(value):
    """Input with timestamps as microseconds, so that it can sit in a stored document."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return from_datetime(value)
    return value


def _check_notification(data_set: Resource, params: dict, now_us: int) -> None:
    """SendDataSetNotification's rules: details that fit the type, a scope that fits the data set."""
    kind = params["Type"]
    details = params.get("Details") or {}
    wanted = {"DATA_UPDATE": "DataUpdate", "DEPRECATION": "Deprecation", "SCHEMA_CHANGE": "SchemaChange"}.get(kind)
    others = sorted(set(details) - {wanted})
    if others:
        raise invalid(f"Details.{others[0]} does not apply to {kind} notifications.")
    if kind == "DEPRECATION":
        deprecation = details.get("Deprecation")
        if deprecation is None:
            raise invalid("Details.Deprecation is required for DEPRECATION notifications.")
        if from_datetime(deprecation["DeprecationAt"]) <= now_us:
            raise invalid("Details.Deprecation.DeprecationAt must be in the future.")
    elif kind == "SCHEMA_CHANGE":
        change = details.get("SchemaChange")
        if change is None:
            raise invalid("Details.SchemaChange is required for SCHEMA_CHANGE notifications.")
        if len(change.get("Changes") or ()) > SCHEMA_CHANGES_MAX:
            raise invalid(f"Details.SchemaChange.Changes can have at most {SCHEMA_CHANGES_MAX} entries.")
    elif kind == "DATA_UPDATE":
        update = details.get("DataUpdate") or {}
        if update.get("DataUpdatedAt") is not None and from_datetime(update["DataUpdatedAt"]) > now_us:
            raise invalid("Details.DataUpdate.DataUpdatedAt must be in the past.")
    scope = params.get("Scope") or {}
    fits = {"RedshiftDataShares": "REDSHIFT_DATA_SHARE", "LakeFormationTagPolicies": "LAKE_FORMATION_DATA_PERMISSION",
            "S3DataAccesses": "S3_DATA_ACCESS"}
    for member, asset_type in fits.items():
        if scope.get(member) and data_set.doc["AssetType"] != asset_type:
            raise invalid(f"Scope.{member} applies to {asset_type} data sets; data set {data_set.id} holds "
                          f"{data_set.doc['AssetType']} assets.")
    for access in scope.get("S3DataAccesses") or ():
        for member in ("Keys", "KeyPrefixes"):
            if len(access.get(member) or ()) > SCOPE_KEYS_MAX:
                raise invalid(f"Scope.S3DataAccesses.{member} can have at most {SCOPE_KEYS_MAX} entries.")
