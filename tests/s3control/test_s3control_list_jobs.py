"""ListJobs: newest first, the JobStatuses filter, MaxResults and keyset pages."""

import pytest

from s3control_helpers import MINUTE, advance_until, create_job, expect_error, s3control_client


def list_all(client, account, page_size, **filters):
    """Every job, page by page; also returns the page sizes seen."""
    ids, sizes, token = [], [], None
    while True:
        params = dict(AccountId=account, MaxResults=page_size, **filters)
        if token:
            params["NextToken"] = token
        page = client.list_jobs(**params)
        ids += [j["JobId"] for j in page["Jobs"]]
        sizes.append(len(page["Jobs"]))
        token = page.get("NextToken")
        if not token:
            return ids, sizes


def test_empty_list(s3c, account):
    page = s3c.list_jobs(AccountId=account)
    assert page["Jobs"] == [] and "NextToken" not in page


def test_newest_first_in_keyset_pages(server, s3c, account):
    created = []
    for _ in range(7):
        created.append(create_job(s3c, account))
        server.advance(1)
    ids, sizes = list_all(s3c, account, 3)
    assert ids == created[::-1] and sizes == [3, 3, 1]
    assert list_all(s3c, account, 1000)[0] == created[::-1]
    # A token stays good when the job it points past is gone; pages continue after it.
    first = s3c.list_jobs(AccountId=account, MaxResults=2)
    s3c.update_job_status(AccountId=account, JobId=first["Jobs"][1]["JobId"], RequestedJobStatus="Cancelled")
    rest = s3c.list_jobs(AccountId=account, MaxResults=10, NextToken=first["NextToken"])
    assert [j["JobId"] for j in rest["Jobs"]] == created[::-1][2:]


def test_entries(server, s3c, account):
    job_id = create_job(s3c, account, Description="nightly", Priority=7)
    advance_until(server, s3c, account, job_id, "Complete", step=5)
    [entry] = s3c.list_jobs(AccountId=account)["Jobs"]
    assert entry["JobId"] == job_id and entry["Description"] == "nightly" and entry["Priority"] == 7
    assert entry["Operation"] == "S3PutObjectTagging" and entry["Status"] == "Complete"
    assert entry["TerminationDate"] >= entry["CreationTime"]
    assert entry["ProgressSummary"]["NumberOfTasksSucceeded"] == entry["ProgressSummary"]["TotalNumberOfTasks"] == 10


def test_status_filter(server, s3c, account):
    complete = create_job(s3c, account)
    advance_until(server, s3c, account, complete, "Complete", step=5)
    cancelled = create_job(s3c, account)
    s3c.update_job_status(AccountId=account, JobId=cancelled, RequestedJobStatus="Cancelled")
    suspended = create_job(s3c, account, ConfirmationRequired=True)
    advance_until(server, s3c, account, suspended, "Suspended", step=5)
    new = create_job(s3c, account)

    def listed(*statuses, page_size=1000):
        return set(list_all(s3c, account, page_size, JobStatuses=list(statuses))[0])

    assert listed("Complete") == {complete}
    assert listed("Complete", "Cancelled") == {complete, cancelled}
    assert listed("Suspended", "New", page_size=1) == {suspended, new}
    assert listed("Active", "Failed") == set()
    everything = ["Active", "Cancelled", "Cancelling", "Complete", "Completing", "Failed", "Failing", "New",
                  "Paused", "Pausing", "Preparing", "Ready", "Suspended"]
    assert listed(*everything) == {complete, cancelled, suspended, new}


def test_max_results_zero_means_the_default(s3c, account):
    job_id = create_job(s3c, account)
    assert [j["JobId"] for j in s3c.list_jobs(AccountId=account, MaxResults=0)["Jobs"]] == [job_id]


@pytest.mark.parametrize("params", [{"MaxResults": 1001}, {"MaxResults": -1}, {"JobStatuses": ["Running"]}])
def test_invalid_request(raw_s3c, account, params):
    expect_error(raw_s3c, "ListJobs", "InvalidRequestException", 400, AccountId=account, **params)


def test_invalid_tokens(server, s3c, account):
    for _ in range(3):
        create_job(s3c, account)
    token = s3c.list_jobs(AccountId=account, MaxResults=1)["NextToken"]
    expect_error(s3c, "ListJobs", "InvalidNextTokenException", 400, AccountId=account, NextToken="forged-token")
    # A token belongs to its filter and its account.
    expect_error(s3c, "ListJobs", "InvalidNextTokenException", 400, AccountId=account, NextToken=token,
                 JobStatuses=["New"])
    other = str(int(account) + 500_000_000)
    other_client = s3control_client(server.url, other)
    expect_error(other_client, "ListJobs", "InvalidNextTokenException", 400, AccountId=other, NextToken=token)


def test_accounts_and_regions_are_separate(server, s3c, account):
    job_id = create_job(s3c, account)
    west = s3control_client(server.url, account, region="us-west-2")
    assert west.list_jobs(AccountId=account)["Jobs"] == []
    expect_error(west, "DescribeJob", "NotFoundException", 404, AccountId=account, JobId=job_id)
    other = str(int(account) + 600_000_000)
    assert s3control_client(server.url, other).list_jobs(AccountId=other)["Jobs"] == []
    server.advance(MINUTE)
    assert [j["JobId"] for j in s3c.list_jobs(AccountId=account)["Jobs"]] == [job_id]
