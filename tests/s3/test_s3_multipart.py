"""Multipart uploads: boto3's managed transfers and the AWS CLI end to end, each operation step by step
(parts, pages, copies, checksums, versions, conditions) and the errors S3 answers them with."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zlib
from datetime import datetime, timedelta

from boto3.s3.transfer import TransferConfig

from s3_helpers import bucket_name, expect_error, expect_head_error

MiB = 1024 * 1024
PART = 5 * MiB                    # the smallest size of a part that is not the last one
FIRST, SECOND = b"A" * PART, b"B" * PART


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def multipart_etag(*parts: bytes) -> str:
    """S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, then the part count."""
    return f'"{md5(b"".join(hashlib.md5(part).digest() for part in parts))}-{len(parts)}"'


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def composite_crc32(*parts: bytes) -> str:
    joined = b"".join(base64.b64decode(crc32(part)) for part in parts)
    return f"{crc32(joined)}-{len(parts)}"


def start(s3, bucket: str, key: str, **params) -> str:
    return s3.create_multipart_upload(Bucket=bucket, Key=key, **params)["UploadId"]


def send(s3, bucket: str, key: str, upload_id: str, parts: dict[int, bytes], **params) -> dict[int, dict]:
    """Upload ``parts`` (number -> bytes); the answer of each, by number."""
    return {number: s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data, **params)
            for number, data in parts.items()}


def listed(answers: dict[int, dict], *numbers: int, checksum: str | None = None) -> dict:
    """The MultipartUpload member of CompleteMultipartUpload for these parts (all of them by default)."""
    parts = []
    for number in numbers or sorted(answers):
        part = {"PartNumber": number, "ETag": answers[number]["ETag"]}
        if checksum is not None:
            part[f"Checksum{checksum}"] = answers[number][f"Checksum{checksum}"]
        parts.append(part)
    return {"Parts": parts}


def upload(s3, bucket: str, key: str, *contents: bytes, **create) -> dict:
    """A whole multipart upload of ``contents``; CompleteMultipartUpload's answer."""
    upload_id = start(s3, bucket, key, **create)
    answers = send(s3, bucket, key, upload_id, dict(enumerate(contents, 1)))
    return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload=listed(answers))


# -- through boto3's transfer manager and the AWS CLI ---------------------------------------------------


def test_upload_file_and_download_file_go_in_parts(s3, bucket, tmp_path):
    data = os.urandom(20 * MiB)
    source, copy = tmp_path / "source.bin", tmp_path / "copy.bin"
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART)
    s3.upload_file(str(source), bucket, "big/file.bin", Config=config)

    chunks = [data[i:i + PART] for i in range(0, len(data), PART)]
    head = s3.head_object(Bucket=bucket, Key="big/file.bin", ChecksumMode="ENABLED")
    assert head["ETag"] == multipart_etag(*chunks) and head["ETag"].endswith('-4"')
    assert (head["ContentLength"], head["ContentType"]) == (len(data), "binary/octet-stream")
    # The transfer manager asks for CRC32 checksums of the parts: the object has the composite of them.
    assert (head["ChecksumCRC32"], head["ChecksumType"]) == (composite_crc32(*chunks), "COMPOSITE")
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)

    # The download reads the object in ranges of the same size.
    s3.download_file(bucket, "big/file.bin", str(copy), Config=config)
    assert copy.read_bytes() == data


def test_the_aws_cli_copies_a_large_file_there_and_back(s3, bucket, server, account, tmp_path):
    data = os.urandom(12 * MiB)
    (tmp_path / "up.bin").write_bytes(data)
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=account, AWS_SECRET_ACCESS_KEY="secret", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=str(tmp_path / "no-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"))
    for source, target in ((tmp_path / "up.bin", f"s3://{bucket}/cli/big.bin"),
                           (f"s3://{bucket}/cli/big.bin", tmp_path / "down.bin")):
        done = subprocess.run([sys.executable, "-m", "awscli", "s3", "cp", str(source), str(target),
                               "--endpoint-url", server.url, "--no-progress"],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    # The CLI sends 8 MiB parts.
    assert s3.head_object(Bucket=bucket, Key="cli/big.bin")["ETag"] == multipart_etag(data[:8 * MiB], data[8 * MiB:])
    assert (tmp_path / "down.bin").read_bytes() == data


# -- step by step ---------------------------------------------------------------------------------------


def test_an_upload_step_by_step(s3, bucket, server):
    key = "docs/report.csv"
    created = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="text/csv", Metadata={"Owner": "me"},
                                         Tagging="team=a&stage=1", StorageClass="STANDARD_IA",
                                         CacheControl="no-cache", ContentDisposition="inline")
    upload_id = created["UploadId"]
    assert (created["Bucket"], created["Key"], created["ServerSideEncryption"]) == (bucket, key, "AES256")
    assert "ChecksumAlgorithm" not in created
    initiated = s3.list_multipart_uploads(Bucket=bucket)["Uploads"][0]["Initiated"]

    server.advance(60)
    answers = send(s3, bucket, key, upload_id, {3: b"tail", 1: FIRST, 2: b"an earlier part 2"})
    assert answers[3]["ETag"] == f'"{md5(b"tail")}"'
    # A part sent again replaces the earlier one.
    answers.update(send(s3, bucket, key, upload_id, {2: SECOND}))
    assert answers[2]["ETag"] == f'"{md5(SECOND)}"'

    first = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, MaxParts=2)
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in first["Parts"]] == [
        (1, f'"{md5(FIRST)}"', PART), (2, f'"{md5(SECOND)}"', PART)]
    assert (first["IsTruncated"], first["NextPartNumberMarker"], first["MaxParts"]) == (True, 2, 2)
    assert first["StorageClass"] == "STANDARD_IA" and first["Owner"]["ID"] == first["Initiator"]["ID"]
    rest = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, MaxParts=2, PartNumberMarker=2)
    assert [p["PartNumber"] for p in rest["Parts"]] == [3]
    assert (rest["IsTruncated"], rest["PartNumberMarker"], rest["NextPartNumberMarker"]) == (False, 2, 3)
    pages = s3.get_paginator("list_parts").paginate(Bucket=bucket, Key=key, UploadId=upload_id,
                                                   PaginationConfig={"PageSize": 1})
    assert [p["PartNumber"] for page in pages for p in page["Parts"]] == [1, 2, 3]
    assert s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, MaxParts=5000)["MaxParts"] == 1000

    server.advance(60)
    done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload=listed(answers))
    assert done["ETag"] == multipart_etag(FIRST, SECOND, b"tail") and (done["Bucket"], done["Key"]) == (bucket, key)
    assert done["Location"].endswith(f"/{bucket}/docs%2Freport.csv") and "VersionId" not in done
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == FIRST + SECOND + b"tail" and got["ETag"] == done["ETag"]
    assert (got["ContentType"], got["Metadata"], got["CacheControl"]) == ("text/csv", {"owner": "me"}, "no-cache")
    assert (got["ContentDisposition"], got["TagCount"], got["StorageClass"]) == ("inline", 2, "STANDARD_IA")
    # S3 dates a multipart object by the start of its upload.
    assert abs(got["LastModified"] - initiated) < timedelta(seconds=1)
    listing = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listing] == [(key, 2 * PART + 4, done["ETag"])]
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    expect_error(s3, "ListParts", "NoSuchUpload", 404, Bucket=bucket, Key=key, UploadId=upload_id)


def test_the_parts_of_an_object_can_be_read_by_number(s3, bucket):
    upload(s3, bucket, "parts", FIRST, SECOND, b"tail")
    size = 2 * PART + 4
    head = s3.head_object(Bucket=bucket, Key="parts", PartNumber=2)
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert (head["PartsCount"], head["ContentLength"]) == (3, PART)
    assert head["ContentRange"] == f"bytes {PART}-{2 * PART - 1}/{size}"
    got = s3.get_object(Bucket=bucket, Key="parts", PartNumber=3)
    assert got["Body"].read() == b"tail" and got["PartsCount"] == 3
    assert got["ContentRange"] == f"bytes {2 * PART}-{size - 1}/{size}"
    # A range may run across parts.
    across = s3.get_object(Bucket=bucket, Key="parts", Range=f"bytes={2 * PART - 2}-{2 * PART + 1}")
    assert across["Body"].read() == b"BBta" and "PartsCount" not in across
    error = expect_error(s3, "GetObject", "InvalidPartNumber", 416, Bucket=bucket, Key="parts", PartNumber=4)
    assert (error.response["Error"]["PartNumberRequested"], error.response["Error"]["ActualPartCount"]) == ("4", "3")
    expect_head_error(s3, "HeadObject", 416, Bucket=bucket, Key="parts", PartNumber=4)
    # An object written in one piece is its own only part.
    s3.put_object(Bucket=bucket, Key="whole", Body=b"0123")
    whole = s3.get_object(Bucket=bucket, Key="whole", PartNumber=1)
    assert whole["Body"].read() == b"0123" and "PartsCount" not in whole
    expect_error(s3, "GetObject", "InvalidPartNumber", 416, Bucket=bucket, Key="whole", PartNumber=2)


# -- what CompleteMultipartUpload refuses ------------------------------------------------------------------


def test_complete_refuses_a_wrong_list_of_parts(s3, bucket):
    upload_id = start(s3, bucket, "key")
    answers = send(s3, bucket, "key", upload_id, {1: FIRST, 2: b"two", 3: b"three"})
    etag = {number: answer["ETag"] for number, answer in answers.items()}

    def complete(*parts):
        return {"Bucket": bucket, "Key": "key", "UploadId": upload_id,
                "MultipartUpload": {"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]}}

    for parts in ([(2, etag[2]), (1, etag[1])], [(1, etag[1]), (1, etag[1])]):
        error = expect_error(s3, "CompleteMultipartUpload", "InvalidPartOrder", 400, **complete(*parts))
        assert error.response["Error"]["UploadId"] == upload_id
    for number, wrong in ((4, etag[1]), (1, etag[2]), (10001, etag[1])):
        error = expect_error(s3, "CompleteMultipartUpload", "InvalidPart", 400, **complete((number, wrong)))
        assert (error.response["Error"]["PartNumber"], error.response["Error"]["ETag"]) == (str(number),
                                                                                             wrong.strip('"'))
    error = expect_error(s3, "CompleteMultipartUpload", "EntityTooSmall", 400,
                         **complete((1, etag[1]), (2, etag[2]), (3, etag[3])))
    details = error.response["Error"]
    assert (details["ProposedSize"], details["MinSizeAllowed"], details["PartNumber"]) == ("3", str(PART), "2")
    error = expect_error(s3, "CompleteMultipartUpload", "InvalidArgument", 400, **complete((0, etag[1])))
    assert error.response["Error"]["ArgumentName"] == "PartNumber"
    expect_error(s3, "CompleteMultipartUpload", "MalformedXML", 400, **complete())
    expect_error(s3, "CompleteMultipartUpload", "NoSuchUpload", 404, **{**complete((1, etag[1])), "Key": "other"})

    # Each refused request left the upload as it was, and made no object.
    assert len(s3.list_parts(Bucket=bucket, Key="key", UploadId=upload_id)["Parts"]) == 3
    expect_head_error(s3, "HeadObject", 404, Bucket=bucket, Key="key")
    # Parts may be left out (the ETag may come without its quotes): the object has the listed ones only.
    done = s3.complete_multipart_upload(**complete((1, etag[1]), (3, etag[3].strip('"'))))
    assert done["ETag"] == multipart_etag(FIRST, b"three")
    assert s3.get_object(Bucket=bucket, Key="key")["Body"].read() == FIRST + b"three"
    expect_error(s3, "CompleteMultipartUpload", "NoSuchUpload", 404, **complete((1, etag[1])))


def test_conditional_completion_and_the_object_size(s3, bucket):
    s3.put_object(Bucket=bucket, Key="taken", Body=b"already here")
    upload_id = start(s3, bucket, "taken")
    parts = listed(send(s3, bucket, "taken", upload_id, {1: b"one"}))
    request = {"Bucket": bucket, "Key": "taken", "UploadId": upload_id, "MultipartUpload": parts}
    error = expect_error(s3, "CompleteMultipartUpload", "PreconditionFailed", 412, IfNoneMatch="*", **request)
    assert error.response["Error"]["Condition"] == "If-None-Match"
    expect_error(s3, "CompleteMultipartUpload", "PreconditionFailed", 412, IfMatch='"0000"', **request)
    expect_error(s3, "CompleteMultipartUpload", "InvalidRequest", 400, MpuObjectSize=4, **request)
    assert s3.get_object(Bucket=bucket, Key="taken")["Body"].read() == b"already here"
    etag = s3.head_object(Bucket=bucket, Key="taken")["ETag"]
    s3.complete_multipart_upload(MpuObjectSize=3, IfMatch=etag, **request)
    assert s3.get_object(Bucket=bucket, Key="taken")["Body"].read() == b"one"


# -- the other operations' errors, abort, and buckets -----------------------------------------------------


def test_part_numbers_and_upload_ids_are_checked(s3, bucket, account):
    upload_id = start(s3, bucket, "key")
    for number in (0, 10001, -1):
        error = expect_error(s3, "UploadPart", "InvalidArgument", 400, Bucket=bucket, Key="key", UploadId=upload_id,
                             PartNumber=number, Body=b"x")
        assert (error.response["Error"]["ArgumentName"], error.response["Error"]["ArgumentValue"]) == (
            "partNumber", str(number))
    # An upload id is an upload of one key.
    other = start(s3, bucket, "other")
    for key, unknown in (("key", "not-an-upload"), ("key", other), ("other", upload_id)):
        ids = {"Bucket": bucket, "Key": key, "UploadId": unknown}
        error = expect_error(s3, "UploadPart", "NoSuchUpload", 404, PartNumber=1, Body=b"x", **ids)
        assert error.response["Error"]["UploadId"] == unknown
        expect_error(s3, "UploadPartCopy", "NoSuchUpload", 404, PartNumber=1, CopySource=f"{bucket}/key", **ids)
        expect_error(s3, "ListParts", "NoSuchUpload", 404, **ids)
        expect_error(s3, "AbortMultipartUpload", "NoSuchUpload", 404, **ids)
    missing = bucket_name(account, "none")
    expect_error(s3, "CreateMultipartUpload", "NoSuchBucket", 404, Bucket=missing, Key="key")
    expect_error(s3, "UploadPart", "NoSuchBucket", 404, Bucket=missing, Key="key", UploadId=upload_id, PartNumber=1,
                 Body=b"x")
    expect_error(s3, "ListMultipartUploads", "NoSuchBucket", 404, Bucket=missing)
    expect_error(s3, "CreateMultipartUpload", "InvalidStorageClass", 400, Bucket=bucket, Key="key",
                 StorageClass="COLD")
    expect_error(s3, "ListParts", "InvalidArgument", 400, Bucket=bucket, Key="key", UploadId=upload_id, MaxParts=-1)
    expect_error(s3, "ListMultipartUploads", "InvalidArgument", 400, Bucket=bucket, MaxUploads=-1)


def test_abort_discards_the_upload_and_its_parts(s3, bucket):
    kept = start(s3, bucket, "key")
    gone = start(s3, bucket, "key")
    send(s3, bucket, "key", gone, {1: b"one", 2: b"two"})
    answer = s3.abort_multipart_upload(Bucket=bucket, Key="key", UploadId=gone)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    ids = {"Bucket": bucket, "Key": "key", "UploadId": gone}
    expect_error(s3, "ListParts", "NoSuchUpload", 404, **ids)
    expect_error(s3, "AbortMultipartUpload", "NoSuchUpload", 404, **ids)
    expect_error(s3, "UploadPart", "NoSuchUpload", 404, PartNumber=3, Body=b"three", **ids)
    expect_error(s3, "CompleteMultipartUpload", "NoSuchUpload", 404,
                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": md5(b"one")}]}, **ids)
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [kept]
    expect_error(s3, "GetObject", "NoSuchKey", 404, Bucket=bucket, Key="key")


def test_deleting_a_bucket_discards_its_uploads(s3, account):
    name = bucket_name(account, "short-lived")
    s3.create_bucket(Bucket=name)
    upload_id = start(s3, name, "key")
    send(s3, name, "key", upload_id, {1: b"one"})
    # Uploads in progress are no objects: they do not keep the bucket from going.
    assert s3.delete_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(s3, "ListParts", "NoSuchBucket", 404, Bucket=name, Key="key", UploadId=upload_id)
    s3.create_bucket(Bucket=name)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=name)
    expect_error(s3, "ListParts", "NoSuchUpload", 404, Bucket=name, Key="key", UploadId=upload_id)


# -- ListMultipartUploads -----------------------------------------------------------------------------------


def test_uploads_are_listed_by_key_then_by_start(s3, bucket, server):
    keys = ["b", "c d", "a/2", "b", "a/1"]
    ids = []
    for key in keys:
        ids.append(start(s3, bucket, key))
        server.advance(1)
    b1, cd, a2, b2, a1 = ids
    everything = [a1, a2, b1, b2, cd]

    def listing(**params):
        answer = s3.list_multipart_uploads(Bucket=bucket, **params)
        return ([u["UploadId"] for u in answer.get("Uploads", [])],
                [p["Prefix"] for p in answer.get("CommonPrefixes", [])], answer)

    found, prefixes, answer = listing()
    assert (found, prefixes, answer["IsTruncated"]) == (everything, [], False)
    assert (answer["NextKeyMarker"], answer["NextUploadIdMarker"], answer["MaxUploads"]) == ("c d", cd, 1000)
    entry = answer["Uploads"][0]
    assert (entry["Key"], entry["StorageClass"], entry["Owner"]["ID"]) == ("a/1", "STANDARD", entry["Initiator"]["ID"])
    assert [u["Initiated"] for u in answer["Uploads"][2:4]] == sorted(u["Initiated"] for u in answer["Uploads"][2:4])
    assert listing(Prefix="a/")[:2] == ([a1, a2], [])
    assert listing(Delimiter="/")[:2] == ([b1, b2, cd], ["a/"])
    found, _, answer = listing(MaxUploads=3)
    assert (found, answer["IsTruncated"], answer["NextKeyMarker"], answer["NextUploadIdMarker"]) == (
        [a1, a2, b1], True, "b", b1)
    assert listing(KeyMarker="b", UploadIdMarker=b1)[0] == [b2, cd]
    assert listing(KeyMarker="b")[0] == [cd]
    # S3 ignores an upload id marker without a key marker.
    found, _, answer = listing(UploadIdMarker=b1)
    assert found == everything and answer["UploadIdMarker"] == ""
    # A common prefix is an entry of its own; as the key marker it skips its keys.
    found, prefixes, answer = listing(Delimiter="/", MaxUploads=1)
    assert (found, prefixes, answer["IsTruncated"], answer["NextKeyMarker"]) == ([], ["a/"], True, "a/")
    assert listing(Delimiter="/", MaxUploads=1, KeyMarker="a/")[:2] == ([b1], [])
    assert listing(MaxUploads=0)[0] == [] and not listing(MaxUploads=0)[2]["IsTruncated"]
    pages = s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, PaginationConfig={"PageSize": 2})
    assert [u["UploadId"] for page in pages for u in page.get("Uploads", [])] == everything
    found, _, answer = listing(Prefix="c ", EncodingType="url")
    assert (found, answer["Uploads"][0]["Key"], answer["Prefix"]) == ([cd], "c%20d", "c%20")


# -- UploadPartCopy -------------------------------------------------------------------------------------------


def test_upload_part_copy_takes_a_range_an_object_or_a_version(s3, bucket, account):
    source = FIRST + b"0123456789"
    s3.put_object(Bucket=bucket, Key="folder/the source", Body=source)
    versioned = bucket_name(account, "versioned")
    s3.create_bucket(Bucket=versioned)
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket=versioned, Key="source", Body=b"first")["VersionId"]
    s3.put_object(Bucket=versioned, Key="source", Body=b"second")
    upload_id = start(s3, bucket, "copy")
    ids = {"Bucket": bucket, "Key": "copy", "UploadId": upload_id}
    the_source = {"Bucket": bucket, "Key": "folder/the source"}

    first = s3.upload_part_copy(PartNumber=1, CopySource=the_source, CopySourceRange=f"bytes=0-{PART - 1}", **ids)
    assert first["CopyPartResult"]["ETag"] == f'"{md5(FIRST)}"' and "CopySourceVersionId" not in first
    whole = s3.upload_part_copy(PartNumber=2, CopySource=the_source, **ids)
    assert whole["CopyPartResult"]["ETag"] == f'"{md5(source)}"'
    middle = s3.upload_part_copy(PartNumber=3, CopySource=the_source, CopySourceRange=f"bytes={PART + 2}-{PART + 5}",
                                 **ids)
    assert middle["CopyPartResult"]["ETag"] == f'"{md5(b"2345")}"'
    # Part 3 again, from an older version of another bucket's object.
    version = s3.upload_part_copy(PartNumber=3, CopySource={"Bucket": versioned, "Key": "source", "VersionId": old},
                                  **ids)
    assert version["CopySourceVersionId"] == old and version["CopyPartResult"]["ETag"] == f'"{md5(b"first")}"'
    assert isinstance(version["CopyPartResult"]["LastModified"], datetime)
    parts = [{"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]} for n, r in ((1, first), (2, whole), (3, version))]
    done = s3.complete_multipart_upload(MultipartUpload={"Parts": parts}, **ids)
    assert done["ETag"] == multipart_etag(FIRST, source, b"first")
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == FIRST + source + b"first"


def test_upload_part_copy_errors(s3, bucket):
    s3.put_object(Bucket=bucket, Key="source", Body=b"0123456789")
    upload_id = start(s3, bucket, "copy")
    ids = {"Bucket": bucket, "Key": "copy", "UploadId": upload_id, "PartNumber": 1}
    for bad in ("0-2", "bytes=0", "bytes=-2", "bytes=a-z", "bytes=0-2,4-5"):
        error = expect_error(s3, "UploadPartCopy", "InvalidArgument", 400, CopySource=f"{bucket}/source",
                             CopySourceRange=bad, **ids)
        assert error.response["Error"]["ArgumentName"] == "x-amz-copy-source-range"
    for outside in ("bytes=0-10", "bytes=10-12", "bytes=5-2"):
        error = expect_error(s3, "UploadPartCopy", "InvalidArgument", 400, CopySource=f"{bucket}/source",
                             CopySourceRange=outside, **ids)
        assert error.response["Error"]["Message"] == "Range specified is not valid for source object of size: 10"
    expect_error(s3, "UploadPartCopy", "NoSuchKey", 404, CopySource=f"{bucket}/missing", **ids)
    error = expect_error(s3, "UploadPartCopy", "PreconditionFailed", 412, CopySource=f"{bucket}/source",
                         CopySourceIfMatch='"0000"', **ids)
    assert error.response["Error"]["Condition"] == "x-amz-copy-source-If-Match"
    assert "Parts" not in s3.list_parts(Bucket=bucket, Key="copy", UploadId=upload_id)


# -- checksums --------------------------------------------------------------------------------------------


def test_a_composite_sha256_checksum(s3, bucket):
    created = s3.create_multipart_upload(Bucket=bucket, Key="key", ChecksumAlgorithm="SHA256")
    upload_id = created["UploadId"]
    assert (created["ChecksumAlgorithm"], created["ChecksumType"]) == ("SHA256", "COMPOSITE")
    ids = {"Bucket": bucket, "Key": "key", "UploadId": upload_id}
    # A part with a checksum of another algorithm than the upload's.
    error = expect_error(s3, "UploadPart", "InvalidRequest", 400, PartNumber=1, Body=b"x", ChecksumAlgorithm="CRC32",
                         **ids)
    assert "expected checksum Type: sha256, actual checksum Type: crc32" in error.response["Error"]["Message"]
    answers = send(s3, bucket, "key", upload_id, {1: FIRST, 2: b"tail"}, ChecksumAlgorithm="SHA256")
    assert [answers[n]["ChecksumSHA256"] for n in (1, 2)] == [sha256(FIRST), sha256(b"tail")]
    parts = s3.list_parts(**ids)
    assert [p["ChecksumSHA256"] for p in parts["Parts"]] == [sha256(FIRST), sha256(b"tail")]
    assert (parts["ChecksumAlgorithm"], parts["ChecksumType"]) == ("SHA256", "COMPOSITE")
    entry = s3.list_multipart_uploads(Bucket=bucket)["Uploads"][0]
    assert (entry["ChecksumAlgorithm"], entry["ChecksumType"]) == ("SHA256", "COMPOSITE")

    error = expect_error(s3, "CompleteMultipartUpload", "InvalidRequest", 400, MultipartUpload=listed(answers), **ids)
    assert "must include the checksum for each part. It was missing for part 1" in error.response["Error"]["Message"]
    wrong = listed(answers, checksum="SHA256")
    wrong["Parts"][1]["ChecksumSHA256"] = sha256(b"other")
    expect_error(s3, "CompleteMultipartUpload", "InvalidPart", 400, MultipartUpload=wrong, **ids)
    # With checksums, the part numbers are 1, 2, 3... without gaps.
    gap = {"Parts": [listed(answers, 1, checksum="SHA256")["Parts"][0], {"PartNumber": 3, "ETag": md5(b"x"),
                                                                         "ChecksumSHA256": sha256(b"x")}]}
    expect_error(s3, "CompleteMultipartUpload", "InvalidPartOrder", 400, MultipartUpload=gap, **ids)
    expect_error(s3, "CompleteMultipartUpload", "BadDigest", 400, MultipartUpload=listed(answers, checksum="SHA256"),
                 ChecksumSHA256=sha256(FIRST + b"tail"), **ids)
    error = expect_error(s3, "CompleteMultipartUpload", "BadDigest", 400, ChecksumType="FULL_OBJECT",
                         MultipartUpload=listed(answers, checksum="SHA256"), **ids)
    assert "created using the COMPOSITE checksum mode" in error.response["Error"]["Message"]

    expected = base64.b64encode(hashlib.sha256(hashlib.sha256(FIRST).digest()
                                               + hashlib.sha256(b"tail").digest()).digest()).decode() + "-2"
    done = s3.complete_multipart_upload(MultipartUpload=listed(answers, checksum="SHA256"), ChecksumSHA256=expected,
                                        **ids)
    assert (done["ChecksumSHA256"], done["ChecksumType"]) == (expected, "COMPOSITE")
    head = s3.head_object(Bucket=bucket, Key="key", ChecksumMode="ENABLED")
    assert (head["ChecksumSHA256"], head["ChecksumType"]) == (expected, "COMPOSITE")
    listing = s3.list_objects_v2(Bucket=bucket)["Contents"][0]
    assert (listing["ChecksumAlgorithm"], listing["ChecksumType"]) == (["SHA256"], "COMPOSITE")


def test_a_full_object_crc32_checksum(s3, bucket):
    created = s3.create_multipart_upload(Bucket=bucket, Key="key", ChecksumAlgorithm="CRC32",
                                         ChecksumType="FULL_OBJECT")
    assert (created["ChecksumAlgorithm"], created["ChecksumType"]) == ("CRC32", "FULL_OBJECT")
    ids = {"Bucket": bucket, "Key": "key", "UploadId": created["UploadId"]}
    answers = send(s3, bucket, "key", created["UploadId"], {1: FIRST, 2: b"tail"}, ChecksumAlgorithm="CRC32")
    parts = listed(answers, checksum="CRC32")
    expect_error(s3, "CompleteMultipartUpload", "BadDigest", 400, MultipartUpload=parts, ChecksumCRC32=crc32(b"tail"),
                 **ids)
    done = s3.complete_multipart_upload(MultipartUpload=parts, ChecksumCRC32=crc32(FIRST + b"tail"), **ids)
    assert (done["ChecksumCRC32"], done["ChecksumType"]) == (crc32(FIRST + b"tail"), "FULL_OBJECT")
    # botocore checks a full-object checksum against the bytes it reads.
    got = s3.get_object(Bucket=bucket, Key="key", ChecksumMode="ENABLED")
    assert got["Body"].read() == FIRST + b"tail" and got["ChecksumCRC32"] == done["ChecksumCRC32"]


def test_checksum_settings_s3_refuses(s3, bucket):
    for settings, message in (
            ({"ChecksumAlgorithm": "SHA1", "ChecksumType": "FULL_OBJECT"},
             "The FULL_OBJECT checksum type cannot be used with the sha1 checksum algorithm."),
            ({"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": "COMPOSITE"},
             "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm."),
            ({"ChecksumType": "COMPOSITE"},
             "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."),
            ({"ChecksumAlgorithm": "XXHASH64"}, "Checksum algorithm provided is unsupported. Please try again with "
                                                "any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")):
        error = expect_error(s3, "CreateMultipartUpload", "InvalidRequest", 400, Bucket=bucket, Key="key", **settings)
        assert error.response["Error"]["Message"] == message
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    # CRC64NVME is a full-object checksum unless told otherwise; the SHAs and CRC32 are composite.
    created = s3.create_multipart_upload(Bucket=bucket, Key="key", ChecksumAlgorithm="CRC64NVME")
    assert created["ChecksumType"] == "FULL_OBJECT"


def test_parts_sent_as_aws_chunked_bodies_with_trailing_checksums(s3_tls, account):
    """botocore sends parts over https as aws-chunked bodies whose CRC32 comes after the bytes."""
    name = bucket_name(account, "chunked")
    s3_tls.create_bucket(Bucket=name)
    upload_id = start(s3_tls, name, "key", ChecksumAlgorithm="CRC32")
    answers = send(s3_tls, name, "key", upload_id, {1: FIRST, 2: b"tail"}, ChecksumAlgorithm="CRC32")
    assert [answers[n]["ChecksumCRC32"] for n in (1, 2)] == [crc32(FIRST), crc32(b"tail")]
    done = s3_tls.complete_multipart_upload(Bucket=name, Key="key", UploadId=upload_id,
                                            MultipartUpload=listed(answers, checksum="CRC32"))
    assert done["ChecksumCRC32"] == composite_crc32(FIRST, b"tail")
    assert s3_tls.get_object(Bucket=name, Key="key")["Body"].read() == FIRST + b"tail"


# -- versions and Object Lock -----------------------------------------------------------------------------


def test_completing_writes_a_version_as_put_object_does(s3, bucket, account):
    assert "VersionId" not in upload(s3, bucket, "key", b"plain")
    versioned = bucket_name(account, "versioned")
    s3.create_bucket(Bucket=versioned)
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Enabled"})
    first = upload(s3, versioned, "key", b"first")["VersionId"]
    second = upload(s3, versioned, "key", b"second")["VersionId"]
    assert first != second
    assert s3.get_object(Bucket=versioned, Key="key")["VersionId"] == second
    old = s3.get_object(Bucket=versioned, Key="key", VersionId=first)
    assert (old["Body"].read(), old["ETag"]) == (b"first", multipart_etag(b"first"))
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Suspended"})
    assert upload(s3, versioned, "key", b"third")["VersionId"] == "null"


def test_object_lock_settings_reach_the_object(s3, account, server):
    name = bucket_name(account, "locked")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    now = datetime.fromisoformat(server.clock()["now"].replace("Z", "+00:00"))
    until = now.replace(microsecond=0) + timedelta(days=30)
    done = upload(s3, name, "key", b"kept", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until,
                  ObjectLockLegalHoldStatus="ON")
    retention = s3.get_object_retention(Bucket=name, Key="key")["Retention"]
    assert (retention["Mode"], retention["RetainUntilDate"]) == ("GOVERNANCE", until)
    assert s3.get_object_legal_hold(Bucket=name, Key="key")["LegalHold"]["Status"] == "ON"
    expect_error(s3, "DeleteObject", "AccessDenied", 403, Bucket=name, Key="key", VersionId=done["VersionId"])
    # Lock settings need a bucket with Object Lock.
    plain = bucket_name(account, "plain")
    s3.create_bucket(Bucket=plain)
    expect_error(s3, "CreateMultipartUpload", "InvalidRequest", 400, Bucket=plain, Key="key",
                 ObjectLockLegalHoldStatus="ON")
