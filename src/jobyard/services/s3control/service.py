"""S3 Control (2018-08-20), the S3 Batch Operations job API: CreateJob, DescribeJob, ListJobs,
UpdateJobPriority, UpdateJobStatus, Get/Put/DeleteJobTagging and Tag/Untag/ListTagsForResource on job ARNs.

The other S3 Control operations (access points, Storage Lens, Access Grants, ...) answer S3's
``NotImplemented`` (501). Errors are S3 XML errors with the modelled codes (``errors.py``).
"""

from __future__ import annotations

import hashlib
import re
import uuid

import orjson

from ...store import Resource
from ..base import Context, Service, operation
from . import errors, jobs, states
from .errors import (ERRORS, access_denied, bad_request, idempotency_error, invalid_request, invalid_tag,
                     job_not_found, job_status_error, not_implemented, too_many_jobs, too_many_tags)
from .jobs import JOB, TOKEN
from .stored import freeze
from .validation import MAX_JOB_TAGS, Invalid, check_create_job, check_tags

# MaxResults absent or 0. The ListJobs API reference gives the range 0-1000 but no default; its largest value
# is the one that leaves the fewest pages.
DEFAULT_PAGE = 1000

# S3 resources other than jobs whose tags S3 Control keeps on AWS (jobyard keeps only jobs'): an ARN of one is
# NotImplemented, an ARN naming none of them an invalid request.
_TAGGABLE_ARN = re.compile(r"arn:aws[a-z\-]*:s3(?:express)?:[a-z0-9\-]*:\d{12}:(?:accesspoint|storage-lens|"
                           r"storage-lens-group|access-grants|bucket|outpost)/.+", re.DOTALL)
_JOB_ARN = re.compile(r"arn:aws[a-z\-]*:s3:([a-z0-9\-]+):(\d{12}):job/(.+)", re.DOTALL)


def _fingerprint(request: dict) -> str:
    return hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()


class S3ControlService(Service):
    model_name = "s3control"
    signing_names = ("s3",)
    path_prefixes = ("/v20180820/",)
    errors = ERRORS

    def transitions(self) -> dict:
        return {JOB: jobs.advance}

    # -- lookups -----------------------------------------------------------------------------------

    def _job_by_arn(self, ctx: Context, arn: str) -> Resource:
        match = _JOB_ARN.fullmatch(arn)
        if match is None and _TAGGABLE_ARN.fullmatch(arn) is None:
            raise invalid_request(f"Invalid resource ARN: {arn} names no S3 resource that takes tags.")
        if match is None:
            raise not_implemented(f"jobyard keeps tags for S3 Batch Operations jobs only; {arn} is not a job ARN "
                                  "(arn:aws:s3:<region>:<account>:job/<job-id>).")
        region, account, job_id = match.groups()
        if account != ctx.account:
            raise access_denied()
        if region != ctx.region:
            raise job_not_found(job_id)  # jobs live in their own region, as on AWS
        return ctx.scope.require(JOB, job_id)

    def _save(self, ctx: Context, job: Resource) -> None:
        """Save a job whose status or priority changed, after giving its account's capacity a new look."""
        jobs.schedule(ctx.scope, ctx.now_us, job)
        ctx.scope.save(job)

    # -- jobs --------------------------------------------------------------------------------------

    @operation("CreateJob")
    def create_job(self, ctx: Context, params: dict) -> dict:
        request = freeze({k: v for k, v in params.items() if k not in ("AccountId", "ClientRequestToken")})
        fingerprint = _fingerprint(request)
        lookup_id = jobs.token_id(params["ClientRequestToken"])
        lookup = ctx.scope.get(TOKEN, lookup_id)
        if lookup is not None:
            if lookup.doc["Fingerprint"] != fingerprint:
                raise idempotency_error()
            return {"JobId": lookup.doc["JobId"]}
        try:
            check_create_job(params)
        except Invalid as invalid:
            raise bad_request(str(invalid)) from None
        if jobs.unfinished_jobs(ctx.scope) >= states.max_unfinished_jobs():
            raise too_many_jobs()
        job_id = str(uuid.uuid4())
        doc = {k: request[k] for k in ("Operation", "Report", "RoleArn", "Priority", "Description", "Manifest",
                                       "ManifestGenerator") if k in request}
        doc["Tags"] = request.get("Tags") or []
        # With ConfirmationRequired omitted, AWS holds the job for confirmation (aws-sdk-go-v2#1814).
        doc["ConfirmationRequired"] = params.get("ConfirmationRequired", True)
        doc["TokenId"] = lookup_id
        jobs.add_job(ctx.scope, jobs.new_job(ctx.scope, job_id, doc))
        ctx.scope.add(TOKEN, lookup_id, doc={"JobId": job_id, "Fingerprint": fingerprint})
        return {"JobId": job_id}

    @operation("DescribeJob")
    def describe_job(self, ctx: Context, params: dict) -> dict:
        return {"Job": jobs.descriptor(ctx.scope.require(JOB, params["JobId"]), ctx.now_us)}

    @operation("ListJobs")
    def list_jobs(self, ctx: Context, params: dict) -> dict:
        statuses = set(params.get("JobStatuses") or ()) or None
        if statuses is not None and statuses >= set(states.ALL):
            statuses = None  # every status: the unfiltered index order serves it best
        # Newest first, as the AWS CLI's list-jobs example shows; neither the API reference nor the user guide
        # ("Managing S3 Batch Operations jobs") states an order. Jobs that ended more than the retention window
        # ago are deleted, so every job still stored is listed.
        page = ctx.scope.page(JOB, limit=params.get("MaxResults") or DEFAULT_PAGE, token=params.get("NextToken"),
                              states=statuses, descending=True)
        out = {"Jobs": [jobs.list_entry(job, ctx.now_us) for job in page.items]}
        if page.next_token:
            out["NextToken"] = page.next_token
        return out

    @operation("UpdateJobPriority")
    def update_job_priority(self, ctx: Context, params: dict) -> dict:
        job = ctx.scope.require(JOB, params["JobId"])
        if job.state in states.TERMINAL:
            # The user guide ("Assigning job priority") documents priority changes for running jobs and says
            # nothing of finished ones; a finished job has nothing to schedule, so the change is refused with
            # the operation's modelled client error.
            raise bad_request(f"Job {job.id} is {job.state}; the priority of a finished job cannot change.")
        jobs.set_priority(ctx.scope, job, params["Priority"])
        self._save(ctx, job)
        return {"JobId": job.id, "Priority": job.doc["Priority"]}

    @operation("UpdateJobStatus")
    def update_job_status(self, ctx: Context, params: dict) -> dict:
        job = ctx.scope.require(JOB, params["JobId"])
        if params["RequestedJobStatus"] == states.READY:
            # Ready confirms a job that waits for confirmation; no other job can be confirmed.
            if job.state != states.SUSPENDED:
                raise job_status_error(job, "only a Suspended job (awaiting confirmation) can be set to Ready.")
            jobs.enter(ctx.scope, job, states.READY, ctx.now_us)
        else:
            if job.state not in states.CANCEL_AT_ONCE | states.CANCEL_GRADUALLY:
                raise job_status_error(job, "a job that is finishing or finished cannot be cancelled.")
            jobs.cancel(ctx.scope, job, ctx.now_us)
        reason = params.get("StatusUpdateReason")
        if reason:
            job.doc["StatusUpdateReason"] = reason
        self._save(ctx, job)
        out = {"JobId": job.id, "Status": job.state}
        if reason:
            out["StatusUpdateReason"] = reason
        return out

    # -- job tags ----------------------------------------------------------------------------------

    def _set_tags(self, ctx: Context, job: Resource, tags: list[dict]) -> None:
        if len(tags) > MAX_JOB_TAGS:
            raise too_many_tags()
        try:
            check_tags(tags, MAX_JOB_TAGS, "job tags")
        except Invalid as invalid:
            raise invalid_tag(str(invalid)) from None
        job.doc["Tags"] = [{"Key": t["Key"], "Value": t["Value"]} for t in tags]
        ctx.scope.save(job)

    @operation("GetJobTagging")
    def get_job_tagging(self, ctx: Context, params: dict) -> dict:
        return {"Tags": ctx.scope.require(JOB, params["JobId"]).doc["Tags"]}

    @operation("PutJobTagging")
    def put_job_tagging(self, ctx: Context, params: dict) -> dict:
        # The new set replaces the old one; an empty set removes every tag.
        self._set_tags(ctx, ctx.scope.require(JOB, params["JobId"]), params["Tags"])
        return {}

    @operation("DeleteJobTagging")
    def delete_job_tagging(self, ctx: Context, params: dict) -> dict:
        self._set_tags(ctx, ctx.scope.require(JOB, params["JobId"]), [])
        return {}

    @operation("TagResource")
    def tag_resource(self, ctx: Context, params: dict) -> dict:
        job = self._job_by_arn(ctx, params["ResourceArn"])
        keys = [t["Key"] for t in params["Tags"]]
        if len(set(keys)) != len(keys):
            raise invalid_tag("The tags must not have duplicate keys.")
        # Adds tags and overwrites the values of keys the job already has.
        merged = {t["Key"]: t["Value"] for t in job.doc["Tags"]}
        merged.update({t["Key"]: t["Value"] for t in params["Tags"]})
        self._set_tags(ctx, job, [{"Key": k, "Value": v} for k, v in merged.items()])
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: Context, params: dict) -> dict:
        job = self._job_by_arn(ctx, params["ResourceArn"])
        removed = set(params["TagKeys"])
        self._set_tags(ctx, job, [t for t in job.doc["Tags"] if t["Key"] not in removed])
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: Context, params: dict) -> dict:
        return {"Tags": self._job_by_arn(ctx, params["ResourceArn"]).doc["Tags"]}


# The table's answers tell the job API from the rest of S3 Control by the operations this class serves.
errors.IMPLEMENTED = frozenset(S3ControlService.operations)
