"""Small builders shared by the Snowball tests."""

from __future__ import annotations

ROLE = "arn:aws:iam::123456789012:role/snowball-import-S3-role"
KMS = "arn:aws:kms:us-east-1:123456789012:key/abcd1234-12ab-34cd-56ef-123456123456"
BUCKET = "arn:aws:s3:::my-bucket"
HOUR, DAY = 3600, 86400

ADDRESS = {"Name": "My Name", "Company": "My Company", "Street1": "123 Main Street", "City": "Seattle",
           "StateOrProvince": "WA", "Country": "US", "PostalCode": "98101", "PhoneNumber": "425-555-5555"}


def create_address(client, **overrides) -> str:
    return client.create_address(Address={**ADDRESS, **overrides})["AddressId"]


def create_job(client, address_id: str, job_type: str = "IMPORT", **extra) -> str:
    params = dict(JobType=job_type, AddressId=address_id, RoleARN=ROLE, ShippingOption="SECOND_DAY",
                  SnowballType="EDGE", Resources={"S3Resources": [{"BucketArn": BUCKET}]})
    params.update(extra)
    return client.create_job(**params)["JobId"]


def state(client, job_id: str) -> str:
    return client.describe_job(JobId=job_id)["JobMetadata"]["JobState"]
