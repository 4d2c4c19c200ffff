from datetime import datetime

from snowball_helpers import DAY, HOUR, create_address, state
from support import expect_error


def create_cluster(client, address_id, **extra):
    params = dict(JobType="LOCAL_USE", AddressId=address_id, SnowballType="EDGE", ShippingOption="SECOND_DAY",
                  Description="MyClustrer")
    params.update(extra)
    return client.create_cluster(**params)


def test_list_cluster_jobs_reference_example(snowball):
    """The list_cluster_jobs reference example: five EDGE LOCAL_USE nodes in New."""
    created = create_cluster(snowball, create_address(snowball), InitialClusterSize=5)
    assert created["ClusterId"].startswith("CID") and len(created["ClusterId"]) == 39
    assert len(created["JobListEntries"]) == 5
    entries = snowball.list_cluster_jobs(ClusterId=created["ClusterId"])["JobListEntries"]
    assert [e["Description"] for e in entries] == [f"MyClustrer-node-00{i}" for i in range(1, 6)]
    for entry in entries:
        assert entry["JobState"] == "New" and entry["JobType"] == "LOCAL_USE"
        assert entry["SnowballType"] == "EDGE" and entry["IsMaster"] is False
        assert isinstance(entry["CreationDate"], datetime)
    assert "NextToken" not in snowball.list_cluster_jobs(ClusterId=created["ClusterId"])


def test_cluster_waits_for_its_nodes_then_ships(server, snowball):
    address = create_address(snowball)
    cluster_id = create_cluster(snowball, address)["ClusterId"]
    meta = snowball.describe_cluster(ClusterId=cluster_id)["ClusterMetadata"]
    assert meta["ClusterState"] == "AwaitingQuorum" and meta["JobType"] == "LOCAL_USE"
    nodes = [snowball.create_job(ClusterId=cluster_id)["JobId"] for _ in range(4)]
    server.advance(3 * DAY)
    assert all(state(snowball, n) == "New" for n in nodes)  # no quorum, nothing ships
    nodes.append(snowball.create_job(ClusterId=cluster_id)["JobId"])
    assert snowball.describe_cluster(ClusterId=cluster_id)["ClusterMetadata"]["ClusterState"] == "Pending"
    expect_error(snowball, "CreateJob", "ClusterLimitExceededException", 400, ClusterId=cluster_id)
    node_meta = snowball.describe_job(JobId=nodes[0])["JobMetadata"]
    assert node_meta["ClusterId"] == cluster_id and node_meta["AddressId"] == address
    server.advance(10 * DAY)
    assert snowball.describe_cluster(ClusterId=cluster_id)["ClusterMetadata"]["ClusterState"] == "InUse"
    server.advance(30 * DAY)
    assert snowball.describe_cluster(ClusterId=cluster_id)["ClusterMetadata"]["ClusterState"] == "Complete"
    assert all(state(snowball, n) == "Complete" for n in nodes)


def test_cancelled_nodes_do_not_count_towards_the_cluster(snowball):
    cluster_id = create_cluster(snowball, create_address(snowball),
                                OnDeviceServiceConfiguration={"S3OnDeviceService": {"ServiceSize": 3}})["ClusterId"]
    snowball.create_job(ClusterId=cluster_id)
    snowball.cancel_job(JobId=snowball.create_job(ClusterId=cluster_id)["JobId"])
    snowball.create_job(ClusterId=cluster_id)
    assert snowball.describe_cluster(ClusterId=cluster_id)["ClusterMetadata"]["ClusterState"] == "AwaitingQuorum"
    snowball.create_job(ClusterId=cluster_id)
    assert snowball.describe_cluster(ClusterId=cluster_id)["ClusterMetadata"]["ClusterState"] == "Pending"


def test_no_nodes_join_a_cancelled_cluster(snowball):
    cluster_id = create_cluster(snowball, create_address(snowball), InitialClusterSize=2,
                                OnDeviceServiceConfiguration={"S3OnDeviceService": {"ServiceSize": 3}},
                                ForceCreateJobs=True)["ClusterId"]
    assert snowball.describe_cluster(ClusterId=cluster_id)["ClusterMetadata"]["ClusterState"] == "Pending"
    cluster_id = create_cluster(snowball, create_address(snowball))["ClusterId"]
    snowball.cancel_cluster(ClusterId=cluster_id)
    assert snowball.describe_cluster(ClusterId=cluster_id)["ClusterMetadata"]["ClusterState"] == "Cancelled"
    error = expect_error(snowball, "CreateJob", "InvalidResourceException", 400, ClusterId=cluster_id)
    assert "Cancelled" in error.response["Error"]["Message"]


def test_cluster_limit_exceeded(snowball):
    cluster_id = create_cluster(snowball, create_address(snowball), InitialClusterSize=3)["ClusterId"]
    # The cluster has all its nodes at its initial size: it no longer awaits any.
    assert snowball.describe_cluster(ClusterId=cluster_id)["ClusterMetadata"]["ClusterState"] == "Pending"
    expect_error(snowball, "CreateJob", "ClusterLimitExceededException", 400, ClusterId=cluster_id)


def test_update_and_cancel_cluster_only_awaiting_quorum(server, snowball):
    address = create_address(snowball)
    cluster_id = create_cluster(snowball, address)["ClusterId"]
    node = snowball.create_job(ClusterId=cluster_id)["JobId"]
    other = create_address(snowball, Name="Other")
    snowball.update_cluster(ClusterId=cluster_id, Description="renamed", AddressId=other)
    meta = snowball.describe_cluster(ClusterId=cluster_id)["ClusterMetadata"]
    assert meta["Description"] == "renamed" and meta["AddressId"] == other
    assert snowball.describe_job(JobId=node)["JobMetadata"]["AddressId"] == other
    snowball.cancel_cluster(ClusterId=cluster_id)
    assert state(snowball, node) == "Cancelled"
    expect_error(snowball, "UpdateCluster", "InvalidJobStateException", 400, ClusterId=cluster_id, Description="x")
    expect_error(snowball, "CancelCluster", "InvalidJobStateException", 400, ClusterId=cluster_id)


def test_cluster_rules(snowball):
    address = create_address(snowball)
    expect_error(snowball, "CreateCluster", "InvalidInputCombinationException", 400, JobType="IMPORT",
                 AddressId=address, SnowballType="EDGE", ShippingOption="SECOND_DAY")
    expect_error(snowball, "CreateCluster", "InvalidInputCombinationException", 400, JobType="LOCAL_USE",
                 AddressId=address, SnowballType="SNC1_HDD", ShippingOption="SECOND_DAY")
    expect_error(snowball, "CreateCluster", "InvalidInputCombinationException", 400, JobType="LOCAL_USE",
                 AddressId=address, SnowballType="EDGE", ShippingOption="SECOND_DAY", InitialClusterSize=4,
                 OnDeviceServiceConfiguration={"S3OnDeviceService": {"ServiceSize": 3}})
    missing = "CID00000000-0000-0000-0000-000000000000"
    for operation in ("DescribeCluster", "CancelCluster", "ListClusterJobs"):
        error = expect_error(snowball, operation, "InvalidResourceException", 400, ClusterId=missing)
        assert error.response["ResourceType"] == "CLUSTER"
    expect_error(snowball, "CreateJob", "InvalidResourceException", 400, ClusterId=missing)


def test_list_clusters(snowball):
    address = create_address(snowball)
    ids = [create_cluster(snowball, address, Description=f"c{i}")["ClusterId"] for i in range(3)]
    pages = list(snowball.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["ClusterListEntries"]) for p in pages] == [2, 1]
    assert [c["ClusterId"] for p in pages for c in p["ClusterListEntries"]] == ids
    assert pages[0]["ClusterListEntries"][0]["ClusterState"] == "AwaitingQuorum"
