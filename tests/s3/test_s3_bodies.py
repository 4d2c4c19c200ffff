"""S3 request bodies stream to the byte store: large uploads are spooled (and aws-chunked ones unframed) as
they arrive, downloads are streamed, and the size limits AWS documents are answered with S3's errors —
before the body is sent when its size is declared."""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import os
import zlib
from xml.etree import ElementTree

import pytest

from s3_helpers import expect_error, expect_head_error

from jobyard.objects.api import MAX_PART_SIZE, MAX_PUT_SIZE
from jobyard.wire import MEMORY_LIMIT

LARGE = MEMORY_LIMIT * 3 + 12345   # past the memory limit: spooled to a file


def pending_files(server) -> list[str]:
    """What this server process has in its pending folder (spooled bodies, staged puts)."""
    folder = server.emulator.files._pending_dir(server.emulator.files.owner)
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def raw_request(server, account: str, method: str, target: str, headers: dict, body_chunks=None):
    """One request on its own connection, the body sent only if the server asks for it (``Expect:
    100-continue``) or given as chunks (``Transfer-Encoding: chunked``, no declared length). Returns (status,
    headers, XML error code, the error element)."""
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    auth = (f"AWS4-HMAC-SHA256 Credential={account}/20250101/us-east-1/s3/aws4_request, "
            "SignedHeaders=host, Signature=0")
    if body_chunks is None:
        conn.putrequest(method, target)
        for name, value in {"Authorization": auth, "Expect": "100-continue", **headers}.items():
            conn.putheader(name, value)
        conn.endheaders()   # the body is never sent: the answer must come first
    else:
        conn.request(method, target, body=iter(body_chunks), headers={"Authorization": auth, **headers},
                     encode_chunked=True)
    response = conn.getresponse()
    text = response.read()
    conn.close()
    error = ElementTree.fromstring(text)
    return response.status, {k.lower(): v for k, v in response.getheaders()}, error.findtext("Code"), error


def test_large_object_round_trip_with_etag_checksum_and_ranges(s3, bucket, server):
    data = os.urandom(LARGE)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    put = s3.put_object(Bucket=bucket, Key="big", Body=data, ChecksumCRC32=crc,
                        ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode())
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"' and put["ChecksumCRC32"] == crc
    got = s3.get_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert got["ContentLength"] == LARGE and got["Body"].read() == data and got["ChecksumCRC32"] == crc
    first, last = MEMORY_LIMIT - 5, 2 * MEMORY_LIMIT + 5   # across the chunks the server sends
    ranged = s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={first}-{last}")
    assert ranged["ContentRange"] == f"bytes {first}-{last}/{LARGE}" and ranged["Body"].read() == data[first:last + 1]
    suffix = s3.get_object(Bucket=bucket, Key="big", Range="bytes=-100")
    assert suffix["Body"].read() == data[-100:]
    copied = s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "big"})
    assert copied["CopyObjectResult"]["ETag"] == put["ETag"]
    assert s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == data
    assert pending_files(server) == []   # the spooled body became the object's file; nothing is left


def test_a_wrong_digest_on_a_spooled_body_is_refused_and_leaves_nothing(s3, bucket, server):
    data = os.urandom(LARGE)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    expect_error(s3, "PutObject", "BadDigest", 400, Bucket=bucket, Key="k", Body=data, ContentMD5=wrong)
    expect_error(s3, "PutObject", "NoSuchBucket", 404, Bucket=bucket + "-missing", Key="k", Body=data)
    expect_head_error(s3, "HeadObject", 404, Bucket=bucket, Key="k")
    assert pending_files(server) == []


def test_aws_chunked_upload_is_unframed_as_it_arrives(s3_tls, server, account):
    # botocore frames bodies aws-chunked with a trailing CRC32 over https.
    s3_tls.create_bucket(Bucket=f"chunked-{account}")
    data = os.urandom(LARGE)
    put = s3_tls.put_object(Bucket=f"chunked-{account}", Key="k", Body=io.BytesIO(data))
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert put["ChecksumCRC32"] == base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    assert s3_tls.get_object(Bucket=f"chunked-{account}", Key="k")["Body"].read() == data
    assert pending_files(server) == []


def test_multipart_upload_of_spooled_parts(s3, bucket):
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(LARGE)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=n + 1, Body=part)["ETag"]
             for n, part in enumerate(parts)]
    assert etags == [f'"{hashlib.md5(part).hexdigest()}"' for part in parts]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": n + 1, "ETag": etag} for n, etag in enumerate(etags)]})
    joined = hashlib.md5(b"".join(hashlib.md5(part).digest() for part in parts)).hexdigest()
    assert done["ETag"] == f'"{joined}-2"'
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"".join(parts)


def test_put_object_over_5_gib_is_refused_before_the_body_is_sent(server, s3, bucket, account):
    # Sent as boto3 sends a file (Expect: 100-continue): the refusal comes before any byte of the body.
    status, headers, code, error = raw_request(server, account, "PUT", f"/{bucket}/huge",
                                               {"Content-Length": str(MAX_PUT_SIZE + 1)})
    assert (status, code) == (400, "EntityTooLarge") and headers["connection"] == "close"
    assert error.findtext("MaxSizeAllowed") == str(MAX_PUT_SIZE)
    assert error.findtext("ProposedSize") == str(MAX_PUT_SIZE + 1)
    expect_head_error(s3, "HeadObject", 404, Bucket=bucket, Key="huge")


def test_upload_part_over_5_gib_is_refused(server, s3, bucket, account):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="huge")["UploadId"]
    status, _, code, _ = raw_request(server, account, "PUT", f"/{bucket}/huge?partNumber=1&uploadId={upload}",
                                     {"Content-Length": str(MAX_PART_SIZE + 1)})
    assert (status, code) == (400, "EntityTooLarge")
    assert s3.list_parts(Bucket=bucket, Key="huge", UploadId=upload).get("Parts", []) == []


def test_a_body_without_a_declared_length_is_cut_off_at_the_limit(server, s3, bucket, account):
    # Transfer-Encoding: chunked declares nothing: the server stops reading once the limit is passed.
    def chunks():
        for _ in range(16):   # 16 MiB offered, far past the XML limit
            yield b"<" * MEMORY_LIMIT

    try:
        status, headers, code, _ = raw_request(server, account, "PUT", f"/{bucket}?tagging", {}, chunks())
    except (BrokenPipeError, ConnectionResetError):
        pytest.fail("the server closed the connection without an answer")
    assert (status, code) == (400, "MaxMessageLengthExceeded") and headers["connection"] == "close"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0   # and the server goes on


def test_an_xml_body_past_the_api_limit(s3, bucket):
    tags = {"TagSet": [{"Key": "k", "Value": "v" * (3 * 1024 * 1024)}]}
    expect_error(s3, "PutBucketTagging", "MaxMessageLengthExceeded", 400, Bucket=bucket, Tagging=tags)


def test_a_header_section_past_the_limit(s3, bucket):
    metadata = {f"m{n}": "x" * 1000 for n in range(20)}
    expect_error(s3, "PutObject", "RequestHeaderSectionTooLarge", 400, Bucket=bucket, Key="k", Body=b"x",
                 Metadata=metadata)
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"x")["ETag"]   # the server is fine
