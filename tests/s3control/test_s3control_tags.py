"""Job tags: Get/Put/DeleteJobTagging, and TagResource/UntagResource/ListTagsForResource on job ARNs."""

import uuid

import pytest

from s3control_helpers import TAG_RESOURCE_ERRORS, create_job, describe, expect_error, s3control_client


def tags_of(client, account, job_id):
    return client.get_job_tagging(AccountId=account, JobId=job_id)["Tags"]


def test_put_replaces_and_delete_removes(s3c, account):
    job_id = create_job(s3c, account, Tags=[{"Key": "a", "Value": "1"}])
    assert tags_of(s3c, account, job_id) == [{"Key": "a", "Value": "1"}]
    replacement = [{"Key": "b", "Value": "2"}, {"Key": "c", "Value": ""}]
    s3c.put_job_tagging(AccountId=account, JobId=job_id, Tags=replacement)
    assert tags_of(s3c, account, job_id) == replacement
    s3c.delete_job_tagging(AccountId=account, JobId=job_id)
    assert tags_of(s3c, account, job_id) == []
    s3c.put_job_tagging(AccountId=account, JobId=job_id, Tags=replacement)
    s3c.put_job_tagging(AccountId=account, JobId=job_id, Tags=[])   # an empty set removes every tag
    assert tags_of(s3c, account, job_id) == []


def test_at_most_50_tags(s3c, account):
    job_id = create_job(s3c, account)
    fifty = [{"Key": f"key-{i}", "Value": str(i)} for i in range(50)]
    s3c.put_job_tagging(AccountId=account, JobId=job_id, Tags=fifty)
    expect_error(s3c, "PutJobTagging", "TooManyTagsException", 400, AccountId=account, JobId=job_id,
                 Tags=fifty + [{"Key": "one-more", "Value": "x"}])
    assert tags_of(s3c, account, job_id) == fifty


@pytest.mark.parametrize("tags", [
    [{"Key": "same", "Value": "1"}, {"Key": "same", "Value": "2"}],
    [{"Key": "bad<key>", "Value": "v"}],
    [{"Key": "k", "Value": "no;semicolons"}],
    [{"Key": "x" * 129, "Value": "v"}],
])
def test_invalid_tags(raw_s3c, account, tags):
    job_id = create_job(raw_s3c, account, Tags=[{"Key": "kept", "Value": "yes"}])
    expect_error(raw_s3c, "PutJobTagging", "InvalidTag", 400, AccountId=account, JobId=job_id, Tags=tags)
    assert tags_of(raw_s3c, account, job_id) == [{"Key": "kept", "Value": "yes"}]


def test_tag_resource_on_a_job_arn(s3c, account):
    job_id = create_job(s3c, account, Tags=[{"Key": "a", "Value": "1"}])
    arn = describe(s3c, account, job_id)["JobArn"]
    s3c.tag_resource(AccountId=account, ResourceArn=arn, Tags=[{"Key": "a", "Value": "updated"},
                                                               {"Key": "b", "Value": "2"}])
    assert s3c.list_tags_for_resource(AccountId=account, ResourceArn=arn)["Tags"] == [
        {"Key": "a", "Value": "updated"}, {"Key": "b", "Value": "2"}]
    s3c.untag_resource(AccountId=account, ResourceArn=arn, TagKeys=["a", "not-there"])
    assert s3c.list_tags_for_resource(AccountId=account, ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    assert tags_of(s3c, account, job_id) == [{"Key": "b", "Value": "2"}]


def test_tag_resource_keeps_the_limit(s3c, account):
    job_id = create_job(s3c, account, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(30)])
    arn = describe(s3c, account, job_id)["JobArn"]
    expect_error(s3c, "TagResource", "TooManyTagsException", 400, allowed=TAG_RESOURCE_ERRORS, AccountId=account,
                 ResourceArn=arn, Tags=[{"Key": f"n{i}", "Value": "v"} for i in range(21)])
    assert len(s3c.list_tags_for_resource(AccountId=account, ResourceArn=arn)["Tags"]) == 30


def test_tag_resource_errors(server, s3c, raw_s3c, account):
    job_id = create_job(s3c, account)
    missing = f"arn:aws:s3:us-east-1:{account}:job/{uuid.uuid4()}"
    for operation, extra in [("TagResource", {"Tags": [{"Key": "k", "Value": "v"}]}),
                             ("UntagResource", {"TagKeys": ["k"]}), ("ListTagsForResource", {})]:
        expect_error(s3c, operation, "NotFoundException", 404, allowed=TAG_RESOURCE_ERRORS, AccountId=account,
                     ResourceArn=missing, **extra)
    # Another region's job is not here; another account's ARN is not the caller's to touch.
    expect_error(s3c, "ListTagsForResource", "NotFoundException", 404, allowed=TAG_RESOURCE_ERRORS, AccountId=account,
                 ResourceArn=f"arn:aws:s3:eu-west-1:{account}:job/{job_id}")
    expect_error(s3c, "ListTagsForResource", "AccessDenied", 403, allowed=TAG_RESOURCE_ERRORS, AccountId=account,
                 ResourceArn=f"arn:aws:s3:us-east-1:999999999999:job/{job_id}")
    # Other S3 resources exist on AWS but not in jobyard.
    error = expect_error(s3c, "ListTagsForResource", "NotImplemented", 501, allowed=TAG_RESOURCE_ERRORS,
                         AccountId=account, ResourceArn=f"arn:aws:s3:us-east-1:{account}:accesspoint/my-access-point")
    assert "job" in error.response["Error"]["Message"]
    # A bucket ARN without a region does not match the model's ResourceArn pattern.
    expect_error(raw_s3c, "TagResource", "InvalidRequest", 400, allowed=TAG_RESOURCE_ERRORS, AccountId=account,
                 ResourceArn="arn:aws:s3:::bucket", Tags=[{"Key": "k", "Value": "v"}])
    expect_error(raw_s3c, "ListTagsForResource", "InvalidRequest", 400, allowed=TAG_RESOURCE_ERRORS, AccountId=account,
                 ResourceArn="arn:aws:s3:::bucket")
    # The model's own limits on the tags themselves are tag errors.
    arn = describe(s3c, account, job_id)["JobArn"]
    expect_error(raw_s3c, "TagResource", "TooManyTagsException", 400, allowed=TAG_RESOURCE_ERRORS, AccountId=account,
                 ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    expect_error(raw_s3c, "TagResource", "InvalidTag", 400, allowed=TAG_RESOURCE_ERRORS, AccountId=account,
                 ResourceArn=arn, Tags=[{"Key": "k" * 129, "Value": "v"}])
    expect_error(raw_s3c, "UntagResource", "InvalidTag", 400, allowed=TAG_RESOURCE_ERRORS, AccountId=account,
                 ResourceArn=arn, TagKeys=["k" * 129])


def test_tags_are_per_account(server, s3c, account):
    job_id = create_job(s3c, account)
    other = str(int(account) + 700_000_000)
    expect_error(s3control_client(server.url, other), "GetJobTagging", "NotFoundException", 404,
                 AccountId=other, JobId=job_id)
