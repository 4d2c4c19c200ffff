"""S3 Control (2018-08-20), the S3 Batch Operations job API: CreateJob, DescribeJob, ListJobs,
UpdateJobPriority, UpdateJobStatus, Get/Put/DeleteJobTagging and Tag/Untag/ListTagsForResource on job ARNs.

The other S3 Control operations (access points, Storage Lens, Access Grants, ...) answer S3's
``NotImplemented`` (501). Errors are S3 XML errors with the modelled codes; the model gives no HTTP statuses,
so these are the ones a REST API uses for each meaning (UNCONFIRMED for S3 Control in particular):

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
InternalServiceException    500     a defect of jobyard's (logged; never a traceback)
==========================  ======  =========================================================================
"""

from __future__ import annotations

import hashlib
import re
import uuid

import orjson

from ...errors import SerializationError, ServiceError, ValidationFailed
from ...lifecycle import Lifecycle
from ...store import Resource
from ..base import Context, Service, operation
from . import jobs
from . import states as S
from .jobs import JOB, TOKEN
from .stored import freeze
from .validation import MAX_JOB_TAGS, Invalid, check_create_job, check_tags

DEFAULT_PAGE = 1000  # MaxResults absent or 0 (UNCONFIRMED; the model allows up to 1000)

# Which code a request the codec could not accept gets, by operation: the one each operation models.
_INPUT_ERROR_CODES = {
    "CreateJob": "BadRequestException", "DescribeJob": "BadRequestException",
    "UpdateJobPriority": "BadRequestException", "UpdateJobStatus": "BadRequestException",
    "ListJobs": "InvalidRequestException",
}
# Members of the tagging operations whose violations are tag errors rather than malformed requests.
_TAG_MEMBERS = ("tags", "tagKeys")

_JOB_ARN = re.compile(r"arn:aws[a-z\-]*:s3:([a-z0-9\-]+):(\d{12}):job/(.+)", re.DOTALL)


def not_found(job_id: str) -> ServiceError:
    return ServiceError("NotFoundException", f"The specified job does not exist: {job_id}", 404)


def bad_request(message: str) -> ServiceError:
    return ServiceError("BadRequestException", message, 400)


def job_status_error(job: Resource, message: str) -> ServiceError:
    return ServiceError("JobStatusException", f"Job {job.id} is {job.state}: {message}", 409)


def invalid_token() -> ServiceError:
    return ServiceError("InvalidNextTokenException", "The continuation token provided is invalid.", 400)


def invalid_tag(message: str) -> ServiceError:
    return ServiceError("InvalidTag", message, 400)


def too_many_tags() -> ServiceError:
    return ServiceError("TooManyTagsException", f"A job can have at most {MAX_JOB_TAGS} tags.", 400)


def not_implemented(message: str) -> ServiceError:
    return ServiceError("NotImplemented", message, 501, sender_fault=False)


def _fingerprint(request: dict) -> str:
    return hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()


class S3ControlService(Service):
    model_name = "s3control"
    signing_names = ("s3",)
    path_prefixes = ("/v20180820/",)

    def register_lifecycle(self, lifecycle: Lifecycle) -> None:
        lifecycle.register(JOB, lambda tx, job, at_us: jobs.advance(tx, job, at_us, self.objects))

    # -- how input the codec refused is answered ---------------------------------------------------

    def unknown_operation(self, operation: str | None) -> ServiceError:
        if operation and not operation.startswith("/"):
            return not_implemented(f"jobyard serves the S3 Batch Operations job API of S3 Control; {operation} "
                                   "is not implemented.")
        return not_implemented(f"No S3 Control operation matches {operation or 'this request'}; jobyard serves "
                               "the S3 Batch Operations job API.")

    def _implemented(self, failed: Exception) -> str | None:
        """The operation a refused request was for; raises NotImplemented for one outside the job API."""
        name = getattr(failed, "operation", None)
        if name is not None and name not in self.operations:
            raise self.unknown_operation(name)
        return name

    def validation_error(self, failed: ValidationFailed) -> ServiceError:
        try:
            name = self._implemented(failed)
        except ServiceError as error:
            return error
        if name not in _INPUT_ERROR_CODES and all(v.path.split(".")[0] in _TAG_MEMBERS for v in failed.violations):
            if any(v.kind == "max_length" and v.path in _TAG_MEMBERS for v in failed.violations):
                return too_many_tags()
            return invalid_tag(str(failed))
        return ServiceError(_INPUT_ERROR_CODES.get(name, "InvalidRequest"), str(failed), 400)

    def serialization_error(self, failed: SerializationError) -> ServiceError:
        try:
            self._implemented(failed)
        except ServiceError as error:
            return error
        return ServiceError("MalformedXML", "The XML you provided was not well-formed or did not validate against "
                            f"our published schema: {failed}".rstrip(": "), 400)

    def internal_error(self) -> ServiceError:
        return ServiceError("InternalServiceException", "We encountered an internal error. Please try again.", 500,
                            sender_fault=False)

    # -- lookups -----------------------------------------------------------------------------------

    def _job(self, ctx: Context, job_id: str) -> Resource:
        job = ctx.tx.get(JOB, ctx.account, ctx.region, job_id)
        if job is None:
            raise not_found(job_id)
        return job

    def _job_by_arn(self, ctx: Context, arn: str) -> Resource:
        match = _JOB_ARN.fullmatch(arn)
        if match is None:
            raise not_implemented(f"jobyard keeps tags for S3 Batch Operations jobs only; {arn} is not a job ARN "
                                  "(arn:aws:s3:<region>:<account>:job/<job-id>).")
        region, account, job_id = match.groups()
        if account != ctx.account:
            raise ServiceError("AccessDenied", "Access Denied", 403)
        if region != ctx.region:
            raise not_found(job_id)  # jobs live in their own region, as on AWS
        return self._job(ctx, job_id)

    def _save(self, ctx: Context, job: Resource) -> None:
        """Save a job whose status or priority changed, after giving its account's capacity a new look."""
        jobs.schedule(ctx.tx, ctx.account, ctx.region, ctx.now_us, job)
        ctx.tx.save(job)

    # -- jobs --------------------------------------------------------------------------------------

    @operation("CreateJob")
    def create_job(self, ctx: Context, params: dict) -> dict:
        request = freeze({k: v for k, v in params.items() if k not in ("AccountId", "ClientRequestToken")})
        fingerprint = _fingerprint(request)
        lookup_id = jobs.token_id(params["ClientRequestToken"])
        lookup = ctx.tx.get(TOKEN, ctx.account, ctx.region, lookup_id)
        if lookup is not None:
            if lookup.doc["Fingerprint"] != fingerprint:
                raise ServiceError("IdempotencyException", "The ClientRequestToken was already used for a job "
                                   "created with different parameters.", 409)
            return {"JobId": lookup.doc["JobId"]}
        try:
            check_create_job(params)
        except Invalid as invalid:
            raise bad_request(str(invalid)) from None
        if ctx.tx.count(JOB, ctx.account, ctx.region, states=S.UNFINISHED) >= S.max_unfinished_jobs():
            raise ServiceError("TooManyRequestsException", "Too many unfinished jobs in this account and Region; "
                               "retry once some of them have finished.", 429)
        job_id = str(uuid.uuid4())
        doc = {k: request[k] for k in ("Operation", "Report", "RoleArn", "Priority", "Description", "Manifest",
                                       "ManifestGenerator") if k in request}
        doc["Tags"] = request.get("Tags") or []
        # With ConfirmationRequired omitted, AWS holds the job for confirmation (aws-sdk-go-v2#1814).
        doc["ConfirmationRequired"] = params.get("ConfirmationRequired", True)
        doc["TokenId"] = lookup_id
        ctx.tx.insert(jobs.new_job(ctx.account, ctx.region, job_id, ctx.now_us, doc))
        ctx.tx.insert(Resource(TOKEN, ctx.account, ctx.region, lookup_id, created_us=ctx.now_us,
                               doc={"JobId": job_id, "Fingerprint": fingerprint}))
        return {"JobId": job_id}

    @operation("DescribeJob")
    def describe_job(self, ctx: Context, params: dict) -> dict:
        return {"Job": jobs.descriptor(self._job(ctx, params["JobId"]), ctx.now_us)}

    @operation("ListJobs")
    def list_jobs(self, ctx: Context, params: dict) -> dict:
        statuses = set(params.get("JobStatuses") or ()) or None
        if statuses is not None and statuses >= set(S.ALL):
            statuses = None  # every status: the unfiltered index order serves it best
        # Newest first, as the AWS CLI's example listing shows (UNCONFIRMED as a rule). Jobs that ended more
        # than the retention window ago are deleted, so every job still stored is listed.
        page = self.page(ctx, JOB, limit=params.get("MaxResults") or DEFAULT_PAGE, token=params.get("NextToken"),
                         invalid_token=invalid_token, states=statuses, descending=True)
        out = {"Jobs": [jobs.list_entry(job, ctx.now_us) for job in page.items]}
        if page.next_token:
            out["NextToken"] = page.next_token
        return out

    @operation("UpdateJobPriority")
    def update_job_priority(self, ctx: Context, params: dict) -> dict:
        job = self._job(ctx, params["JobId"])
        if job.state in S.TERMINAL:
            # UNCONFIRMED: AWS documents priority changes for running jobs only; a finished job has nothing to
            # schedule, so the change is refused with the operation's client error.
            raise bad_request(f"Job {job.id} is {job.state}; the priority of a finished job cannot change.")
        jobs.set_priority(ctx.tx, job, params["Priority"])
        self._save(ctx, job)
        return {"JobId": job.id, "Priority": job.doc["Priority"]}

    @operation("UpdateJobStatus")
    def update_job_status(self, ctx: Context, params: dict) -> dict:
        job = self._job(ctx, params["JobId"])
        if params["RequestedJobStatus"] == S.READY:
            # Ready confirms a job that waits for confirmation; no other job can be confirmed.
            if job.state != S.SUSPENDED:
                raise job_status_error(job, "only a Suspended job (awaiting confirmation) can be set to Ready.")
            jobs.enter(ctx.tx, job, S.READY, ctx.now_us)
        else:
            if job.state not in S.CANCEL_AT_ONCE | S.CANCEL_GRADUALLY:
                raise job_status_error(job, "a job that is finishing or finished cannot be cancelled.")
            jobs.cancel(ctx.tx, job, ctx.now_us)
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
        ctx.tx.save(job)

    @operation("GetJobTagging")
    def get_job_tagging(self, ctx: Context, params: dict) -> dict:
        return {"Tags": self._job(ctx, params["JobId"]).doc["Tags"]}

    @operation("PutJobTagging")
    def put_job_tagging(self, ctx: Context, params: dict) -> dict:
        # The new set replaces the old one; an empty set removes every tag.
        self._set_tags(ctx, self._job(ctx, params["JobId"]), params["Tags"])
        return {}

    @operation("DeleteJobTagging")
    def delete_job_tagging(self, ctx: Context, params: dict) -> dict:
        self._set_tags(ctx, self._job(ctx, params["JobId"]), [])
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
