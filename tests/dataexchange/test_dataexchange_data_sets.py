"""Data sets, revisions, assets and tags: the resources jobs work on."""

import re

import pytest

from dataexchange_helpers import assets_of, create_data_set, create_revision, import_file
from dataexchange_helpers import dx  # noqa: F401  (fixture)
from support import expect_error

ID = re.compile(r"[0-9a-f]{32}")


def test_data_set_round_trip_with_ids_arns_and_tags(dx, account):
    created = create_data_set(dx, Tags={"team": "pricing"})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert ID.fullmatch(created["Id"])
    assert created["Arn"] == f"arn:aws:dataexchange:us-east-1:{account}:data-sets/{created['Id']}"
    assert created["Origin"] == "OWNED" and created["Tags"] == {"team": "pricing"}
    got = dx.get_data_set(DataSetId=created["Id"])
    assert {k: got[k] for k in ("Name", "Description", "AssetType", "Origin")} == {
        "Name": "Prices", "Description": "Prices data", "AssetType": "S3_SNAPSHOT", "Origin": "OWNED"}
    updated = dx.update_data_set(DataSetId=created["Id"], Name="Prices v2")
    assert updated["Name"] == "Prices v2" and updated["Description"] == "Prices data"
    dx.delete_data_set(DataSetId=created["Id"])
    expect_error(dx, "GetDataSet", "ResourceNotFoundException", 404, DataSetId=created["Id"])


def test_not_found_names_the_resource(dx):
    error = expect_error(dx, "GetDataSet", "ResourceNotFoundException", 404, DataSetId="0" * 32)
    assert error.response["ResourceId"] == "0" * 32 and error.response["ResourceType"] == "DATA_SET"
    data_set = create_data_set(dx)
    error = expect_error(dx, "GetRevision", "ResourceNotFoundException", 404, DataSetId=data_set["Id"],
                         RevisionId="1" * 32)
    assert error.response["ResourceType"] == "REVISION"
    assert error.response["Error"]["Message"]


def test_malformed_ids_and_bounds_are_validation_errors(dx):
    expect_error(dx, "GetDataSet", "ValidationException", 400, DataSetId="short")
    expect_error(dx, "ListDataSets", "ValidationException", 400, MaxResults=201)
    expect_error(dx, "ListDataSets", "ValidationException", 400, Origin="BORROWED")
    expect_error(dx, "CreateDataSet", "ValidationException", 400, AssetType="S3_SNAPSHOT", Name="x" * 257,
                 Description="d")
    expect_error(dx, "CreateDataSet", "ValidationException", 400, AssetType="FLOPPY_DISK", Name="n",
                 Description="d")
    expect_error(dx, "ListDataSets", "ValidationException", 400, NextToken="forged.token")


def test_list_data_sets_newest_first_by_origin_with_pages(dx):
    ids = [create_data_set(dx, name=f"set-{i}")["Id"] for i in range(5)]
    first = dx.list_data_sets(MaxResults=2)
    assert [d["Id"] for d in first["DataSets"]] == ids[::-1][:2] and first["NextToken"]
    pages = list(dx.get_paginator("list_data_sets").paginate(Origin="OWNED", PaginationConfig={"PageSize": 2}))
    assert [d["Id"] for p in pages for d in p["DataSets"]] == ids[::-1]
    assert "NextToken" not in pages[-1]
    assert dx.list_data_sets(Origin="ENTITLED")["DataSets"] == []


def test_revision_finalize_needs_an_asset_and_makes_it_read_only(server, dx):
    data_set = create_data_set(dx)
    revision = create_revision(dx, data_set["Id"], Comment="first drop", Tags={"k": "v"})
    assert revision["Finalized"] is False and revision["Tags"] == {"k": "v"}
    ids = dict(DataSetId=data_set["Id"], RevisionId=revision["Id"])
    expect_error(dx, "UpdateRevision", "ValidationException", 400, Finalized=True, **ids)
    import_file(server, dx, data_set["Id"], revision["Id"], b"hello")
    asset_id = assets_of(dx, data_set["Id"], revision["Id"])[0]["Id"]
    finalized = dx.update_revision(Finalized=True, **ids)
    assert finalized["Finalized"] is True
    error = expect_error(dx, "DeleteAsset", "ConflictException", 409, AssetId=asset_id, **ids)
    assert error.response["ResourceType"] == "ASSET" and error.response["ResourceId"] == asset_id
    expect_error(dx, "UpdateAsset", "ConflictException", 409, AssetId=asset_id, Name="renamed", **ids)
    expect_error(dx, "UpdateRevision", "ConflictException", 409, Comment="too late", **ids)
    expect_error(dx, "DeleteRevision", "ConflictException", 409, **ids)
    # Unfinalizing makes it editable again.
    assert dx.update_revision(Finalized=False, Comment="second thoughts", **ids)["Comment"] == "second thoughts"
    assert dx.update_asset(AssetId=asset_id, Name="renamed.csv", **ids)["Name"] == "renamed.csv"
    dx.delete_asset(AssetId=asset_id, **ids)
    assert assets_of(dx, data_set["Id"], revision["Id"]) == []
    dx.delete_revision(**ids)
    expect_error(dx, "GetRevision", "ResourceNotFoundException", 404, **ids)


def test_revoke_revision(server, dx):
    data_set = create_data_set(dx)
    revision = create_revision(dx, data_set["Id"])
    ids = dict(DataSetId=data_set["Id"], RevisionId=revision["Id"])
    expect_error(dx, "RevokeRevision", "ConflictException", 409, RevocationComment="bad data published", **ids)
    import_file(server, dx, data_set["Id"], revision["Id"], b"oops")
    dx.update_revision(Finalized=True, **ids)
    expect_error(dx, "RevokeRevision", "ValidationException", 400, RevocationComment="x" * 513, **ids)
    revoked = dx.revoke_revision(RevocationComment="bad data published", **ids)
    assert revoked["Revoked"] is True and revoked["RevocationComment"] == "bad data published"
    assert revoked["RevokedAt"] and dx.get_revision(**ids)["Revoked"] is True
    expect_error(dx, "RevokeRevision", "ConflictException", 409, RevocationComment="bad data published", **ids)
    expect_error(dx, "UpdateRevision", "ConflictException", 409, Finalized=False, **ids)
    # Revoked revisions may be deleted.
    dx.delete_revision(**ids)


def test_revisions_list_newest_first(dx):
    data_set = create_data_set(dx)
    ids = [create_revision(dx, data_set["Id"])["Id"] for _ in range(3)]
    pages = dx.get_paginator("list_data_set_revisions").paginate(DataSetId=data_set["Id"],
                                                                  PaginationConfig={"PageSize": 2})
    assert [r["Id"] for p in pages for r in p["Revisions"]] == ids[::-1]
    expect_error(dx, "ListDataSetRevisions", "ResourceNotFoundException", 404, DataSetId="a" * 32)


def test_assets_list_every_asset_once_in_descending_id_order(server, dx):
    data_set = create_data_set(dx)
    revision = create_revision(dx, data_set["Id"])
    for index in range(3):
        import_file(server, dx, data_set["Id"], revision["Id"], f"row {index}".encode(), name=f"part-{index}.csv")
    assets = assets_of(dx, data_set["Id"], revision["Id"])
    assert sorted(a["Name"] for a in assets) == ["part-0.csv", "part-1.csv", "part-2.csv"]
    assert [a["Id"] for a in assets] == sorted((a["Id"] for a in assets), reverse=True)
    got = dx.get_asset(DataSetId=data_set["Id"], RevisionId=revision["Id"], AssetId=assets[0]["Id"])
    assert got["AssetDetails"]["S3SnapshotAsset"]["Size"] == 5.0 and got["Tags"] == {}


def test_tags_by_arn(dx, account):
    data_set = create_data_set(dx)
    revision = create_revision(dx, data_set["Id"])
    for arn in (data_set["Arn"], revision["Arn"]):
        dx.tag_resource(ResourceArn=arn, Tags={"a": "1", "b": "2"})
        dx.untag_resource(ResourceArn=arn, TagKeys=["a"])
        assert dx.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"b": "2"}
    assert dx.get_data_set(DataSetId=data_set["Id"])["Tags"] == {"b": "2"}
    expect_error(dx, "ListTagsForResource", "ValidationException", 400, ResourceArn="arn:aws:s3:::bucket")
    gone = f"arn:aws:dataexchange:us-east-1:{account}:data-sets/{'f' * 32}"
    expect_error(dx, "TagResource", "ValidationException", 400, ResourceArn=gone, Tags={"a": "1"})
    foreign = f"arn:aws:dataexchange:us-east-1:999999999999:data-sets/{data_set['Id']}"
    expect_error(dx, "ListTagsForResource", "AccessDeniedException", 403, ResourceArn=foreign)
    expect_error(dx, "TagResource", "ValidationException", 400, ResourceArn=data_set["Arn"],
                 Tags={"aws:reserved": "x"})


@pytest.mark.parametrize("asset_type", ["REDSHIFT_DATA_SHARE", "API_GATEWAY_API", "S3_DATA_ACCESS",
                                        "LAKE_FORMATION_DATA_PERMISSION"])
def test_every_asset_type_makes_a_data_set(dx, asset_type):
    assert create_data_set(dx, asset_type=asset_type)["AssetType"] == asset_type
