"""Data grants, event actions, data set notifications and API assets."""

import json
import urllib.request
from datetime import datetime, timedelta, timezone

from conformance import attach
from dataexchange_helpers import DAY, assets_of, create_data_set, create_revision, import_file, md5_b64, put
from dataexchange_helpers import dx, dx_other, other_account, s3  # noqa: F401  (fixtures)
from support import expect_error, make_client


def published_data_set(server, dx, data=b"v1"):
    """An owned data set with one finalized revision holding one asset."""
    data_set = create_data_set(dx)
    revision = create_revision(dx, data_set["Id"])
    import_file(server, dx, data_set["Id"], revision["Id"], data)
    dx.update_revision(DataSetId=data_set["Id"], RevisionId=revision["Id"], Finalized=True)
    return data_set, revision


def test_data_grant_shares_finalized_revisions_with_the_receiver(server, dx, dx_other, account, other_account):
    data_set, revision = published_data_set(server, dx)
    draft = create_revision(dx, data_set["Id"])
    grant = dx.create_data_grant(Name="prices for analytics", GrantDistributionScope="NONE",
                                 ReceiverPrincipal=other_account, SourceDataSetId=data_set["Id"],
                                 Description="daily prices", Tags={"deal": "42"})
    assert grant["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert grant["AcceptanceState"] == "PENDING_RECEIVER_ACCEPTANCE" and grant["SenderPrincipal"] == account
    assert grant["Arn"] == f"arn:aws:dataexchange:us-east-1:{account}:data-grants/{grant['Id']}"
    assert dx.get_data_grant(DataGrantId=grant["Arn"])["Id"] == grant["Id"]
    assert [g["Id"] for g in dx.list_data_grants()["DataGrantSummaries"]] == [grant["Id"]]

    received = dx_other.list_received_data_grants(AcceptanceState=["PENDING_RECEIVER_ACCEPTANCE"])
    assert [g["Arn"] for g in received["DataGrantSummaries"]] == [grant["Arn"]]
    assert dx_other.get_received_data_grant(DataGrantArn=grant["Arn"])["Name"] == "prices for analytics"
    expect_error(dx, "AcceptDataGrant", "ResourceNotFoundException", 404, DataGrantArn=grant["Arn"])

    accepted = dx_other.accept_data_grant(DataGrantArn=grant["Arn"])
    assert accepted["AcceptanceState"] == "ACCEPTED" and accepted["AcceptedAt"]
    assert dx.get_data_grant(DataGrantId=grant["Id"])["AcceptanceState"] == "ACCEPTED"
    assert dx_other.list_received_data_grants(AcceptanceState=["PENDING_RECEIVER_ACCEPTANCE"])[
        "DataGrantSummaries"] == []
    expect_error(dx_other, "AcceptDataGrant", "ConflictException", 409, DataGrantArn=grant["Arn"])
    both = dx_other.list_received_data_grants(AcceptanceState=["PENDING_RECEIVER_ACCEPTANCE", "ACCEPTED"])
    assert [g["AcceptanceState"] for g in both["DataGrantSummaries"]] == ["ACCEPTED"]

    entitled = dx_other.get_data_set(DataSetId=grant["DataSetId"])
    assert entitled["Origin"] == "ENTITLED" and entitled["OriginDetails"] == {"DataGrantId": grant["Id"]}
    assert [d["Id"] for d in dx_other.list_data_sets(Origin="ENTITLED")["DataSets"]] == [entitled["Id"]]
    revisions = dx_other.list_data_set_revisions(DataSetId=entitled["Id"])["Revisions"]
    assert [r["Id"] for r in revisions] == [revision["Id"]]   # the draft is not shared
    [asset] = assets_of(dx_other, entitled["Id"], revision["Id"])

    # The receiver may export what it was granted, never import or change it.
    export = dx_other.create_job(Type="EXPORT_ASSET_TO_SIGNED_URL", Details={"ExportAssetToSignedUrl": {
        "AssetId": asset["Id"], "DataSetId": entitled["Id"], "RevisionId": revision["Id"]}})
    dx_other.start_job(JobId=export["Id"])
    server.advance(30)
    url = dx_other.get_job(JobId=export["Id"])["Details"]["ExportAssetToSignedUrl"]["SignedUrl"]
    assert urllib.request.urlopen(url, timeout=30).read() == b"v1"
    expect_error(dx_other, "CreateRevision", "AccessDeniedException", 403, DataSetId=entitled["Id"])
    expect_error(dx_other, "UpdateDataSet", "AccessDeniedException", 403, DataSetId=entitled["Id"], Name="mine")

    # Revisions finalized later reach the receiver; revoking reaches it too.
    import_file(server, dx, data_set["Id"], draft["Id"], b"v2")
    dx.update_revision(DataSetId=data_set["Id"], RevisionId=draft["Id"], Finalized=True)
    shared = dx_other.list_data_set_revisions(DataSetId=entitled["Id"])["Revisions"]
    assert [r["Id"] for r in shared] == [draft["Id"], revision["Id"]]
    expect_error(dx, "UpdateRevision", "ConflictException", 409, DataSetId=data_set["Id"], RevisionId=draft["Id"],
                 Finalized=False)
    expect_error(dx, "DeleteDataSet", "ConflictException", 409, DataSetId=data_set["Id"])
    dx.revoke_revision(DataSetId=data_set["Id"], RevisionId=revision["Id"], RevocationComment="wrong prices")
    assert dx_other.get_revision(DataSetId=entitled["Id"], RevisionId=revision["Id"])["Revoked"] is True
    expect_error(dx_other, "CreateJob", "ConflictException", 409, Type="EXPORT_ASSET_TO_SIGNED_URL", Details={
        "ExportAssetToSignedUrl": {"AssetId": asset["Id"], "DataSetId": entitled["Id"],
                                   "RevisionId": revision["Id"]}})

    dx.delete_data_grant(DataGrantId=grant["Id"])
    expect_error(dx, "GetDataGrant", "ResourceNotFoundException", 404, DataGrantId=grant["Id"])
    expect_error(dx_other, "GetDataSet", "ResourceNotFoundException", 404, DataSetId=entitled["Id"])
    expect_error(dx_other, "GetReceivedDataGrant", "ResourceNotFoundException", 404, DataGrantArn=grant["Arn"])


def test_data_grant_access_ends_at_ends_at(server, dx, dx_other, other_account):
    data_set, _revision = published_data_set(server, dx)
    ends = datetime.fromisoformat(server.clock()["now"].replace("Z", "+00:00")) + timedelta(days=3)
    grant = dx.create_data_grant(Name="trial", GrantDistributionScope="NONE", ReceiverPrincipal=other_account,
                                 SourceDataSetId=data_set["Id"], EndsAt=ends)
    dx_other.accept_data_grant(DataGrantArn=grant["Arn"])
    assert dx_other.get_data_set(DataSetId=grant["DataSetId"])["Origin"] == "ENTITLED"
    server.advance(4 * DAY)
    expect_error(dx_other, "GetDataSet", "ResourceNotFoundException", 404, DataSetId=grant["DataSetId"])


def test_data_grant_validation(server, dx, account, other_account):
    data_set = create_data_set(dx)
    expect_error(dx, "CreateDataGrant", "ValidationException", 400, Name="self", GrantDistributionScope="NONE",
                 ReceiverPrincipal=account, SourceDataSetId=data_set["Id"])
    expect_error(dx, "CreateDataGrant", "ValidationException", 400, Name="past", GrantDistributionScope="NONE",
                 ReceiverPrincipal=other_account, SourceDataSetId=data_set["Id"],
                 EndsAt=datetime(2001, 1, 1, tzinfo=timezone.utc))
    expect_error(dx, "CreateDataGrant", "ValidationException", 400, Name="x", GrantDistributionScope="NONE",
                 ReceiverPrincipal="12345", SourceDataSetId=data_set["Id"])
    missing = expect_error(dx, "CreateDataGrant", "ResourceNotFoundException", 404, Name="x",
                           GrantDistributionScope="NONE", ReceiverPrincipal=other_account,
                           SourceDataSetId="e" * 32)
    assert missing.response["ResourceType"] == "DATA_SET"
    expect_error(dx, "GetDataGrant", "ResourceNotFoundException", 404, DataGrantId="e" * 32)
    for region in ("us-east-1", ""):
        expect_error(dx, "GetReceivedDataGrant", "ResourceNotFoundException", 404,
                     DataGrantArn=f"arn:aws:dataexchange:{region}:{other_account}:data-grants/{'e' * 32}")


def objects_in(s3, bucket) -> dict:
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def revision_stamp(revision) -> str:
    """``${Revision.CreatedAt}`` of a revision: UTC with milliseconds."""
    created = revision["CreatedAt"]
    return f"{created:%Y-%m-%dT%H:%M:%S}.{created.microsecond // 1000:03d}Z"


def test_event_actions_export_each_published_revision(server, dx, s3):
    s3.create_bucket(Bucket="auto-export-bucket")
    s3.create_bucket(Bucket="other-bucket")
    data_set = create_data_set(dx)
    action = dx.create_event_action(
        Event={"RevisionPublished": {"DataSetId": data_set["Id"]}},
        Action={"ExportRevisionToS3": {"RevisionDestination": {"Bucket": "auto-export-bucket"},
                                       "Encryption": {"Type": "AES256"}}},
        Tags={"owner": "ops"})
    assert action["ResponseMetadata"]["HTTPStatusCode"] == 201 and action["Tags"] == {"owner": "ops"}
    assert dx.get_event_action(EventActionId=action["Id"])["Arn"] == action["Arn"]
    assert [a["Id"] for a in dx.list_event_actions(EventSourceId=data_set["Id"])["EventActions"]] == [action["Id"]]
    assert dx.list_event_actions(EventSourceId="f" * 32)["EventActions"] == []

    revision = create_revision(dx, data_set["Id"])
    import_file(server, dx, data_set["Id"], revision["Id"], b"payload")
    dx.update_revision(DataSetId=data_set["Id"], RevisionId=revision["Id"], Finalized=True)
    [auto] = [j for j in dx.list_jobs(RevisionId=revision["Id"])["Jobs"] if j["Type"] == "EXPORT_REVISIONS_TO_S3"]
    details = auto["Details"]["ExportRevisionsToS3"]
    assert auto["State"] == "IN_PROGRESS" and details["EventActionArn"] == action["Arn"]
    assert details["RevisionDestinations"] == [{"Bucket": "auto-export-bucket", "RevisionId": revision["Id"],
                                                "KeyPattern": "${Revision.CreatedAt}/${Asset.Name}"}]
    server.advance(120)
    assert dx.get_job(JobId=auto["Id"])["State"] == "COMPLETED"
    # The default auto-export key pattern is ${Revision.CreatedAt}/${Asset.Name}.
    assert objects_in(s3, "auto-export-bucket") == {f"{revision_stamp(revision)}/data.csv": b"payload"}

    updated = dx.update_event_action(EventActionId=action["Id"], Action={"ExportRevisionToS3": {
        "RevisionDestination": {"Bucket": "other-bucket", "KeyPattern": "${Asset.Id}"}}})
    assert updated["Action"]["ExportRevisionToS3"]["RevisionDestination"]["Bucket"] == "other-bucket"
    second = create_revision(dx, data_set["Id"])
    import_file(server, dx, data_set["Id"], second["Id"], b"second payload")
    dx.update_revision(DataSetId=data_set["Id"], RevisionId=second["Id"], Finalized=True)
    server.advance(120)
    [asset] = assets_of(dx, data_set["Id"], second["Id"])
    assert objects_in(s3, "other-bucket") == {asset["Id"]: b"second payload"}
    assert len(objects_in(s3, "auto-export-bucket")) == 1
    dx.delete_event_action(EventActionId=action["Id"])
    error = expect_error(dx, "GetEventAction", "ResourceNotFoundException", 404, EventActionId=action["Id"])
    assert error.response["ResourceType"] == "EVENT_ACTION"


def test_event_action_validation_and_limits(dx):
    data_set = create_data_set(dx)
    event = {"RevisionPublished": {"DataSetId": data_set["Id"]}}
    action = {"ExportRevisionToS3": {"RevisionDestination": {"Bucket": "auto-export-bucket"}}}
    expect_error(dx, "CreateEventAction", "ValidationException", 400, Event={}, Action=action)
    expect_error(dx, "CreateEventAction", "ValidationException", 400, Event=event, Action={})
    expect_error(dx, "CreateEventAction", "ValidationException", 400, Event=event, Action={"ExportRevisionToS3": {
        "RevisionDestination": {"Bucket": "b-b", "KeyPattern": "${Revision.Id}"}}})
    expect_error(dx, "CreateEventAction", "ValidationException", 400,
                 Event={"RevisionPublished": {"DataSetId": "c" * 32}}, Action=action)
    for _ in range(5):
        dx.create_event_action(Event=event, Action=action)
    error = expect_error(dx, "CreateEventAction", "ServiceLimitExceededException", 402, Event=event, Action=action)
    assert error.response["LimitName"] == "Auto export event actions per data set"
    assert error.response["LimitValue"] == 5


def test_send_data_set_notification(server, dx):
    data_set = create_data_set(dx)
    future = datetime.fromisoformat(server.clock()["now"].replace("Z", "+00:00")) + timedelta(days=30)
    sent = dx.send_data_set_notification(DataSetId=data_set["Id"], Type="DEPRECATION", ClientToken="dep-1",
                                         Details={"Deprecation": {"DeprecationAt": future}}, Comment="retiring")
    assert sent["ResponseMetadata"]["HTTPStatusCode"] == 202
    # A retry with the same token is accepted once more; the token with other content is a conflict.
    dx.send_data_set_notification(DataSetId=data_set["Id"], Type="DEPRECATION", ClientToken="dep-1",
                                  Details={"Deprecation": {"DeprecationAt": future}}, Comment="retiring")
    expect_error(dx, "SendDataSetNotification", "ConflictException", 409, DataSetId=data_set["Id"],
                 Type="DATA_DELAY", ClientToken="dep-1")
    dx.send_data_set_notification(DataSetId=data_set["Id"], Type="DATA_DELAY")
    expect_error(dx, "SendDataSetNotification", "ValidationException", 400, DataSetId=data_set["Id"],
                 Type="DEPRECATION")
    expect_error(dx, "SendDataSetNotification", "ValidationException", 400, DataSetId=data_set["Id"],
                 Type="DATA_DELAY", Details={"Deprecation": {"DeprecationAt": future}})
    expect_error(dx, "SendDataSetNotification", "ValidationException", 400, DataSetId=data_set["Id"],
                 Type="DEPRECATION", Details={"Deprecation": {"DeprecationAt": datetime(2001, 1, 1)}})
    expect_error(dx, "SendDataSetNotification", "ValidationException", 400, DataSetId=data_set["Id"],
                 Type="DATA_UPDATE", Scope={"RedshiftDataShares": [{"Arn": "arn:x", "Database": "db"}]})
    expect_error(dx, "SendDataSetNotification", "ResourceNotFoundException", 404, DataSetId="b" * 32,
                 Type="DATA_DELAY")


def test_send_api_asset_answers_with_the_request_it_would_proxy(server, dx):
    spec = b'{"openapi": "3.0.0"}'
    data_set = create_data_set(dx, asset_type="API_GATEWAY_API")
    revision = create_revision(dx, data_set["Id"])
    job = dx.create_job(Type="IMPORT_ASSET_FROM_API_GATEWAY_API", Details={"ImportAssetFromApiGatewayApi": {
        "ApiId": "a1b2c3d4e5", "ApiName": "Prices API", "ApiSpecificationMd5Hash": md5_b64(spec),
        "DataSetId": data_set["Id"], "ProtocolType": "REST", "RevisionId": revision["Id"], "Stage": "prod"}})
    put(job["Details"]["ImportAssetFromApiGatewayApi"]["ApiSpecificationUploadUrl"], spec)
    dx.start_job(JobId=job["Id"])
    server.advance(60)
    [asset] = assets_of(dx, data_set["Id"], revision["Id"])
    answer = dx.send_api_asset(DataSetId=data_set["Id"], RevisionId=revision["Id"], AssetId=asset["Id"],
                               Method="GET", Path="/prices", QueryStringParameters={"ticker": "AMZN"},
                               RequestHeaders={"accept": "application/json"}, Body="")
    assert answer["ResponseHeaders"]["x-jobyard-api-gateway"] == "not-called"
    echoed = json.loads(answer["Body"])["Request"]
    assert echoed["Method"] == "GET" and echoed["Path"] == "/prices" and echoed["Stage"] == "prod"
    assert echoed["QueryStringParameters"] == {"ticker": "AMZN"} and echoed["RequestHeaders"] == {
        "accept": "application/json"}
    expect_error(dx, "SendApiAsset", "ResourceNotFoundException", 404, DataSetId=data_set["Id"],
                 RevisionId=revision["Id"], AssetId="9" * 32)
    expect_error(dx, "SendApiAsset", "ValidationException", 400, DataSetId="nope", RevisionId=revision["Id"],
                 AssetId=asset["Id"])


def test_a_receiver_event_action_exports_granted_revisions_to_its_own_bucket(server, dx, dx_other, other_account):
    data_set, _first = published_data_set(server, dx)
    grant = dx.create_data_grant(Name="prices", GrantDistributionScope="NONE", ReceiverPrincipal=other_account,
                                 SourceDataSetId=data_set["Id"])
    dx_other.accept_data_grant(DataGrantArn=grant["Arn"])
    receiver_s3 = make_client("s3", server.url, other_account)
    failures = attach(receiver_s3)
    receiver_s3.create_bucket(Bucket="receiver-bucket")
    dx_other.create_event_action(Event={"RevisionPublished": {"DataSetId": grant["DataSetId"]}}, Action={
        "ExportRevisionToS3": {"RevisionDestination": {"Bucket": "receiver-bucket",
                                                       "KeyPattern": "${Revision.Id}/${Asset.Name}"}}})

    revision = create_revision(dx, data_set["Id"])
    import_file(server, dx, data_set["Id"], revision["Id"], b"fresh prices", name="prices.csv")
    dx.update_revision(DataSetId=data_set["Id"], RevisionId=revision["Id"], Finalized=True)
    server.advance(120)
    [job] = dx_other.list_jobs(RevisionId=revision["Id"])["Jobs"]
    assert job["State"] == "COMPLETED", job
    assert objects_in(receiver_s3, "receiver-bucket") == {f"{revision['Id']}/prices.csv": b"fresh prices"}
    assert not failures, "\n".join(failures)


def test_revision_pruning_revokes_then_deletes_the_assets(server, dx, dx_other, other_account):
    """A provider's pruning script: list a published revision's assets, revoke the revision, delete the assets
    (Data Exchange User Guide, "Revoking access to revisions": revoking keeps the assets, DeleteAsset removes
    them), then the revision. A finalized revision's assets stay read-only until it is revoked."""
    data_set, revision = published_data_set(server, dx, data=b"stale prices")
    ids = {"DataSetId": data_set["Id"], "RevisionId": revision["Id"]}
    grant = dx.create_data_grant(Name="prices", GrantDistributionScope="NONE", ReceiverPrincipal=other_account,
                                 SourceDataSetId=data_set["Id"])
    dx_other.accept_data_grant(DataGrantArn=grant["Arn"])
    received = {"DataSetId": grant["DataSetId"], "RevisionId": revision["Id"]}
    assets = [a["Id"] for a in dx.list_revision_assets(**ids)["Assets"]]
    assert len(assets) == 1 and [a["Id"] for a in dx_other.list_revision_assets(**received)["Assets"]] == assets
    expect_error(dx, "DeleteAsset", "ConflictException", 409, AssetId=assets[0], **ids)

    dx.revoke_revision(RevocationComment="prices were wrong", **ids)
    expect_error(dx, "UpdateAsset", "ConflictException", 409, AssetId=assets[0], Name="renamed", **ids)
    for asset_id in assets:
        assert dx.delete_asset(AssetId=asset_id, **ids)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert dx.list_revision_assets(**ids)["Assets"] == []
    assert dx_other.list_revision_assets(**received)["Assets"] == []
    assert dx.get_revision(**ids)["Revoked"] is True
    expect_error(dx, "DeleteAsset", "ResourceNotFoundException", 404, AssetId=assets[0], **ids)
    dx.delete_revision(**ids)
    expect_error(dx, "GetRevision", "ResourceNotFoundException", 404, **ids)
