"""ListJobs: limit, opaque markers, status filters, and the boto3 paginator walking every job once."""

import pytest

from glacier_helpers import HOUR, MINUTE, create_vault, expect_error, retrieve, upload


@pytest.fixture
def jobs_by_state(server, glacier):
    """A vault with 4 Succeeded, 3 Failed and 5 InProgress jobs, initiated in that order."""
    vault = create_vault(glacier)
    kept = upload(glacier, vault, b"kept")
    succeeded = [retrieve(glacier, vault, kept, Tier="Expedited") for _ in range(4)]
    doomed = upload(glacier, vault, b"doomed")
    failed = [retrieve(glacier, vault, doomed, Tier="Expedited") for _ in range(3)]
    glacier.delete_archive(vaultName=vault, archiveId=doomed)
    server.advance(5 * MINUTE)
    in_progress = [retrieve(glacier, vault, kept, Tier="Bulk") for _ in range(5)]
    return vault, {"Succeeded": succeeded, "Failed": failed, "InProgress": in_progress}


def _ids(response):
    return [job["JobId"] for job in response["JobList"]]


def test_list_jobs_in_initiation_order_with_full_descriptions(glacier, jobs_by_state):
    vault, by_state = jobs_by_state
    response = glacier.list_jobs(vaultName=vault)
    assert _ids(response) == by_state["Succeeded"] + by_state["Failed"] + by_state["InProgress"]
    assert "Marker" not in response   # the last page has no marker
    for job in response["JobList"]:
        described = glacier.describe_job(vaultName=vault, jobId=job["JobId"])
        described.pop("ResponseMetadata")
        assert job == described


@pytest.mark.parametrize("filters, wanted", [
    ({"statuscode": "Succeeded"}, ["Succeeded"]),
    ({"statuscode": "Failed"}, ["Failed"]),
    ({"statuscode": "InProgress"}, ["InProgress"]),
    ({"completed": "true"}, ["Succeeded", "Failed"]),
    ({"completed": "false"}, ["InProgress"]),
    ({"completed": "true", "statuscode": "Failed"}, ["Failed"]),
    ({"completed": "false", "statuscode": "Succeeded"}, []),
])
def test_list_jobs_filters(glacier, jobs_by_state, filters, wanted):
    vault, by_state = jobs_by_state
    response = glacier.list_jobs(vaultName=vault, **filters)
    assert _ids(response) == [job for state in wanted for job in by_state[state]]
    assert all(job["Completed"] == (job["StatusCode"] != "InProgress") for job in response["JobList"])


def test_list_jobs_pages_with_limit_and_marker(glacier, jobs_by_state):
    vault, by_state = jobs_by_state
    every = by_state["Succeeded"] + by_state["Failed"] + by_state["InProgress"]
    seen, marker = [], None
    while True:
        params = {"vaultName": vault, "limit": "5"}
        if marker:
            params["marker"] = marker
        page = glacier.list_jobs(**params)
        assert len(page["JobList"]) <= 5
        seen += _ids(page)
        marker = page.get("Marker")
        if not marker:
            break
    assert seen == every
    completed = glacier.list_jobs(vaultName=vault, completed="true", limit="2")
    rest = glacier.list_jobs(vaultName=vault, completed="true", limit="2", marker=completed["Marker"])
    assert _ids(completed) + _ids(rest) == every[:4]
    # More than 50 is served 50 at a time.
    assert _ids(glacier.list_jobs(vaultName=vault, limit="1000")) == every


def test_paginator_walks_every_job_once(glacier, jobs_by_state):
    vault, by_state = jobs_by_state
    every = by_state["Succeeded"] + by_state["Failed"] + by_state["InProgress"]
    paginator = glacier.get_paginator("list_jobs")
    pages = list(paginator.paginate(vaultName=vault, PaginationConfig={"PageSize": 3}))
    assert [job for page in pages for job in _ids(page)] == every
    assert len(pages) == 4
    first = paginator.paginate(vaultName=vault, PaginationConfig={"PageSize": 2, "MaxItems": 5}).build_full_result()
    assert _ids(first) == every[:5]
    rest = paginator.paginate(vaultName=vault, PaginationConfig={"PageSize": 2, "StartingToken": first["NextToken"]})
    assert [job for page in rest for job in _ids(page)] == every[5:]
    completed = paginator.paginate(vaultName=vault, completed="true", PaginationConfig={"PageSize": 2})
    assert [job for page in completed for job in _ids(page)] == every[:7]


def test_jobs_move_from_in_progress_to_succeeded_in_the_listing(server, glacier, jobs_by_state):
    vault, by_state = jobs_by_state
    assert len(glacier.list_jobs(vaultName=vault, completed="false")["JobList"]) == 5
    server.advance(12 * HOUR)
    assert glacier.list_jobs(vaultName=vault, completed="false")["JobList"] == []
    assert _ids(glacier.list_jobs(vaultName=vault, statuscode="Succeeded")) == \
        by_state["Succeeded"] + by_state["InProgress"]


@pytest.mark.parametrize("params, message", [
    ({"statuscode": "finished"}, "The job status code is not valid: finished"),
    ({"completed": "maybe"}, "completed"),
    ({"limit": "0"}, "limit"),
    ({"limit": "-5"}, "limit"),
    ({"limit": "fifty"}, "limit"),
    ({"marker": "forged"}, "marker"),
])
def test_list_jobs_rejects_bad_values(glacier, params, message):
    vault = create_vault(glacier)
    error = expect_error(glacier, "ListJobs", "InvalidParameterValueException", 400, vaultName=vault, **params)
    assert message in error.response["Error"]["Message"]


def test_markers_belong_to_their_listing(glacier, jobs_by_state):
    vault, _ = jobs_by_state
    marker = glacier.list_jobs(vaultName=vault, limit="2")["Marker"]
    expect_error(glacier, "ListJobs", "InvalidParameterValueException", 400, vaultName=vault, marker=marker,
                 statuscode="Failed")
    create_vault(glacier, "other")
    expect_error(glacier, "ListJobs", "InvalidParameterValueException", 400, vaultName="other", marker=marker)
