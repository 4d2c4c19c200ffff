"""Glacier bodies stream: archives and parts past the server's memory limit are spooled with their tree hash
computed as they arrive, a multipart archive's tree hash is built from its parts', retrievals are streamed,
and the size limits are answered with Glacier's errors before the body is sent."""

from __future__ import annotations

import http.client
import json
import os

from glacier_helpers import (HOUR, MiB, create_vault, expect_error, read_output, retrieve, tree_hash)

from jobyard.wire import MEMORY_LIMIT

FOUR_GIB = 4 * 1024 * MiB


def pending_files(server) -> list[str]:
    folder = server.emulator.files._pending_dir(server.emulator.files.owner)
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_a_spooled_archive_is_checked_stored_and_retrieved_in_ranges(server, glacier):
    vault = create_vault(glacier, "spooled")
    data = os.urandom(3 * MiB + 777)
    assert len(data) > MEMORY_LIMIT
    expect_error(glacier, "UploadArchive", "InvalidParameterValueException", 400, vaultName=vault, body=data,
                 checksum=tree_hash(b"other"))
    assert pending_files(server) == []   # the refused body's spool is gone
    archive = glacier.upload_archive(vaultName=vault, body=data, checksum=tree_hash(data))
    assert archive["checksum"] == tree_hash(data)
    job = retrieve(glacier, vault, archive["archiveId"])
    server.advance(6 * HOUR)
    body, meta = read_output(glacier, vault, job)
    assert body == data and meta["checksum"] == tree_hash(data)
    # A tree-hash aligned range: its own checksum, computed over the streamed bytes.
    body, meta = read_output(glacier, vault, job, range=f"bytes={MiB}-{2 * MiB - 1}")
    assert body == data[MiB:2 * MiB] and meta["checksum"] == tree_hash(data[MiB:2 * MiB])
    assert meta["contentRange"] == f"bytes {MiB}-{2 * MiB - 1}/{len(data)}"
    assert pending_files(server) == []


def test_multipart_tree_hash_is_built_from_the_parts(server, glacier):
    vault = create_vault(glacier, "parts")
    part_size = 2 * MiB
    data = os.urandom(3 * part_size + MiB // 2)   # four parts, the last a quarter full: an uneven tree
    upload = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(part_size))["uploadId"]
    for start in range(0, len(data), part_size):
        chunk = data[start:start + part_size]
        glacier.upload_multipart_part(vaultName=vault, uploadId=upload, body=chunk,
                                      range=f"bytes {start}-{start + len(chunk) - 1}/*")
    expect_error(glacier, "CompleteMultipartUpload", "InvalidParameterValueException", 400, vaultName=vault,
                 uploadId=upload, archiveSize=str(len(data)), checksum=tree_hash(data[:-1]))
    done = glacier.complete_multipart_upload(vaultName=vault, uploadId=upload, archiveSize=str(len(data)),
                                             checksum=tree_hash(data))
    assert done["checksum"] == tree_hash(data)
    job = retrieve(glacier, vault, done["archiveId"])
    server.advance(6 * HOUR)
    body, meta = read_output(glacier, vault, job)
    assert body == data and meta["checksum"] == tree_hash(data)


def raw_upload(server, account: str, path: str, size: int) -> tuple[int, dict]:
    """Announce ``size`` bytes (Expect: 100-continue, as SDKs send files) and never send them."""
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.putrequest("POST", path)
    for name, value in {"Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20250101/us-east-1/glacier/"
                                         "aws4_request, SignedHeaders=host, Signature=0",
                        "x-amz-glacier-version": "2012-06-01", "Expect": "100-continue",
                        "Content-Length": str(size)}.items():
        conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    document = json.loads(response.read())
    conn.close()
    return response.status, document


def test_an_archive_over_4_gib_is_refused_before_it_is_sent(server, glacier, account):
    vault = create_vault(glacier, "huge")
    status, document = raw_upload(server, account, f"/-/vaults/{vault}/archives", FOUR_GIB + 1)
    assert status == 400 and document["code"] == "InvalidParameterValueException" and document["type"] == "Client"
    assert str(FOUR_GIB + 1) in document["message"]
    upload = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(FOUR_GIB))["uploadId"]
    status, document = raw_upload(server, account, f"/-/vaults/{vault}/multipart-uploads/{upload}", FOUR_GIB + 1)
    assert status == 400 and document["code"] == "InvalidParameterValueException"
    assert glacier.list_parts(vaultName=vault, uploadId=upload)["Parts"] == []


def test_json_bodies_and_headers_past_their_limits(glacier):
    vault = create_vault(glacier, "policies")
    policy = {"Policy": json.dumps({"Version": "2012-10-17", "Statement": [], "Padding": "x" * (3 * MiB)})}
    error = expect_error(glacier, "SetVaultAccessPolicy", "InvalidParameterValueException", 400, vaultName=vault,
                         policy=policy)
    assert "request body" in error.response["Error"]["Message"]
    error = expect_error(glacier, "UploadArchive", "InvalidParameterValueException", 400, vaultName=vault,
                         body=b"x", archiveDescription="d" * (20 * 1024))
    assert "request headers" in error.response["Error"]["Message"]
    assert glacier.describe_vault(vaultName=vault)["NumberOfArchives"] == 0
