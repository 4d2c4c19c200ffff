"""Accounts and regions are separate, service by service: a second account and a second region see none of the
first one's jobs, resources or objects, by id or by list, except where AWS shares (Snowball's ListJobs and
DescribeAddresses span the US regions; S3 buckets are global across an account's regions; a Data Exchange
data grant reaches its receiver).

Page tokens are opaque (Glacier's markers too, but ListVaults', the last vault's ARN as on AWS; S3's plain-key
markers are not tokens) and cannot cross
accounts, regions, operations or filters: checked for every list operation the four job services serve,
enumerated from the models, so a list operation added later fails here until it is covered.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.request
import uuid

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from support import make_client

from jobyard.services import all_services

HOME, ABROAD = "us-east-1", "eu-west-1"   # a non-US region: Snowball's US-wide lists do not reach it
SERVICES = ("snowball", "glacier", "s3control", "dataexchange")

# Each service's answer to a page token that is not the request's, and to a resource that is not there.
INVALID_TOKEN = {"snowball": "InvalidNextTokenException", "glacier": "InvalidParameterValueException",
                 "s3control": "InvalidNextTokenException", "dataexchange": "ValidationException"}
INVALID_TOKEN_OF = {("snowball", "ListPickupLocations"): "InvalidResourceException"}
# Markers that are plain keys, as on AWS: Glacier's ListVaults marker is the ARN of the last vault listed (any
# vault ARN of the caller's is a valid one), so only what is no such ARN is refused.
PLAIN_MARKERS = {("glacier", "ListVaults")}
NOT_FOUND = {"snowball": "InvalidResourceException", "glacier": "ResourceNotFoundException",
             "s3control": "NotFoundException", "dataexchange": "ResourceNotFoundException"}

ADDRESS = {"Name": "My Name", "Street1": "123 Main Street", "City": "Seattle", "StateOrProvince": "WA",
           "Country": "US", "PostalCode": "98101", "PhoneNumber": "425-555-5555"}
IRELAND = {**ADDRESS, "City": "Dublin", "StateOrProvince": "Dublin", "Country": "IE", "PostalCode": "D02"}
SNOWBALL_JOB = dict(JobType="IMPORT", RoleARN="arn:aws:iam::123456789012:role/snowball", SnowballType="EDGE",
                    ShippingOption="SECOND_DAY", Resources={"S3Resources": [{"BucketArn": "arn:aws:s3:::b"}]})
MANIFEST = {"Spec": {"Format": "S3BatchOperations_CSV_20180820", "Fields": ["Bucket", "Key"]},
            "Location": {"ObjectArn": "arn:aws:s3:::manifests/m.csv", "ETag": "60e460c9d1046e73f7dde5043ac3ae85"}}
REPORT = {"Bucket": "arn:aws:s3:::reports", "Prefix": "r", "Format": "Report_CSV_20180820", "Enabled": True,
          "ReportScope": "AllTasks"}


def client(server, service: str, account: str, region: str = HOME):
    if service == "s3control":
        return make_client(service, server.url, account, region=region,
                           config=Config(proxies={"http": server.url}, retries={"max_attempts": 1}))
    if service == "dataexchange":
        return make_client(service, server.url, account, region=region, config=Config(inject_host_prefix=False))
    return make_client(service, server.url, account, region=region)


def error_code(call, **params) -> str:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"]


def other_account(account: str) -> str:
    return "8" + account[1:]


def list_operations() -> list[tuple[str, str]]:
    """Every served operation of the four job services whose input takes a page token."""
    session = botocore.session.get_session()
    found = []
    for service in all_services():
        if service.model_name not in SERVICES:
            continue
        model = session.get_service_model(service.model_name)
        for name in sorted(service.operations):
            shape = model.operation_model(name).input_shape
            if shape is not None and any(m.lower() in ("nexttoken", "marker") for m in shape.members):
                found.append((service.model_name, name))
    return found


# -- what each list operation needs: two items or more in the home scope, and its parameters ----------------

def _snowball_jobs(sb):
    for _ in range(2):
        sb.create_job(AddressId=sb.create_address(Address=ADDRESS)["AddressId"], **SNOWBALL_JOB)
    return {}


def _snowball_cluster(sb):
    address = sb.create_address(Address=ADDRESS)["AddressId"]
    cluster = sb.create_cluster(JobType="LOCAL_USE", AddressId=address, SnowballType="EDGE",
                                ShippingOption="SECOND_DAY", InitialClusterSize=3)["ClusterId"]
    return {"ClusterId": cluster}


def _snowball_clusters(sb):
    _snowball_cluster(sb)
    _snowball_cluster(sb)
    return {}


def _glacier_vaults(gl):
    for name in ("iso-a", "iso-b"):
        gl.create_vault(vaultName=name)
    return {}


def _glacier_jobs(gl):
    gl.create_vault(vaultName="iso-jobs")
    archive = gl.upload_archive(vaultName="iso-jobs", body=b"bytes")["archiveId"]
    for _ in range(2):
        gl.initiate_job(vaultName="iso-jobs", jobParameters={"Type": "archive-retrieval", "ArchiveId": archive})
    return {"vaultName": "iso-jobs"}


def _glacier_uploads(gl):
    gl.create_vault(vaultName="iso-uploads")
    for _ in range(2):
        gl.initiate_multipart_upload(vaultName="iso-uploads", partSize=str(1024 * 1024))
    return {"vaultName": "iso-uploads"}


def _glacier_parts(gl):
    gl.create_vault(vaultName="iso-parts")
    mib = 1024 * 1024
    upload = gl.initiate_multipart_upload(vaultName="iso-parts", partSize=str(mib))["uploadId"]
    for start in (0, mib):
        gl.upload_multipart_part(vaultName="iso-parts", uploadId=upload, body=b"x" * mib,
                                 range=f"bytes {start}-{start + mib - 1}/*")
    return {"vaultName": "iso-parts", "uploadId": upload}


def _s3control_jobs(s3c, account):
    for _ in range(2):
        s3c.create_job(AccountId=account, Operation={"S3PutObjectTagging": {"TagSet": []}}, Manifest=MANIFEST,
                       Report=REPORT, Priority=1, RoleArn="arn:aws:iam::123456789012:role/batch",
                       ConfirmationRequired=True, ClientRequestToken=str(uuid.uuid4()))
    return {"AccountId": account}


def _data_set(dx, name="iso"):
    return dx.create_data_set(AssetType="S3_SNAPSHOT", Description="isolation", Name=name)["Id"]


def _dx_data_sets(dx):
    _data_set(dx)
    _data_set(dx)
    return {}


def _dx_revisions(dx):
    data_set = _data_set(dx)
    for _ in range(2):
        dx.create_revision(DataSetId=data_set)
    return {"DataSetId": data_set}


def _dx_import(dx, data_set, revision, name):
    data = name.encode()
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    return dx.create_job(Type="IMPORT_ASSET_FROM_SIGNED_URL", Details={"ImportAssetFromSignedUrl": {
        "AssetName": name, "DataSetId": data_set, "RevisionId": revision, "Md5Hash": md5}})


def _dx_jobs(dx):
    data_set = _data_set(dx)
    revision = dx.create_revision(DataSetId=data_set)["Id"]
    for name in ("a.csv", "b.csv"):
        _dx_import(dx, data_set, revision, name)
    return {}


def _dx_assets(dx, server):
    data_set = _data_set(dx)
    revision = dx.create_revision(DataSetId=data_set)["Id"]
    for name in ("a.csv", "b.csv"):
        job = _dx_import(dx, data_set, revision, name)
        details = job["Details"]["ImportAssetFromSignedUrl"]
        request = urllib.request.Request(details["SignedUrl"], data=name.encode(), method="PUT",
                                         headers={"Content-MD5": details["Md5Hash"]})
        urllib.request.urlopen(request, timeout=30).read()
        dx.start_job(JobId=job["Id"])
    server.advance(60)
    return {"DataSetId": data_set, "RevisionId": revision}


def _dx_event_actions(dx):
    data_set = _data_set(dx)
    for bucket in ("iso-a", "iso-b"):
        dx.create_event_action(Event={"RevisionPublished": {"DataSetId": data_set}},
                               Action={"ExportRevisionToS3": {"RevisionDestination": {"Bucket": bucket}}})
    return {}


def _dx_grants(dx, account):
    for _ in range(2):
        dx.create_data_grant(Name="iso", GrantDistributionScope="NONE", ReceiverPrincipal=other_account(account),
                             SourceDataSetId=_data_set(dx))
    return {}


def _dx_received_grants(dx, account, server):
    sender = client(server, "dataexchange", other_account(account))
    for _ in range(2):
        sender.create_data_grant(Name="iso", GrantDistributionScope="NONE", ReceiverPrincipal=account,
                                 SourceDataSetId=_data_set(sender))
    return {}


# (service, operation) -> (setup(client, account, server) -> params, a filter that makes another list, if any)
SETUPS = {
    ("snowball", "DescribeAddresses"): (lambda c, a, s: [c.create_address(Address=ADDRESS) for _ in range(2)]
                                        and {}, None),
    ("snowball", "ListJobs"): (lambda c, a, s: _snowball_jobs(c), None),
    ("snowball", "ListClusters"): (lambda c, a, s: _snowball_clusters(c), None),
    ("snowball", "ListClusterJobs"): (lambda c, a, s: _snowball_cluster(c), None),
    ("snowball", "ListCompatibleImages"): (lambda c, a, s: {}, None),
    ("snowball", "ListLongTermPricing"): (
        lambda c, a, s: [c.create_long_term_pricing(LongTermPricingType="OneYear", SnowballType="EDGE")
                         for _ in range(2)] and {}, None),
    ("snowball", "ListPickupLocations"): (lambda c, a, s: {}, None),
    ("snowball", "ListServiceVersions"): (lambda c, a, s: {"ServiceName": "KUBERNETES"},
                                          {"ServiceName": "EKS_ANYWHERE"}),
    ("glacier", "ListVaults"): (lambda c, a, s: _glacier_vaults(c), None),
    ("glacier", "ListJobs"): (lambda c, a, s: _glacier_jobs(c), {"statuscode": "InProgress"}),
    ("glacier", "ListMultipartUploads"): (lambda c, a, s: _glacier_uploads(c), None),
    ("glacier", "ListParts"): (lambda c, a, s: _glacier_parts(c), None),
    ("s3control", "ListJobs"): (lambda c, a, s: _s3control_jobs(c, a), {"JobStatuses": ["Suspended"]}),
    ("dataexchange", "ListDataSets"): (lambda c, a, s: _dx_data_sets(c), {"Origin": "OWNED"}),
    ("dataexchange", "ListDataSetRevisions"): (lambda c, a, s: _dx_revisions(c), None),
    ("dataexchange", "ListJobs"): (lambda c, a, s: _dx_jobs(c), {"DataSetId": "0" * 32}),
    ("dataexchange", "ListRevisionAssets"): (lambda c, a, s: _dx_assets(c, s), None),
    ("dataexchange", "ListEventActions"): (lambda c, a, s: _dx_event_actions(c), {"EventSourceId": "0" * 32}),
    ("dataexchange", "ListDataGrants"): (lambda c, a, s: _dx_grants(c, a), None),
    ("dataexchange", "ListReceivedDataGrants"): (lambda c, a, s: _dx_received_grants(c, a, s),
                                                 {"AcceptanceState": ["ACCEPTED"]}),
}

# Another list operation of the same service, with no required input: a token of one is no token of the other.
SIBLING = {"snowball": ("ListClusters", "ListJobs"), "glacier": ("ListVaults", "ListMultipartUploads"),
           "dataexchange": ("ListDataSets", "ListJobs")}


def test_every_list_operation_is_covered():
    listed = list_operations()
    assert len(listed) >= 20
    assert sorted(set(listed) - set(SETUPS)) == []


def _members(model, operation):
    shape = model.operation_model(operation).input_shape
    token = next(m for m in shape.members if m.lower() in ("nexttoken", "marker"))
    limit = next(m for m in shape.members if m.lower() in ("maxresults", "limit"))
    return token, limit, shape.members[limit].type_name


def _output_token(model, operation) -> str:
    return next(m for m in model.operation_model(operation).output_shape.members if m.lower() in ("nexttoken", "marker"))


@pytest.mark.parametrize("service, operation", list_operations())
def test_page_tokens_cross_no_account_region_operation_or_filter(server, account, service, operation):
    model = botocore.session.get_session().get_service_model(service)
    token_name, limit_name, limit_type = _members(model, operation)
    setup, other_filter = SETUPS[(service, operation)]
    home = client(server, service, account)
    params = setup(home, account, server)
    limit = {limit_name: "1" if limit_type == "string" else 1}
    method = getattr(home, botocore.xform_name(operation))
    page = method(**params, **limit)
    token = page.get(_output_token(model, operation))
    assert token, f"{operation} with a limit of 1 handed out no token: {page}"
    # The token works where it was handed out (and is no plain key).
    method(**params, **limit, **{token_name: token})
    invalid = INVALID_TOKEN_OF.get((service, operation), INVALID_TOKEN[service])
    # Forged and tampered tokens.
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    plain = (service, operation) in PLAIN_MARKERS
    for forged in ("forged",) if plain else ("forged", tampered, token + "x"):
        assert error_code(method, **params, **{token_name: forged}) == invalid, forged
    # Another account, another region: the token is not theirs; where the parent is missing there, its not-found
    # error (also proves the parent is not shared).
    accepted = {invalid, NOT_FOUND[service]} if set(params) - {"AccountId", "ServiceName"} else {invalid}
    for stranger_account, region in ((other_account(account), HOME), (account, ABROAD)):
        stranger = client(server, service, stranger_account, region)
        their_params = {**params, "AccountId": stranger_account} if "AccountId" in params else params
        code = error_code(getattr(stranger, botocore.xform_name(operation)), **their_params, **{token_name: token})
        assert code in accepted, (stranger_account, region, code)
    # Another list operation of the service.
    sibling = next((s for s in SIBLING.get(service, ()) if s != operation), None)
    if sibling is not None:
        sibling_token = _members(model, sibling)[0]
        sibling_params = {}
        if "vaultName" in model.operation_model(sibling).input_shape.required_members:
            home.create_vault(vaultName="iso-sibling")
            sibling_params = {"vaultName": "iso-sibling"}
        assert error_code(getattr(home, botocore.xform_name(sibling)), **sibling_params, **{sibling_token: token}) \
            == INVALID_TOKEN_OF.get((service, sibling), INVALID_TOKEN[service])
    else:
        assert service == "s3control"   # its one served list operation
    # Another filter.
    if other_filter is not None:
        assert error_code(method, **{**params, **other_filter}, **{token_name: token}) == invalid


# -- isolation by id and by list -----------------------------------------------------------------------------

def _codes(calls):
    return [error_code(call, **params) for call, params in calls]


def test_snowball_isolation(server, account):
    home = client(server, "snowball", account)
    address = home.create_address(Address=ADDRESS)["AddressId"]
    job = home.create_job(AddressId=address, **SNOWBALL_JOB)["JobId"]
    cluster = home.create_cluster(JobType="LOCAL_USE", AddressId=address, SnowballType="EDGE",
                                  ShippingOption="SECOND_DAY", InitialClusterSize=3)["ClusterId"]
    pricing = home.create_long_term_pricing(LongTermPricingType="OneYear", SnowballType="EDGE")["LongTermPricingId"]
    for stranger in (client(server, "snowball", other_account(account)), client(server, "snowball", account, ABROAD)):
        assert set(_codes([(stranger.describe_address, {"AddressId": address}),
                           (stranger.describe_job, {"JobId": job}),
                           (stranger.describe_cluster, {"ClusterId": cluster}),
                           (stranger.list_cluster_jobs, {"ClusterId": cluster}),
                           (stranger.cancel_job, {"JobId": job}),
                           (stranger.update_long_term_pricing, {"LongTermPricingId": pricing,
                                                                "IsLongTermPricingAutoRenew": True})])) \
            == {"InvalidResourceException"}
        assert stranger.list_jobs()["JobListEntries"] == []
        assert stranger.list_clusters()["ClusterListEntries"] == []
        assert stranger.describe_addresses()["Addresses"] == []
        assert stranger.list_long_term_pricing()["LongTermPricingEntries"] == []
    # AWS shares ListJobs and DescribeAddresses across the US regions (not ListClusters, not reads by id).
    west = client(server, "snowball", account, "us-west-2")
    assert job in [j["JobId"] for j in west.list_jobs()["JobListEntries"]]
    assert [a["AddressId"] for a in west.describe_addresses()["Addresses"]] == [address]
    assert west.list_clusters()["ClusterListEntries"] == []
    assert error_code(west.describe_job, JobId=job) == "InvalidResourceException"


def test_glacier_isolation(server, account):
    home = client(server, "glacier", account)
    home.create_vault(vaultName="private")
    archive = home.upload_archive(vaultName="private", body=b"secret")["archiveId"]
    job = home.initiate_job(vaultName="private", jobParameters={"Type": "archive-retrieval",
                                                                "ArchiveId": archive})["jobId"]
    upload = home.initiate_multipart_upload(vaultName="private", partSize=str(1024 * 1024))["uploadId"]
    for stranger in (client(server, "glacier", other_account(account)), client(server, "glacier", account, ABROAD)):
        assert set(_codes([(stranger.describe_vault, {"vaultName": "private"}),
                           (stranger.describe_job, {"vaultName": "private", "jobId": job}),
                           (stranger.list_parts, {"vaultName": "private", "uploadId": upload}),
                           (stranger.delete_archive, {"vaultName": "private", "archiveId": archive})])) \
            == {"ResourceNotFoundException"}
        assert stranger.list_vaults()["VaultList"] == []
        # The same vault name elsewhere is another vault: none of the first one's jobs, uploads or archives.
        stranger.create_vault(vaultName="private")
        assert stranger.list_jobs(vaultName="private")["JobList"] == []
        assert stranger.list_multipart_uploads(vaultName="private")["UploadsList"] == []
        assert error_code(stranger.describe_job, vaultName="private", jobId=job) == "ResourceNotFoundException"
        assert error_code(stranger.delete_archive, vaultName="private", archiveId=archive) \
            == "ResourceNotFoundException"
    assert [v["VaultName"] for v in home.list_vaults()["VaultList"]] == ["private"]
    assert home.describe_vault(vaultName="private")["NumberOfArchives"] in (0, 1)   # inventory-based count


def test_s3control_isolation(server, account):
    home = client(server, "s3control", account)
    job = home.create_job(AccountId=account, Operation={"S3PutObjectTagging": {"TagSet": []}}, Manifest=MANIFEST,
                          Report=REPORT, Priority=1, RoleArn="arn:aws:iam::123456789012:role/batch",
                          ConfirmationRequired=True, ClientRequestToken=str(uuid.uuid4()))["JobId"]
    stranger_account = other_account(account)
    for stranger, owner in ((client(server, "s3control", stranger_account), stranger_account),
                            (client(server, "s3control", account, ABROAD), account)):
        assert error_code(stranger.describe_job, AccountId=owner, JobId=job) == "NotFoundException"
        assert error_code(stranger.get_job_tagging, AccountId=owner, JobId=job) == "NotFoundException"
        assert error_code(stranger.update_job_priority, AccountId=owner, JobId=job, Priority=2) \
            == "NotFoundException"
        assert stranger.list_jobs(AccountId=owner)["Jobs"] == []
    # A key of one account cannot act for another by naming it.
    assert error_code(client(server, "s3control", stranger_account).describe_job, AccountId=account,
                      JobId=job) == "AccessDenied"


def test_dataexchange_isolation(server, account):
    home = client(server, "dataexchange", account)
    data_set = _data_set(home, "private")
    revision = home.create_revision(DataSetId=data_set)["Id"]
    job = _dx_import(home, data_set, revision, "a.csv")["Id"]
    action = home.create_event_action(Event={"RevisionPublished": {"DataSetId": data_set}},
                                      Action={"ExportRevisionToS3": {"RevisionDestination": {"Bucket": "iso-bucket"}}})["Id"]
    for stranger in (client(server, "dataexchange", other_account(account)),
                     client(server, "dataexchange", account, ABROAD)):
        assert set(_codes([(stranger.get_data_set, {"DataSetId": data_set}),
                           (stranger.get_revision, {"DataSetId": data_set, "RevisionId": revision}),
                           (stranger.get_job, {"JobId": job}),
                           (stranger.get_event_action, {"EventActionId": action}),
                           (stranger.list_data_set_revisions, {"DataSetId": data_set}),
                           (stranger.delete_data_set, {"DataSetId": data_set})])) == {"ResourceNotFoundException"}
        assert stranger.list_data_sets()["DataSets"] == []
        assert stranger.list_jobs()["Jobs"] == []
        assert stranger.list_event_actions()["EventActions"] == []
        assert stranger.list_data_grants()["DataGrantSummaries"] == []
    # A data grant is what AWS shares: its receiver sees it, nobody else does.
    receiver, bystander = other_account(account), "7" + account[1:]
    grant = home.create_data_grant(Name="shared", GrantDistributionScope="NONE", ReceiverPrincipal=receiver,
                                   SourceDataSetId=data_set)
    received = client(server, "dataexchange", receiver).list_received_data_grants()["DataGrantSummaries"]
    assert [g["Id"] for g in received] == [grant["Id"]]
    assert client(server, "dataexchange", bystander).list_received_data_grants()["DataGrantSummaries"] == []
    assert client(server, "dataexchange", receiver, ABROAD).list_received_data_grants()["DataGrantSummaries"] == []


def test_s3_isolation(server, account):
    home = make_client("s3", server.url, account)
    bucket = f"private-{account}"
    home.create_bucket(Bucket=bucket)
    home.put_object(Bucket=bucket, Key="k", Body=b"secret")
    stranger = make_client("s3", server.url, other_account(account))
    assert bucket not in [b["Name"] for b in stranger.list_buckets()["Buckets"]]
    for call, params in ((stranger.get_object, {"Key": "k"}), (stranger.list_objects_v2, {}),
                         (stranger.head_bucket, {}), (stranger.put_object, {"Key": "k2", "Body": b"x"}),
                         (stranger.delete_object, {"Key": "k"})):
        with pytest.raises(ClientError) as caught:
            call(Bucket=bucket, **params)
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] in (403, 404), call
    assert home.get_object(Bucket=bucket, Key="k")["Body"].read() == b"secret"
    assert [o["Key"] for o in home.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    # Buckets are the account's in every region.
    abroad = make_client("s3", server.url, account, region=ABROAD)
    assert bucket in [b["Name"] for b in abroad.list_buckets()["Buckets"]]
