"""ListJobs / ListClusterJobs paging, tokens and the paginators."""

import pytest
from botocore.exceptions import ClientError

from snowball_helpers import create_address, create_job
from support import expect_error, make_client


@pytest.fixture
def twelve_jobs(snowball):
    address = create_address(snowball)
    return [create_job(snowball, address, Description=f"job {i}") for i in range(12)]


def test_pages_in_creation_order_without_token_on_the_last(snowball, twelve_jobs):
    first = snowball.list_jobs(MaxResults=5)
    assert [e["JobId"] for e in first["JobListEntries"]] == twelve_jobs[:5]
    second = snowball.list_jobs(MaxResults=5, NextToken=first["NextToken"])
    third = snowball.list_jobs(MaxResults=5, NextToken=second["NextToken"])
    assert [e["JobId"] for e in second["JobListEntries"] + third["JobListEntries"]] == twelve_jobs[5:]
    assert "NextToken" not in third
    everything = snowball.list_jobs()
    assert len(everything["JobListEntries"]) == 12 and "NextToken" not in everything
    assert snowball.list_jobs(MaxResults=0)["JobListEntries"] == everything["JobListEntries"]


def test_exact_multiple_has_no_empty_last_page(snowball, twelve_jobs):
    first = snowball.list_jobs(MaxResults=6)
    second = snowball.list_jobs(MaxResults=6, NextToken=first["NextToken"])
    assert len(second["JobListEntries"]) == 6 and "NextToken" not in second


@pytest.mark.parametrize("page_size,max_items", [(1, None), (5, None), (100, None), (5, 7), (3, 12)])
def test_paginator_walks_every_job_once(snowball, twelve_jobs, page_size, max_items):
    config = {"PageSize": page_size}
    if max_items:
        config["MaxItems"] = max_items
    seen = [e["JobId"] for page in snowball.get_paginator("list_jobs").paginate(PaginationConfig=config)
            for e in page["JobListEntries"]]
    assert seen == twelve_jobs[: max_items or 12]


def test_paginator_resumes_from_starting_token(snowball, twelve_jobs):
    paginator = snowball.get_paginator("list_jobs")
    first = paginator.paginate(PaginationConfig={"PageSize": 4, "MaxItems": 6}).build_full_result()
    assert [e["JobId"] for e in first["JobListEntries"]] == twelve_jobs[:6]
    rest = paginator.paginate(PaginationConfig={"PageSize": 4, "StartingToken": first["NextToken"]})
    assert [e["JobId"] for page in rest for e in page["JobListEntries"]] == twelve_jobs[6:]


def test_max_results_over_100_is_rejected_by_the_server(snowball):
    error = expect_error(snowball, "ListJobs", "ValidationException", 400, MaxResults=101)
    assert "less than or equal to 100" in error.response["Error"]["Message"]


@pytest.mark.parametrize("token", ["garbage", "eyJ4IjoxfQ.AAAAAAAAAAAAAAAAAAAAAA", "a" * 1024])
def test_forged_tokens_are_invalid(snowball, token):
    expect_error(snowball, "ListJobs", "InvalidNextTokenException", 400, NextToken=token)


def test_tokens_are_bound_to_account_and_operation(server, snowball, twelve_jobs, protocol):
    token = snowball.list_jobs(MaxResults=2)["NextToken"]
    stranger = make_client("snowball", server.url, "999999999999", protocol)
    with pytest.raises(ClientError) as caught:
        stranger.list_jobs(MaxResults=2, NextToken=token)
    assert caught.value.response["Error"]["Code"] == "InvalidNextTokenException"
    expect_error(snowball, "ListClusters", "InvalidNextTokenException", 400, NextToken=token)
    other_region = make_client("snowball", server.url, snowball._request_signer._credentials.access_key,
                               protocol, region="eu-west-1")
    expect_error(other_region, "ListJobs", "InvalidNextTokenException", 400, NextToken=token)


IRELAND = {"City": "Dublin", "StateOrProvince": "Dublin", "Country": "IE", "PostalCode": "D02"}


def _in_region(server, snowball, protocol, region):
    return make_client("snowball", server.url, snowball._request_signer._credentials.access_key, protocol,
                       region=region)


def test_list_jobs_in_a_us_region_shows_every_us_region(server, snowball, protocol):
    """The ListJobs API reference: called in a US region it lists the account's jobs of all US regions."""
    west, europe = _in_region(server, snowball, protocol, "us-west-2"), _in_region(server, snowball, protocol,
                                                                                    "eu-west-1")
    east_jobs = [create_job(snowball, create_address(snowball)) for _ in range(3)]
    west_jobs = [create_job(west, create_address(west)) for _ in range(3)]
    europe_job = create_job(europe, create_address(europe, **IRELAND))
    everything = sorted(east_jobs + west_jobs)
    for client in (snowball, west, _in_region(server, snowball, protocol, "us-east-2")):
        listed = [e["JobId"] for page in client.get_paginator("list_jobs").paginate(
            PaginationConfig={"PageSize": 2}) for e in page["JobListEntries"]]
        assert sorted(listed) == everything and len(listed) == 6
    # Creation order across the regions, as one list.
    assert [e["JobId"] for e in west.list_jobs()["JobListEntries"]] == east_jobs + west_jobs
    # A token handed out in one US region continues in another.
    token = snowball.list_jobs(MaxResults=4)["NextToken"]
    assert [e["JobId"] for e in west.list_jobs(NextToken=token)["JobListEntries"]] == west_jobs[1:]
    # Outside the US each region lists its own; jobs are still read in their own region.
    assert [e["JobId"] for e in europe.list_jobs()["JobListEntries"]] == [europe_job]
    expect_error(europe, "DescribeJob", "InvalidResourceException", 400, JobId=east_jobs[0])
    expect_error(west, "DescribeJob", "InvalidResourceException", 400, JobId=east_jobs[0])


def test_describe_addresses_in_a_us_region_shows_every_us_region(server, snowball, protocol):
    west, europe = _in_region(server, snowball, protocol, "us-west-1"), _in_region(server, snowball, protocol,
                                                                                    "eu-central-1")
    east_address, west_address = create_address(snowball), create_address(west)
    europe_address = create_address(europe, **IRELAND)
    for client in (snowball, west):
        assert [a["AddressId"] for a in client.describe_addresses()["Addresses"]] == [east_address, west_address]
    assert [a["AddressId"] for a in europe.describe_addresses()["Addresses"]] == [europe_address]


def test_list_clusters_stays_in_its_region(server, snowball, protocol):
    """Only ListJobs and DescribeAddresses are documented to span the US regions."""
    address = create_address(snowball)
    snowball.create_cluster(JobType="LOCAL_USE", AddressId=address, SnowballType="EDGE",
                            ShippingOption="SECOND_DAY")
    assert _in_region(server, snowball, protocol, "us-west-2").list_clusters()["ClusterListEntries"] == []


def test_token_survives_deletion_of_the_item_it_points_past(snowball, twelve_jobs):
    first = snowball.list_jobs(MaxResults=3)
    snowball.cancel_job(JobId=twelve_jobs[2])  # state changes do not move a job in the list
    rest = snowball.list_jobs(MaxResults=100, NextToken=first["NextToken"])
    assert [e["JobId"] for e in rest["JobListEntries"]] == twelve_jobs[3:]


def test_accounts_do_not_see_each_other(server, snowball, twelve_jobs, protocol):
    stranger = make_client("snowball", server.url, "999999999998", protocol)
    assert stranger.list_jobs()["JobListEntries"] == []
    with pytest.raises(ClientError) as caught:
        stranger.describe_job(JobId=twelve_jobs[0])
    assert caught.value.response["Error"]["Code"] == "InvalidResourceException"


def test_list_cluster_jobs_pages(snowball):
    address = create_address(snowball)
    cluster_id = snowball.create_cluster(JobType="LOCAL_USE", AddressId=address, SnowballType="EDGE",
                                         ShippingOption="SECOND_DAY", InitialClusterSize=5)["ClusterId"]
    pages = list(snowball.get_paginator("list_cluster_jobs").paginate(
        ClusterId=cluster_id, PaginationConfig={"PageSize": 2}))
    assert [len(p["JobListEntries"]) for p in pages] == [2, 2, 1]
    token = snowball.list_cluster_jobs(ClusterId=cluster_id, MaxResults=2)["NextToken"]
    other = snowball.create_cluster(JobType="LOCAL_USE", AddressId=address, SnowballType="EDGE",
                                    ShippingOption="SECOND_DAY")["ClusterId"]
    expect_error(snowball, "ListClusterJobs", "InvalidNextTokenException", 400, ClusterId=other, NextToken=token)


def test_walk_entries_match_each_jobs_description(server, snowball, protocol):
    """Every entry of a walk across US regions (merged pages) says what DescribeJob says of that job, its
    CreationDate included at millisecond precision (fractions below a millisecond are dropped, a whole second
    has none)."""
    west = _in_region(server, snowball, protocol, "us-west-2")
    addresses = {client: create_address(client) for client in (snowball, west)}
    created = []
    for i, step in enumerate([0.0015, 0.25, 1.0, 0.0004, 0.999, 0.5, 0.001]):
        server.advance(step)
        client = snowball if i % 2 else west
        extra = {"Description": f"walked {i}"} if i % 3 else {}
        created.append(create_job(client, addresses[client], **extra))
    walked = [e for page in west.get_paginator("list_jobs").paginate(PaginationConfig={"PageSize": 2})
              for e in page["JobListEntries"]]
    assert [e["JobId"] for e in walked] == created
    fractions = set()
    for entry in walked:
        described = west.describe_job(JobId=entry["JobId"])["JobMetadata"] if entry["JobId"] in created[::2] \
            else snowball.describe_job(JobId=entry["JobId"])["JobMetadata"]
        expected = {k: described[k] for k in ("JobId", "JobState", "JobType", "SnowballType", "CreationDate")}
        expected["IsMaster"] = False
        if described.get("Description"):
            expected["Description"] = described["Description"]
        assert entry == expected
        fractions.add(entry["CreationDate"].microsecond)
    assert len(fractions) > 2 and all(f % 1000 == 0 for f in fractions)
