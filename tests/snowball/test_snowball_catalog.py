"""Long-term pricing, service versions, compatible images, pickup locations."""

from datetime import timedelta

import pytest

from snowball_helpers import create_address, create_job
from support import expect_error


def test_long_term_pricing_lifecycle(snowball):
    pricing_id = snowball.create_long_term_pricing(LongTermPricingType="OneYear", SnowballType="EDGE",
                                                   IsLongTermPricingAutoRenew=True)["LongTermPricingId"]
    assert pricing_id.startswith("LTPID") and len(pricing_id) == 41
    job_id = create_job(snowball, create_address(snowball), LongTermPricingId=pricing_id)
    entry = snowball.list_long_term_pricing()["LongTermPricingEntries"][0]
    assert entry["LongTermPricingId"] == pricing_id and entry["JobIds"] == [job_id]
    assert entry["CurrentActiveJob"] == job_id and entry["IsLongTermPricingAutoRenew"] is True
    assert entry["LongTermPricingEndDate"] - entry["LongTermPricingStartDate"] == timedelta(days=365)
    replacement = create_job(snowball, create_address(snowball))
    snowball.update_long_term_pricing(LongTermPricingId=pricing_id, ReplacementJob=replacement,
                                      IsLongTermPricingAutoRenew=False)
    entry = snowball.list_long_term_pricing()["LongTermPricingEntries"][0]
    assert entry["ReplacementJob"] == replacement and entry["IsLongTermPricingAutoRenew"] is False
    assert snowball.describe_job(JobId=job_id)["JobMetadata"]["LongTermPricingId"] == pricing_id


def test_long_term_pricing_errors(snowball):
    missing = "LTPID00000000-0000-0000-0000-000000000000"
    expect_error(snowball, "UpdateLongTermPricing", "InvalidResourceException", 400, LongTermPricingId=missing)
    expect_error(snowball, "CreateJob", "InvalidResourceException", 400, JobType="IMPORT",
                 AddressId=create_address(snowball), RoleARN="arn:aws:iam::123456789012:role/r",
                 LongTermPricingId=missing)
    pricing_id = snowball.create_long_term_pricing(LongTermPricingType="OneMonth",
                                                   SnowballType="SNC1_SSD")["LongTermPricingId"]
    expect_error(snowball, "CreateJob", "InvalidInputCombinationException", 400, JobType="IMPORT",
                 AddressId=create_address(snowball), RoleARN="arn:aws:iam::123456789012:role/r",
                 SnowballType="EDGE", LongTermPricingId=pricing_id)


def test_service_versions(snowball):
    kubernetes = snowball.list_service_versions(ServiceName="KUBERNETES")
    assert kubernetes["ServiceName"] == "KUBERNETES" and {"Version": "1.24"} in kubernetes["ServiceVersions"]
    eks = snowball.list_service_versions(ServiceName="EKS_ANYWHERE", DependentServices=[
        {"ServiceName": "KUBERNETES", "ServiceVersion": {"Version": "1.28"}}])
    assert eks["ServiceVersions"] == [{"Version": "0.17"}]
    assert eks["DependentServices"][0]["ServiceVersion"] == {"Version": "1.28"}
    first = snowball.list_service_versions(ServiceName="KUBERNETES", MaxResults=3)
    rest = snowball.list_service_versions(ServiceName="KUBERNETES", NextToken=first["NextToken"])
    assert first["ServiceVersions"] + rest["ServiceVersions"] == kubernetes["ServiceVersions"]
    expect_error(snowball, "ListServiceVersions", "InvalidNextTokenException", 400, ServiceName="EKS_ANYWHERE",
                 NextToken=first["NextToken"])
    expect_error(snowball, "ListServiceVersions", "ValidationException", 400, ServiceName="DOCKER")


def test_compatible_images_paginate(snowball):
    everything = snowball.list_compatible_images()["CompatibleImages"]
    assert everything and all(i["AmiId"].startswith("ami-") for i in everything)
    pages = snowball.get_paginator("list_compatible_images").paginate(PaginationConfig={"PageSize": 2})
    assert [i for p in pages for i in p["CompatibleImages"]] == everything


def test_pickup_locations(snowball):
    addresses = snowball.list_pickup_locations()["Addresses"]
    assert addresses and all(a["Type"] == "CUST_PICKUP" and a["Country"] == "US" for a in addresses)
    first = snowball.list_pickup_locations(MaxResults=1)
    assert first["Addresses"] == addresses[:1] and first["NextToken"]
    expect_error(snowball, "ListPickupLocations", "InvalidResourceException", 400, NextToken="forged")


@pytest.mark.parametrize("paginator", ["list_jobs", "describe_addresses", "list_cluster_jobs", "list_clusters",
                                       "list_compatible_images", "list_long_term_pricing"])
def test_all_six_paginators_exist_and_end(snowball, paginator):
    kwargs = {}
    if paginator == "list_cluster_jobs":
        address = create_address(snowball)
        kwargs["ClusterId"] = snowball.create_cluster(JobType="LOCAL_USE", AddressId=address, SnowballType="EDGE",
                                                      ShippingOption="SECOND_DAY")["ClusterId"]
    pages = list(snowball.get_paginator(paginator).paginate(**kwargs, PaginationConfig={"PageSize": 1}))
    assert pages and "NextToken" not in pages[-1]


def test_the_original_snowball_only_where_aws_offers_it(server, account, snowball):
    """STANDARD (T50/T80) "is only available in the Ningxia, Beijing, and Singapore" Regions (CreateJob API
    reference); other device types are not limited to Regions."""
    from support import make_client

    expect_error(snowball, "CreateJob", "InvalidInputCombinationException", 400, JobType="IMPORT",
                 AddressId=create_address(snowball), RoleARN="arn:aws:iam::123456789012:role/r",
                 SnowballType="STANDARD", SnowballCapacityPreference="T80")
    singapore = make_client("snowball", server.url, account, region="ap-southeast-1")
    address = create_address(singapore, Country="SG", StateOrProvince="Singapore", City="Singapore",
                             PostalCode="018956")
    job_id = create_job(singapore, address, SnowballType="STANDARD", SnowballCapacityPreference="T80")
    assert singapore.describe_job(JobId=job_id)["JobMetadata"]["SnowballType"] == "STANDARD"
