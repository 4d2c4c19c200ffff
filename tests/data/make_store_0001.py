"""Writes ``store_0001.json``: a store made by the release before schema migrations (revision 0001's schema,
the clock in ``meta``, S3 version and upload ids with a NUL byte), for ``tests/test_migrations.py``.

Run once with that release on the path (``PYTHONPATH=<its src> python tests/data/make_store_0001.py``); the
JSON is the frozen result: the schema's DDL as SQLite printed it, every row, and the byte store's files.
"""

import base64
import json
import os
import sqlite3
import sys
import tempfile

import boto3

from jobyard.config import Config
from jobyard.testing import running_server

ACCOUNT = "123456789012"


def client(name, url, region="us-east-1"):
    return boto3.client(name, endpoint_url=url, region_name=region, aws_access_key_id=ACCOUNT,
                        aws_secret_access_key="x")


def populate(url):
    s3 = client("s3", url)
    s3.create_bucket(Bucket="frozen")
    s3.put_bucket_versioning(Bucket="frozen", VersioningConfiguration={"Status": "Enabled"})
    for key in ("a", "a/b", "ab", "b", "dir/x", "dir/y"):
        for n in range(3 if key in ("a", "ab") else 1):
            s3.put_object(Bucket="frozen", Key=key, Body=f"{key} version {n}".encode())
    s3.delete_object(Bucket="frozen", Key="b")          # a delete marker over the only version
    for key in ("a", "big", "big", "a/b"):
        upload = s3.create_multipart_upload(Bucket="frozen", Key=key)["UploadId"]
        s3.upload_part(Bucket="frozen", Key=key, UploadId=upload, PartNumber=1, Body=f"part of {key}".encode())
    s3.create_bucket(Bucket="plain")
    s3.put_object(Bucket="plain", Key="only", Body=b"plain bytes")
    snowball = client("snowball", url)
    address = snowball.create_address(Address={
        "Name": "N", "Street1": "S", "City": "C", "StateOrProvince": "WA", "Country": "US",
        "PostalCode": "98101", "PhoneNumber": "425-555-5555"})["AddressId"]
    for _ in range(3):
        snowball.create_job(JobType="LOCAL_USE", AddressId=address, SnowballType="EDGE")
    glacier = client("glacier", url)
    glacier.create_vault(vaultName="frozen-vault")
    archive = glacier.upload_archive(vaultName="frozen-vault", body=b"archive bytes")["archiveId"]
    glacier.initiate_job(vaultName="frozen-vault", jobParameters={"Type": "archive-retrieval",
                                                                  "ArchiveId": archive, "Tier": "Expedited"})
    requests = __import__("urllib.request").request
    requests.urlopen(requests.Request(url + "/_jobyard/clock", data=b'{"advance": 3600}', method="POST"))


def answers(url) -> dict:
    """What the release answers about the store's contents: the upgraded store must answer the same."""
    s3, snowball, glacier = client("s3", url), client("snowball", url), client("glacier", url)
    found = {
        "versions": s3.list_object_versions(Bucket="frozen"),
        "versions_paged": [s3.list_object_versions(Bucket="frozen", MaxKeys=2, KeyMarker="a",
                                                   VersionIdMarker=v["VersionId"])
                           for v in s3.list_object_versions(Bucket="frozen", Prefix="a")["Versions"][:2]],
        "versions_delimited": s3.list_object_versions(Bucket="frozen", Delimiter="/"),
        "objects": s3.list_objects_v2(Bucket="frozen"),
        "objects_delimited": s3.list_objects_v2(Bucket="frozen", Delimiter="/", Prefix="a"),
        "uploads": s3.list_multipart_uploads(Bucket="frozen"),
        "uploads_paged": s3.list_multipart_uploads(Bucket="frozen", MaxUploads=2),
        "plain": s3.list_objects_v2(Bucket="plain"),
        "snowball_jobs": snowball.list_jobs(),
        "glacier_jobs": glacier.list_jobs(vaultName="frozen-vault"),
        "vault": glacier.describe_vault(vaultName="frozen-vault"),
    }
    for answer in found.values():
        for one in answer if isinstance(answer, list) else [answer]:
            one.pop("ResponseMetadata", None)
    return json.loads(json.dumps(found, default=str))


def main(out):
    data_dir = tempfile.mkdtemp()
    with running_server(Config(data_dir=data_dir, time_scale=0)) as server:
        populate(server.url)
        expected = answers(server.url)
    db = sqlite3.connect(os.path.join(data_dir, "jobyard.db"))
    ddl = [sql for (sql,) in db.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")]
    tables = {}
    for table in ("resources", "meta", "file_journal"):
        cursor = db.execute(f"SELECT * FROM {table} ORDER BY 1")
        tables[table] = {"columns": [c[0] for c in cursor.description], "rows": [list(r) for r in cursor]}
    files = {}
    root = os.path.join(data_dir, "files")
    for folder, _dirs, names in os.walk(root):
        if "pending" in os.path.relpath(folder, root).split(os.sep):
            continue
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, root)] = base64.b64encode(f.read()).decode()
    with open(out, "w") as f:
        json.dump({"ddl": ddl, "tables": tables, "files": files, "answers": expected}, f, indent=0)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "store_0001.json"))
