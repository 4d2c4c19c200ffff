"""Data Exchange jobs: per-type validation, the response details, and the work each type does when run.

Lifecycle (AWS: jobs.md, API_StartJob, API_CancelJob): CreateJob puts a job in ``WAITING``; StartJob moves
it to ``IN_PROGRESS``; after a short simulated run it is ``COMPLETED`` (its assets created or exported) or
``ERROR`` with ``Errors`` entries. Every job is deleted 90 days after it was created, whatever its state.

``TIMED_OUT`` is modelled but AWS documents no trigger; jobyard never enters it. A signed-URL import (or an
API Gateway import, which needs its OpenAPI specification) started before its file was uploaded ends in
``ERROR`` with an entry saying that nothing was uploaded.

The S3 job types copy real bytes through the object layer (``s3objects``) when they run: imports read
each source object into an asset, exports write assets' bytes out as objects. A job that fails writes
nothing: its errors are mostly found before any asset is created or any object written, and a job runs in
its own savepoint, so whatever it wrote before failing is undone (rows, payload files and built-in objects).
"""

from __future__ import annotations

import base64
import hashlib
import re

from ...clock import US, to_datetime
from ...context import Context, Scope
from ...lifecycle import draw_seconds
from ...store import Resource
from ..base import partition
from . import resources
from .errors import ASSET, DATA_SET, JOB, REVISION, access_denied, conflict, invalid
from .s3objects import Failure, S3Copy, TransferFailed, export_objects, import_objects

WAITING, IN_PROGRESS, COMPLETED, ERROR, CANCELLED = "WAITING", "IN_PROGRESS", "COMPLETED", "ERROR", "CANCELLED"
FINISHED = (COMPLETED, ERROR, CANCELLED, "TIMED_OUT")

DAY_US = 86400 * US
RETENTION_US = 90 * DAY_US        # "Jobs are deleted 90 days after they are created."
SIGNED_URL_VALID_US = 3600 * US   # import and export signed URLs expire one hour after they are issued

IMPORT_FROM_S3 = "IMPORT_ASSETS_FROM_S3"
IMPORT_FROM_SIGNED_URL = "IMPORT_ASSET_FROM_SIGNED_URL"
EXPORT_TO_S3 = "EXPORT_ASSETS_TO_S3"
EXPORT_TO_SIGNED_URL = "EXPORT_ASSET_TO_SIGNED_URL"
EXPORT_REVISIONS = "EXPORT_REVISIONS_TO_S3"
IMPORT_FROM_REDSHIFT = "IMPORT_ASSETS_FROM_REDSHIFT_DATA_SHARES"
IMPORT_FROM_API_GATEWAY = "IMPORT_ASSET_FROM_API_GATEWAY_API"
CREATE_S3_DATA_ACCESS = "CREATE_S3_DATA_ACCESS_FROM_S3_BUCKET"
IMPORT_FROM_LAKE_FORMATION = "IMPORT_ASSETS_FROM_LAKE_FORMATION_TAG_POLICY"

# The Details member that each job type takes and answers with.
DETAILS_MEMBER = {
    IMPORT_FROM_S3: "ImportAssetsFromS3", IMPORT_FROM_SIGNED_URL: "ImportAssetFromSignedUrl",
    EXPORT_TO_S3: "ExportAssetsToS3", EXPORT_TO_SIGNED_URL: "ExportAssetToSignedUrl",
    EXPORT_REVISIONS: "ExportRevisionsToS3", IMPORT_FROM_REDSHIFT: "ImportAssetsFromRedshiftDataShares",
    IMPORT_FROM_API_GATEWAY: "ImportAssetFromApiGatewayApi", CREATE_S3_DATA_ACCESS: "CreateS3DataAccessFromS3Bucket",
    IMPORT_FROM_LAKE_FORMATION: "ImportAssetsFromLakeFormationTagPolicy",
}
# The asset type that an import job creates; its data set must be of that type.
IMPORT_ASSET_TYPE = {
    IMPORT_FROM_S3: "S3_SNAPSHOT", IMPORT_FROM_SIGNED_URL: "S3_SNAPSHOT", IMPORT_FROM_REDSHIFT: "REDSHIFT_DATA_SHARE",
    IMPORT_FROM_API_GATEWAY: "API_GATEWAY_API", CREATE_S3_DATA_ACCESS: "S3_DATA_ACCESS",
    IMPORT_FROM_LAKE_FORMATION: "LAKE_FORMATION_DATA_PERMISSION",
}

# Simulated run time (seconds) from StartJob to the end of the job.
RUN_SECONDS = {IMPORT_FROM_SIGNED_URL: (2, 10), EXPORT_TO_SIGNED_URL: (1, 5), IMPORT_FROM_API_GATEWAY: (5, 20)}
DEFAULT_RUN_SECONDS = (10, 60)

# Quotas (AWS General Reference, Data Exchange endpoints and quotas; user guide limits.md).
S3_ASSETS_PER_JOB = 100
ASSETS_PER_REVISION = 10_000
ASSETS_PER_REVISION_EXPORT = 10_000
CONCURRENT_JOBS_PER_TYPE = 10
SIGNED_URL_MAX_BYTES = 5 * 1024**3

# The dynamic references a key pattern may use (user guide, "Key patterns when exporting asset revisions").
KEY_REFERENCES = ("${Asset.Id}", "${Asset.Name}", "${DataSet.Id}", "${DataSet.Name}", "${Revision.CreatedAt}",
                  "${Revision.CreatedAt.Day}", "${Revision.CreatedAt.Month}", "${Revision.CreatedAt.Year}",
                  "${Revision.Id}")
DEFAULT_KEY_PATTERN = "${Asset.Name}"
AUTO_EXPORT_KEY_PATTERN = "${Revision.CreatedAt}/${Asset.Name}"

_REDSHIFT_ARN = re.compile(r"arn:aws[a-z-]*:redshift:[a-z0-9-]+:\d{12}:datashare:[0-9a-fA-F-]{36}/[^/]+")
_KMS_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/.+")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
API_ENDPOINT = "https://api-fulfill.dataexchange.{region}.amazonaws.com/v1"


def md5_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def new_job(scope: Scope, job_type: str, details: dict, asset_configuration: dict | None, data_set_id: str,
            revision_id: str) -> Resource:
    """A job of ``scope``'s account, created now (not stored yet)."""
    now_us = scope.now_us
    doc = {"Type": job_type, "Details": details, "Errors": [], "UpdatedAt": now_us,
           "ExpiresAt": now_us + RETENTION_US}
    if asset_configuration is not None:
        doc["AssetConfiguration"] = asset_configuration
    # Due at its deletion until it is started; the transition handler tells the two apart by the time.
    return scope.new(JOB, resources.new_id(), parent=data_set_id, ref=revision_id, state=WAITING,
                     next_due_us=now_us + RETENTION_US, doc=doc)


def start(job: Resource, now_us: int) -> None:
    low, high = RUN_SECONDS.get(job.doc["Type"], DEFAULT_RUN_SECONDS)
    job.state = IN_PROGRESS
    job.doc["UpdatedAt"] = now_us
    job.next_due_us = now_us + int(draw_seconds(job.id, "run", low, high) * US)


# -- validation at CreateJob -------------------------------------------------------------------------

def target_ids(job_type: str, details: dict) -> tuple[str, str]:
    """The (data set id, revision id) a job works on."""
    if job_type == EXPORT_REVISIONS:
        return details["DataSetId"], details["RevisionDestinations"][0]["RevisionId"]
    return details["DataSetId"], details["RevisionId"]


def validate(scope: Scope, job_type: str, details: dict) -> None:
    """Everything CreateJob checks beyond the model, raising AWS's error for the first problem."""
    if job_type == EXPORT_REVISIONS:
        destinations = details["RevisionDestinations"]
        if len(destinations) != 1:
            raise invalid("An EXPORT_REVISIONS_TO_S3 job exports exactly one revision; "
                          f"RevisionDestinations has {len(destinations)} entries.")
    data_set_id, revision_id = target_ids(job_type, details)
    revision = resources.get_revision(scope, data_set_id, revision_id)
    data_set = scope.get(DATA_SET, data_set_id)
    if job_type in IMPORT_ASSET_TYPE:
        _check_import_target(data_set, revision, job_type)
    else:
        _check_export_source(data_set, revision)
    check = _VALIDATORS.get(job_type)
    if check:
        check(scope, details, data_set, revision)


def _check_import_target(data_set: Resource, revision: Resource, job_type: str) -> None:
    if data_set.state == resources.ENTITLED:
        raise access_denied(f"Data set {data_set.id} is entitled to this account; only its owner can import "
                            "assets into it.")
    wanted = IMPORT_ASSET_TYPE[job_type]
    if data_set.doc["AssetType"] != wanted:
        raise invalid(f"A {job_type} job creates {wanted} assets, but data set {data_set.id} holds "
                      f"{data_set.doc['AssetType']} assets.")
    if revision.state == resources.FINALIZED:
        raise conflict(f"Revision {revision.id} is finalized and cannot take new assets.", "REVISION",
                       revision.id)


def _check_export_source(data_set: Resource, revision: Resource) -> None:
    if data_set.doc["AssetType"] != "S3_SNAPSHOT":
        raise invalid(f"Only S3_SNAPSHOT assets can be exported; data set {data_set.id} holds "
                      f"{data_set.doc['AssetType']} assets.")
    if revision.doc.get("Revoked"):
        raise conflict(f"Revision {revision.id} has been revoked; its assets can no longer be exported.",
                       "REVISION", revision.id)


def check_encryption(encryption: dict | None) -> None:
    if not encryption:
        return
    kms = encryption.get("KmsKeyArn")
    if encryption["Type"] == "aws:kms":
        if not kms:
            raise invalid("Encryption.KmsKeyArn is required when Encryption.Type is aws:kms.")
        if not _KMS_ARN.fullmatch(kms):
            raise invalid(f"Encryption.KmsKeyArn {kms} is not a valid AWS KMS key ARN.")
    elif kms:
        raise invalid("Encryption.KmsKeyArn can only be used when Encryption.Type is aws:kms.")


def check_bucket(bucket: str, where: str) -> None:
    if not _BUCKET.fullmatch(bucket or "") or ".." in bucket:
        raise invalid(f"{where} {bucket!r} is not a valid Amazon S3 bucket name.")


def check_key_pattern(pattern: str | None, where: str) -> None:
    if pattern is None:
        return
    if "${Asset.Name}" not in pattern and "${Asset.Id}" not in pattern:
        raise invalid(f"{where} must include ${{Asset.Name}} or ${{Asset.Id}}.")
    for reference in re.findall(r"\$\{[^}]*\}", pattern):
        if reference not in KEY_REFERENCES:
            raise invalid(f"{where} uses the unknown dynamic reference {reference}.")


def _validate_import_from_s3(scope, details, data_set, revision):
    sources = details["AssetSources"]
    if not sources:
        raise invalid("AssetSources must name at least one object to import.")
    if len(sources) > S3_ASSETS_PER_JOB:
        raise invalid(f"A job can import at most {S3_ASSETS_PER_JOB} assets from Amazon S3; "
                      f"AssetSources has {len(sources)}.")
    for source in sources:
        check_bucket(source["Bucket"], "AssetSources.Bucket")
        if not source["Key"]:
            raise invalid("AssetSources.Key must not be empty.")


def _validate_export_assets(scope, details, data_set, revision):
    destinations = details["AssetDestinations"]
    if not destinations:
        raise invalid("AssetDestinations must name at least one asset to export.")
    if len(destinations) > S3_ASSETS_PER_JOB:
        raise invalid(f"A job can export at most {S3_ASSETS_PER_JOB} assets to Amazon S3; "
                      f"AssetDestinations has {len(destinations)}.")
    for destination in destinations:
        check_bucket(destination["Bucket"], "AssetDestinations.Bucket")
        resources.get_asset(scope, data_set.id, revision.id, destination["AssetId"])
    check_encryption(details.get("Encryption"))


def _validate_export_revision(scope, details, data_set, revision):
    destination = details["RevisionDestinations"][0]
    check_bucket(destination["Bucket"], "RevisionDestinations.Bucket")
    check_key_pattern(destination.get("KeyPattern"), "RevisionDestinations.KeyPattern")
    check_encryption(details.get("Encryption"))


def _validate_export_signed_url(scope, details, data_set, revision):
    resources.get_asset(scope, data_set.id, revision.id, details["AssetId"])


def _validate_redshift(scope, details, data_set, revision):
    sources = details["AssetSources"]
    if not sources:
        raise invalid("AssetSources must name at least one datashare to import.")
    for source in sources:
        if not _REDSHIFT_ARN.fullmatch(source["DataShareArn"]):
            raise invalid(f"DataShareArn {source['DataShareArn']} is not a valid Amazon Redshift datashare ARN.")


def _validate_api_gateway(scope, details, data_set, revision):
    for member in ("ApiId", "ApiName", "Stage"):
        if not details[member].strip():
            raise invalid(f"{member} must not be empty.")


def _validate_s3_data_access(scope, details, data_set, revision):
    source = details["AssetSource"]
    check_bucket(source["Bucket"], "AssetSource.Bucket")
    for kms in source.get("KmsKeysToGrant") or ():
        if not _KMS_ARN.fullmatch(kms["KmsKeyArn"]):
            raise invalid(f"KmsKeyArn {kms['KmsKeyArn']} is not a valid AWS KMS key ARN.")


def _validate_lake_formation(scope, details, data_set, revision):
    if not details.get("Database") and not details.get("Table"):
        raise invalid("An LF-tag policy import needs a Database or a Table policy (or both).")
    for member in ("Database", "Table"):
        policy = details.get(member)
        if policy is not None and (not policy["Expression"] or not policy["Permissions"]):
            raise invalid(f"{member}.Expression and {member}.Permissions must not be empty.")


_VALIDATORS = {
    IMPORT_FROM_S3: _validate_import_from_s3, EXPORT_TO_S3: _validate_export_assets,
    EXPORT_REVISIONS: _validate_export_revision, EXPORT_TO_SIGNED_URL: _validate_export_signed_url,
    IMPORT_FROM_REDSHIFT: _validate_redshift, IMPORT_FROM_API_GATEWAY: _validate_api_gateway,
    CREATE_S3_DATA_ACCESS: _validate_s3_data_access, IMPORT_FROM_LAKE_FORMATION: _validate_lake_formation,
}


# -- what a job looks like through the API -------------------------------------------------------------

def entry(job: Resource, sign) -> dict:
    """The job as GetJob / CreateJob / ListJobs answer it. ``sign(name, args, expires_us)`` makes a URL."""
    doc = job.doc
    out = {"Arn": resources.job_arn(job), "CreatedAt": to_datetime(job.created_us),
           "Details": response_details(job, sign), "Errors": doc["Errors"], "Id": job.id, "State": job.state,
           "Type": doc["Type"], "UpdatedAt": to_datetime(doc["UpdatedAt"])}
    if doc.get("AssetConfiguration") is not None:
        out["AssetConfiguration"] = doc["AssetConfiguration"]
    return out


def response_details(job: Resource, sign) -> dict:
    job_type, doc = job.doc["Type"], job.doc
    details = dict(doc["Details"])
    if job_type in (IMPORT_FROM_SIGNED_URL, IMPORT_FROM_API_GATEWAY):
        expires = job.created_us + SIGNED_URL_VALID_US
        url = sign("upload", {"job": job.id}, expires)
        if job_type == IMPORT_FROM_SIGNED_URL:
            details.update(SignedUrl=url, SignedUrlExpiresAt=to_datetime(expires))
        else:
            details.update(ApiSpecificationUploadUrl=url, ApiSpecificationUploadUrlExpiresAt=to_datetime(expires))
    elif job_type == EXPORT_TO_SIGNED_URL and doc.get("DownloadExpiresAt"):
        expires = doc["DownloadExpiresAt"]
        details.update(SignedUrl=sign("asset", {"asset": details["AssetId"]}, expires),
                       SignedUrlExpiresAt=to_datetime(expires))
    return {DETAILS_MEMBER[job_type]: details}


# -- running a job (transitions) ---------------------------------------------------------------------------

class JobFailed(Exception):
    def __init__(self, *errors: dict):
        super().__init__(errors[0]["Message"])
        self.errors = list(errors)


def job_error(code: str, message: str, resource_type: str | None = None, resource_id: str | None = None,
              **extra) -> dict:
    error = {"Code": code, "Message": message}
    if resource_type:
        error.update(ResourceType=resource_type, ResourceId=resource_id)
    error.update(extra)
    return error


def advance(ctx: Context, job: Resource):
    """Transition handler: finish a running job, or delete one that has reached its 90 days."""
    if ctx.now_us >= job.doc["ExpiresAt"]:
        ctx.scope.delete(job)
        job.next_due_us = None
        upload = job.doc.get("Upload")
        if upload and job.state != COMPLETED:
            ctx.files.delete(upload["Key"])  # uploaded but never made into an asset
        return ()
    if job.state == IN_PROGRESS:
        run(ctx, job)
    job.next_due_us = job.doc["ExpiresAt"]
    return ()


def run(ctx: Context, job: Resource) -> None:
    job_type = job.doc["Type"]
    try:
        # The job's own savepoint: a job that fails part way (an import whose second object vanished)
        # leaves none of its rows, payload files or objects behind, while its ERROR state is still saved.
        with ctx.tx.savepoint():
            _RUNNERS[job_type](ctx, job, job.doc["Details"])
        job.state = COMPLETED
    except JobFailed as failed:
        job.state = ERROR
        job.doc["Errors"] = failed.errors
    job.doc["UpdatedAt"] = ctx.now_us


def _target(scope: Scope, job: Resource) -> tuple[Resource, Resource]:
    """The job's data set and revision as they are now (either may have gone since CreateJob)."""
    data_set = scope.get(DATA_SET, job.parent)
    if data_set is None:
        raise JobFailed(job_error("RESOURCE_NOT_FOUND_EXCEPTION", f"Data set {job.parent} no longer exists.",
                                  "DATA_SET", job.parent))
    revision = scope.get(REVISION, job.ref)
    if revision is None or revision.parent != data_set.id:
        raise JobFailed(job_error("RESOURCE_NOT_FOUND_EXCEPTION", f"Revision {job.ref} no longer exists.",
                                  "REVISION", job.ref))
    return data_set, revision


def _room_for(scope: Scope, revision: Resource, count: int) -> None:
    present = scope.count(ASSET, parent=revision.id)
    if present + count > ASSETS_PER_REVISION:
        raise JobFailed(job_error(
            "SERVICE_QUOTA_EXCEEDED_EXCEPTION",
            f"Revision {revision.id} would hold {present + count} assets; a revision holds at most "
            f"{ASSETS_PER_REVISION}.", "REVISION", revision.id, LimitName="Assets per revision",
            LimitValue=float(ASSETS_PER_REVISION)))


def _create_assets(scope: Scope, job: Resource, data_set: Resource, revision: Resource,
                   assets: list[dict]) -> None:
    """Create the assets an import made (each a dict of Name, AssetDetails and optional FileKey)."""
    _room_for(scope, revision, len(assets))
    tags = resources.tag_map((job.doc.get("AssetConfiguration") or {}).get("Tags"))
    created = []
    for asset in assets:
        doc = {"AssetType": data_set.doc["AssetType"], "UpdatedAt": scope.now_us, "Tags": dict(tags), **asset}
        created.append(scope.add(ASSET, resources.new_id(), parent=revision.id, ref=data_set.id, doc=doc).id)
    job.doc["CreatedAssetIds"] = created


def _uploaded(job: Resource, revision: Resource, what: str, details: dict | None = None) -> dict:
    upload = job.doc.get("Upload")
    if upload is None:
        extra = {"Details": details} if details else {}
        raise JobFailed(job_error("VALIDATION_EXCEPTION",
                                  f"No {what} was uploaded to the job's signed URL before the job was started.",
                                  "REVISION", revision.id, **extra))
    return upload


def _run_import_from_signed_url(ctx, job, details):
    data_set, revision = _target(ctx.scope, job)
    upload = _uploaded(job, revision, "file",
                       {"ImportAssetFromSignedUrlJobErrorDetails": {"AssetName": details["AssetName"]}})
    _create_assets(ctx.scope, job, data_set, revision, [{
        "Name": details["AssetName"], "FileKey": upload["Key"], "Size": upload["Size"],
        "AssetDetails": {"S3SnapshotAsset": {"Size": float(upload["Size"])}}}])


def import_file_key(job: Resource, index: int) -> str:
    """Where an S3 import keeps the bytes of its ``index``-th source (the asset then owns the file)."""
    return f"dataexchange/{job.account}/{job.region}/s3-imports/{job.id}/{index}"


def _run_import_from_s3(ctx, job, details):
    data_set, revision = _target(ctx.scope, job)
    sources = details["AssetSources"]
    _room_for(ctx.scope, revision, len(sources))
    copies = [S3Copy(s["Bucket"], s["Key"]) for s in sources]
    try:
        import_objects(ctx.objects, ctx.files, copies, lambda index: import_file_key(job, index))
    except TransferFailed as failed:
        # One entry per object that could not be read, each naming its source. The API reference
        # (ImportAssetsFromS3JobErrorDetails) types Details as a list of AssetSourceEntry but says neither how
        # many entries a failed job gets nor whether one error covers several objects.
        raise JobFailed(*(job_error(f.code, f.message, "REVISION", revision.id, Details={
            "ImportAssetsFromS3JobErrorDetails": [{"Bucket": f.copy.bucket, "Key": f.copy.key}]})
            for f in failed.failures)) from None
    # "The newly created assets have a name property equal to the original S3 object's key."
    _create_assets(ctx.scope, job, data_set, revision, [{
        "Name": c.key, "FileKey": c.file_key, "Size": c.size,
        "AssetDetails": {"S3SnapshotAsset": {"Size": float(c.size)}}} for c in copies])


def _source_asset(scope: Scope, revision: Resource, asset_id: str) -> Resource:
    asset = scope.get(ASSET, asset_id)
    if asset is None or asset.parent != revision.id:
        raise JobFailed(job_error("RESOURCE_NOT_FOUND_EXCEPTION", f"Asset {asset_id} no longer exists.",
                                  "ASSET", asset_id))
    if revision.doc.get("Revoked"):
        raise JobFailed(job_error("ACCESS_DENIED_EXCEPTION", f"Revision {revision.id} has been revoked.",
                                  "REVISION", revision.id))
    return asset


def _export_copy(bucket: str, key: str, asset: Resource) -> S3Copy:
    return S3Copy(bucket, key, asset.doc.get("FileKey"), asset.doc.get("Size"), asset.id)


def _export(ctx: Context, revision: Resource, copies: list[S3Copy]) -> None:
    # The requested Encryption stays in the job's details; the object layer stores every object with
    # S3's default encryption (SSE-S3), so objects written with aws:kms still read back as AES256.
    try:
        export_objects(ctx.objects, ctx.files, copies)
    except TransferFailed as failed:
        raise JobFailed(*(_export_error(f, revision) for f in failed.failures)) from None


def _export_error(failure: Failure, revision: Resource) -> dict:
    """A destination bucket's failure names the revision being exported; an object's names its asset."""
    if failure.copy is None:
        return job_error(failure.code, failure.message, "REVISION", revision.id)
    return job_error(failure.code, failure.message, "ASSET", failure.copy.asset_id)


def _run_export_to_s3(ctx, job, details):
    _data_set, revision = _target(ctx.scope, job)
    copies = []
    for destination in details["AssetDestinations"]:
        asset = _source_asset(ctx.scope, revision, destination["AssetId"])
        # Key is optional: "the Amazon S3 object key defaults to the asset name".
        copies.append(_export_copy(destination["Bucket"], destination.get("Key") or asset.doc["Name"], asset))
    _export(ctx, revision, copies)


def _iso_millis(us: int) -> str:
    """``2021-10-08T16:33:19.787Z``, the format AWS documents for ``${Revision.CreatedAt}``."""
    moment = to_datetime(us)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def expand_key(pattern: str, data_set: Resource, revision: Resource, asset: Resource) -> str:
    created = to_datetime(revision.created_us)
    # The user guide ("Key patterns when exporting revisions") calls Day and Month the day and month the revision
    # was created, without saying whether they are zero-padded; two digits keep keys sorting by date.
    values = {"${Asset.Id}": asset.id, "${Asset.Name}": asset.doc["Name"], "${DataSet.Id}": data_set.id,
              "${DataSet.Name}": data_set.doc["Name"], "${Revision.Id}": revision.id,
              "${Revision.CreatedAt}": _iso_millis(revision.created_us),
              "${Revision.CreatedAt.Day}": f"{created.day:02d}", "${Revision.CreatedAt.Month}": f"{created.month:02d}",
              "${Revision.CreatedAt.Year}": str(created.year)}
    return re.sub(r"\$\{[^}]*\}", lambda m: values.get(m.group(0), m.group(0)), pattern)


def _run_export_revision(ctx, job, details):
    data_set, revision = _target(ctx.scope, job)
    if revision.doc.get("Revoked"):
        raise JobFailed(job_error("ACCESS_DENIED_EXCEPTION", f"Revision {revision.id} has been revoked.",
                                  "REVISION", revision.id))
    destination = details["RevisionDestinations"][0]
    pattern = destination.get("KeyPattern") or DEFAULT_KEY_PATTERN
    assets = ctx.scope.children(ASSET, revision.id)
    if len(assets) > ASSETS_PER_REVISION_EXPORT:
        raise JobFailed(job_error("SERVICE_QUOTA_EXCEEDED_EXCEPTION", "Too many assets to export in one job.",
                                  "REVISION", revision.id, LimitName="Assets per revision",
                                  LimitValue=float(ASSETS_PER_REVISION_EXPORT)))
    copies: dict[str, S3Copy] = {}
    for asset in assets:
        key = expand_key(pattern, data_set, revision, asset)
        if key in copies:
            # "If the revision you are exporting has non-unique names ... the export will fail."
            raise JobFailed(job_error("VALIDATION_EXCEPTION",
                                      f"Assets {copies[key].asset_id} and {asset.id} would both be exported to "
                                      f"key {key}.", "ASSET", asset.id))
        copies[key] = _export_copy(destination["Bucket"], key, asset)
    _export(ctx, revision, list(copies.values()))


def _run_export_to_signed_url(ctx, job, details):
    _data_set, revision = _target(ctx.scope, job)
    _source_asset(ctx.scope, revision, details["AssetId"])
    job.doc["DownloadExpiresAt"] = ctx.now_us + SIGNED_URL_VALID_US


def _run_redshift(ctx, job, details):
    data_set, revision = _target(ctx.scope, job)
    _create_assets(ctx.scope, job, data_set, revision, [{
        "Name": s["DataShareArn"].rsplit("/", 1)[1],
        "AssetDetails": {"RedshiftDataShareAsset": {"Arn": s["DataShareArn"]}}} for s in details["AssetSources"]])


def _run_api_gateway(ctx, job, details):
    data_set, revision = _target(ctx.scope, job)
    upload = _uploaded(job, revision, "OpenAPI specification")
    api = {k: details[k] for k in ("ApiDescription", "ApiId", "ApiKey", "ApiName", "ProtocolType", "Stage")
           if details.get(k) is not None}
    api["ApiEndpoint"] = API_ENDPOINT.format(region=job.region)
    _create_assets(ctx.scope, job, data_set, revision, [{
        "Name": details["ApiName"], "FileKey": upload["Key"], "Size": upload["Size"],
        "AssetDetails": {"ApiGatewayApiAsset": api}}])


def _run_s3_data_access(ctx, job, details):
    data_set, revision = _target(ctx.scope, job)
    source = details["AssetSource"]
    access = {k: source[k] for k in ("Bucket", "KeyPrefixes", "Keys", "KmsKeysToGrant") if source.get(k)}
    # Data Exchange creates an S3 access point for the shared data; name it after the job.
    point = f"dx-{job.id[:20]}"
    access["S3AccessPointArn"] = f"arn:{partition(job.region)}:s3:{job.region}:{job.account}:accesspoint/{point}"
    access["S3AccessPointAlias"] = f"{point}-{hashlib.sha256(job.id.encode()).hexdigest()[:34]}-s3alias"
    _create_assets(ctx.scope, job, data_set, revision, [{"Name": source["Bucket"],
                                                         "AssetDetails": {"S3DataAccessAsset": access}}])


def _run_lake_formation(ctx, job, details):
    data_set, revision = _target(ctx.scope, job)
    assets = []
    for member, resource_type, name in (("Database", "DATABASE", "Database(s) included in the LF-tag policy"),
                                        ("Table", "TABLE", "Table(s) included in the LF-tag policy")):
        policy = details.get(member)
        if policy is None:
            continue
        assets.append({"Name": name, "AssetDetails": {"LakeFormationDataPermissionAsset": {
            "LakeFormationDataPermissionDetails": {"LFTagPolicy": {
                "CatalogId": details["CatalogId"], "ResourceType": resource_type,
                "ResourceDetails": {member: {"Expression": policy["Expression"]}}}},
            "LakeFormationDataPermissionType": "LFTagPolicy", "Permissions": policy["Permissions"],
            "RoleArn": details["RoleArn"]}}})
    _create_assets(ctx.scope, job, data_set, revision, assets)


_RUNNERS = {
    IMPORT_FROM_SIGNED_URL: _run_import_from_signed_url, IMPORT_FROM_S3: _run_import_from_s3,
    EXPORT_TO_S3: _run_export_to_s3, EXPORT_REVISIONS: _run_export_revision,
    EXPORT_TO_SIGNED_URL: _run_export_to_signed_url, IMPORT_FROM_REDSHIFT: _run_redshift,
    IMPORT_FROM_API_GATEWAY: _run_api_gateway, CREATE_S3_DATA_ACCESS: _run_s3_data_access,
    IMPORT_FROM_LAKE_FORMATION: _run_lake_formation,
}

