"""Archives: single uploads and the multipart flow keep the real bytes and their SHA-256 tree hash."""

import os
import re

import pytest

from glacier_helpers import (DAY, MiB, create_vault, expect_error, glacier_client, random_bytes, read_output,
                             retrieve, tree_hash, upload)

ID_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


def test_upload_archive_returns_id_location_and_tree_hash(glacier, account):
    vault = create_vault(glacier)
    data = random_bytes(3 * MiB + 17)
    response = glacier.upload_archive(vaultName=vault, body=data, archiveDescription="my archive")
    archive_id = response["archiveId"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert len(archive_id) == 138 and ID_ALPHABET.fullmatch(archive_id)
    assert response["checksum"] == tree_hash(data)
    assert response["location"] == f"/{account}/vaults/{vault}/archives/{archive_id}"


def test_upload_keeps_the_exact_bytes_on_disk(server, glacier):
    vault = create_vault(glacier)
    data = random_bytes(2 * MiB + 5)
    archive_id = upload(glacier, vault, data, "bytes")
    # The bytes sit in a file of the data dir, not in the database.
    on_disk = [path for path in _files_under(server.emulator.files.root) if os.path.getsize(path) == len(data)]
    assert any(open(path, "rb").read() == data for path in on_disk)
    job_id = retrieve(glacier, vault, archive_id, Tier="Expedited")
    server.advance(5 * 60)
    body, meta = read_output(glacier, vault, job_id)
    assert body == data and meta["checksum"] == tree_hash(data)


def _files_under(root):
    for folder, _, names in os.walk(root):
        for name in names:
            yield os.path.join(folder, name)


def test_upload_checksum_is_checked_when_sent(glacier):
    vault = create_vault(glacier)
    data = b"some data"
    response = glacier.upload_archive(vaultName=vault, body=data, checksum=tree_hash(data))
    assert response["checksum"] == tree_hash(data)
    error = expect_error(glacier, "UploadArchive", "InvalidParameterValueException", 400, vaultName=vault,
                         body=data, checksum="0" * 64)
    assert "Checksum mismatch" in error.response["Error"]["Message"]


def test_upload_rejects_empty_archives_and_bad_descriptions(glacier):
    vault = create_vault(glacier)
    expect_error(glacier, "UploadArchive", "InvalidParameterValueException", 400, vaultName=vault, body=b"")
    expect_error(glacier, "UploadArchive", "InvalidParameterValueException", 400, vaultName=vault, body=b"x",
                 archiveDescription="d" * 1025)
    expect_error(glacier, "UploadArchive", "InvalidParameterValueException", 400, vaultName=vault, body=b"x",
                 archiveDescription="tab\there")
    expect_error(glacier, "UploadArchive", "ResourceNotFoundException", 404, vaultName="missing", body=b"x")


def test_delete_archive_is_idempotent_but_unknown_ids_are_404(glacier):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, b"data")
    assert glacier.delete_archive(vaultName=vault, archiveId=archive_id)["ResponseMetadata"]["HTTPStatusCode"] == 204
    glacier.delete_archive(vaultName=vault, archiveId=archive_id)
    error = expect_error(glacier, "DeleteArchive", "ResourceNotFoundException", 404, vaultName=vault,
                         archiveId="A" * 138)
    assert error.response["Error"]["Message"] == f"The archive ID was not found: {'A' * 138}"
    expect_error(glacier, "InitiateJob", "ResourceNotFoundException", 404, vaultName=vault,
                 jobParameters={"Type": "archive-retrieval", "ArchiveId": archive_id})


def test_deleting_a_deleted_archive_stays_harmless_long_after(server, glacier):
    # "Attempting to delete an already-deleted archive does not result in an error" (Delete Archive), with no
    # time limit: a clean-up script that runs again months later must not fail.
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, b"data")
    glacier.delete_archive(vaultName=vault, archiveId=archive_id)
    server.advance(400 * DAY)
    response = glacier.delete_archive(vaultName=vault, archiveId=archive_id)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(glacier, "InitiateJob", "ResourceNotFoundException", 404, vaultName=vault,
                 jobParameters={"Type": "archive-retrieval", "ArchiveId": archive_id})


def test_archive_of_another_vault_gives_invalid_vault_name(glacier, account):
    create_vault(glacier, "one")
    create_vault(glacier, "two")
    archive_id = upload(glacier, "one", b"data")
    error = expect_error(glacier, "DeleteArchive", "InvalidParameterValueException", 400, vaultName="two",
                         archiveId=archive_id)
    assert error.response["Error"]["Message"] == f"Invalid vault name: arn:aws:glacier:us-east-1:{account}:vaults/two"


def _multipart(glacier, vault, data, part_size, description=None):
    params = {"vaultName": vault, "partSize": str(part_size)}
    if description:
        params["archiveDescription"] = description
    upload_id = glacier.initiate_multipart_upload(**params)["uploadId"]
    for start in range(0, len(data), part_size):
        chunk = data[start:start + part_size]
        response = glacier.upload_multipart_part(vaultName=vault, uploadId=upload_id, body=chunk,
                                                 range=f"bytes {start}-{start + len(chunk) - 1}/*")
        assert response["checksum"] == tree_hash(chunk)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    return upload_id


def test_multipart_upload_flow(server, glacier, account):
    vault = create_vault(glacier)
    data = random_bytes(5 * MiB + 123)
    initiated = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(2 * MiB), archiveDescription="mp")
    upload_id = initiated["uploadId"]
    assert len(upload_id) == 92 and ID_ALPHABET.fullmatch(upload_id)
    assert initiated["location"] == f"/{account}/vaults/{vault}/multipart-uploads/{upload_id}"
    # Parts may come in any order.
    for start in (4 * MiB, 0, 2 * MiB):
        chunk = data[start:start + 2 * MiB]
        glacier.upload_multipart_part(vaultName=vault, uploadId=upload_id, body=chunk,
                                      range=f"bytes {start}-{start + len(chunk) - 1}/*")
    parts = glacier.list_parts(vaultName=vault, uploadId=upload_id)
    assert parts["MultipartUploadId"] == upload_id and parts["PartSizeInBytes"] == 2 * MiB
    assert parts["ArchiveDescription"] == "mp"
    assert [p["RangeInBytes"] for p in parts["Parts"]] == ["0-2097151", "2097152-4194303", f"4194304-{len(data) - 1}"]
    assert parts["Parts"][0]["SHA256TreeHash"] == tree_hash(data[:2 * MiB])
    uploads = glacier.list_multipart_uploads(vaultName=vault)["UploadsList"]
    assert [u["MultipartUploadId"] for u in uploads] == [upload_id]
    completed = glacier.complete_multipart_upload(vaultName=vault, uploadId=upload_id, archiveSize=str(len(data)),
                                                  checksum=tree_hash(data))
    assert completed["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert completed["checksum"] == tree_hash(data)
    archive_id = completed["archiveId"]
    assert completed["location"] == f"/{account}/vaults/{vault}/archives/{archive_id}"
    # Completed uploads leave the listings; a retried completion answers with the same archive.
    assert glacier.list_multipart_uploads(vaultName=vault)["UploadsList"] == []
    expect_error(glacier, "ListParts", "ResourceNotFoundException", 404, vaultName=vault, uploadId=upload_id)
    again = glacier.complete_multipart_upload(vaultName=vault, uploadId=upload_id, archiveSize=str(len(data)),
                                              checksum=tree_hash(data))
    assert again["archiveId"] == archive_id
    job_id = retrieve(glacier, vault, archive_id, Tier="Expedited")
    server.advance(5 * 60)
    body, meta = read_output(glacier, vault, job_id)
    assert body == data and meta["checksum"] == tree_hash(data) and meta["archiveDescription"] == "mp"


def test_part_uploaded_again_replaces_the_first(glacier):
    vault = create_vault(glacier)
    upload_id = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MiB))["uploadId"]
    glacier.upload_multipart_part(vaultName=vault, uploadId=upload_id, body=b"a" * 10, range="bytes 0-9/*")
    glacier.upload_multipart_part(vaultName=vault, uploadId=upload_id, body=b"b" * 10, range="bytes 0-9/*")
    parts = glacier.list_parts(vaultName=vault, uploadId=upload_id)["Parts"]
    assert parts == [{"RangeInBytes": "0-9", "SHA256TreeHash": tree_hash(b"b" * 10)}]
    completed = glacier.complete_multipart_upload(vaultName=vault, uploadId=upload_id, archiveSize="10",
                                                  checksum=tree_hash(b"b" * 10))
    assert completed["checksum"] == tree_hash(b"b" * 10)


@pytest.mark.parametrize("part_size", ["1000", str(3 * MiB), str(8 * 1024 * MiB), "0", "big"])
def test_initiate_rejects_bad_part_sizes(glacier, part_size):
    vault = create_vault(glacier)
    error = expect_error(glacier, "InitiateMultipartUpload", "InvalidParameterValueException", 400,
                         vaultName=vault, partSize=part_size)
    assert "part size" in error.response["Error"]["Message"]


def test_initiate_requires_a_part_size(glacier):
    vault = create_vault(glacier)
    expect_error(glacier, "InitiateMultipartUpload", "MissingParameterValueException", 400, vaultName=vault)


@pytest.mark.parametrize("content_range", ["bytes 1-10/*", "0-9", f"bytes 0-{MiB}/*", "bytes 9-0/*"])
def test_upload_part_rejects_bad_ranges(glacier, content_range):
    vault = create_vault(glacier)
    upload_id = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MiB))["uploadId"]
    error = expect_error(glacier, "UploadMultipartPart", "InvalidParameterValueException", 400, vaultName=vault,
                         uploadId=upload_id, body=b"x" * 10, range=content_range)
    assert error.response["Error"]["Message"].startswith("Invalid Content-Range")


def test_upload_part_that_stops_short_times_out(server, account):
    client = glacier_client(server, account, retries={"max_attempts": 0})
    vault = create_vault(client)
    upload_id = client.initiate_multipart_upload(vaultName=vault, partSize=str(MiB))["uploadId"]
    expect_error(client, "UploadMultipartPart", "RequestTimeoutException", 408, vaultName=vault,
                 uploadId=upload_id, body=b"x" * 1000, range=f"bytes 0-{MiB - 1}/*")
    assert client.list_parts(vaultName=vault, uploadId=upload_id)["Parts"] == []


def test_upload_part_checks_its_checksum_and_upload(glacier):
    vault = create_vault(glacier)
    upload_id = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MiB))["uploadId"]
    expect_error(glacier, "UploadMultipartPart", "InvalidParameterValueException", 400, vaultName=vault,
                 uploadId=upload_id, body=b"x" * 10, range="bytes 0-9/*", checksum="f" * 64)
    expect_error(glacier, "UploadMultipartPart", "ResourceNotFoundException", 404, vaultName=vault,
                 uploadId="u" * 92, body=b"x" * 10, range="bytes 0-9/*")


def test_complete_refuses_gaps_and_mismatches_and_keeps_the_upload(glacier):
    vault = create_vault(glacier)
    data = random_bytes(3 * MiB)
    upload_id = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MiB))["uploadId"]
    for start in (0, 2 * MiB):   # the middle part is missing
        glacier.upload_multipart_part(vaultName=vault, uploadId=upload_id, body=data[start:start + MiB],
                                      range=f"bytes {start}-{start + MiB - 1}/*")
    expect_error(glacier, "CompleteMultipartUpload", "InvalidParameterValueException", 400, vaultName=vault,
                 uploadId=upload_id, archiveSize=str(len(data)), checksum=tree_hash(data))
    glacier.upload_multipart_part(vaultName=vault, uploadId=upload_id, body=data[MiB:2 * MiB],
                                  range=f"bytes {MiB}-{2 * MiB - 1}/*")
    expect_error(glacier, "CompleteMultipartUpload", "InvalidParameterValueException", 400, vaultName=vault,
                 uploadId=upload_id, archiveSize=str(len(data) + 1), checksum=tree_hash(data))
    expect_error(glacier, "CompleteMultipartUpload", "InvalidParameterValueException", 400, vaultName=vault,
                 uploadId=upload_id, archiveSize=str(len(data)), checksum="0" * 64)
    expect_error(glacier, "CompleteMultipartUpload", "MissingParameterValueException", 400, vaultName=vault,
                 uploadId=upload_id, checksum=tree_hash(data))
    expect_error(glacier, "CompleteMultipartUpload", "MissingParameterValueException", 400, vaultName=vault,
                 uploadId=upload_id, archiveSize=str(len(data)))
    # Failed completions wrote nothing: the upload and its three parts are still there.
    assert len(glacier.list_parts(vaultName=vault, uploadId=upload_id)["Parts"]) == 3
    assert glacier.list_vaults()["VaultList"][0]["NumberOfArchives"] == 0
    done = glacier.complete_multipart_upload(vaultName=vault, uploadId=upload_id, archiveSize=str(len(data)),
                                             checksum=tree_hash(data))
    assert done["checksum"] == tree_hash(data)


def test_parts_other_than_the_last_must_be_whole(glacier):
    vault = create_vault(glacier)
    upload_id = glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MiB))["uploadId"]
    glacier.upload_multipart_part(vaultName=vault, uploadId=upload_id, body=b"a" * 100, range="bytes 0-99/*")
    glacier.upload_multipart_part(vaultName=vault, uploadId=upload_id, body=b"b" * 100,
                                  range=f"bytes {MiB}-{MiB + 99}/*")
    expect_error(glacier, "CompleteMultipartUpload", "InvalidParameterValueException", 400, vaultName=vault,
                 uploadId=upload_id, archiveSize=str(MiB + 100), checksum="0" * 64)


def test_abort_multipart_upload(glacier):
    vault = create_vault(glacier)
    upload_id = _multipart(glacier, vault, b"z" * 100, MiB)
    response = glacier.abort_multipart_upload(vaultName=vault, uploadId=upload_id)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    glacier.abort_multipart_upload(vaultName=vault, uploadId=upload_id)   # aborting again succeeds
    assert glacier.list_multipart_uploads(vaultName=vault)["UploadsList"] == []
    expect_error(glacier, "ListParts", "ResourceNotFoundException", 404, vaultName=vault, uploadId=upload_id)
    expect_error(glacier, "CompleteMultipartUpload", "ResourceNotFoundException", 404, vaultName=vault,
                 uploadId=upload_id, archiveSize="100", checksum=tree_hash(b"z" * 100))


def test_ended_uploads_are_forgotten_after_a_day(server, glacier):
    vault = create_vault(glacier)
    upload_id = _multipart(glacier, vault, b"z" * 100, MiB)
    glacier.abort_multipart_upload(vaultName=vault, uploadId=upload_id)
    server.advance(DAY + 60)
    expect_error(glacier, "AbortMultipartUpload", "ResourceNotFoundException", 404, vaultName=vault,
                 uploadId=upload_id)


def test_list_multipart_uploads_and_parts_paginate(glacier):
    vault = create_vault(glacier)
    upload_ids = [glacier.initiate_multipart_upload(vaultName=vault, partSize=str(MiB))["uploadId"]
                  for _ in range(7)]
    pages = list(glacier.get_paginator("list_multipart_uploads").paginate(
        vaultName=vault, PaginationConfig={"PageSize": 3}))
    assert [u["MultipartUploadId"] for p in pages for u in p["UploadsList"]] == upload_ids
    assert "Marker" not in pages[-1]
    for start in range(0, 5 * MiB, MiB):
        glacier.upload_multipart_part(vaultName=vault, uploadId=upload_ids[0], body=b"p" * MiB,
                                      range=f"bytes {start}-{start + MiB - 1}/*")
    first = glacier.list_parts(vaultName=vault, uploadId=upload_ids[0], limit="2")
    assert [p["RangeInBytes"] for p in first["Parts"]] == ["0-1048575", "1048576-2097151"]
    parts = list(glacier.get_paginator("list_parts").paginate(vaultName=vault, uploadId=upload_ids[0],
                                                                PaginationConfig={"PageSize": 2}))
    assert len([p for page in parts for p in page["Parts"]]) == 5
    expect_error(glacier, "ListParts", "InvalidParameterValueException", 400, vaultName=vault,
                 uploadId=upload_ids[0], marker="not-a-marker")
    # A marker is bound to the listing it came from.
    expect_error(glacier, "ListParts", "InvalidParameterValueException", 400, vaultName=vault,
                 uploadId=upload_ids[1], marker=first["Marker"])
    expect_error(glacier, "ListMultipartUploads", "InvalidParameterValueException", 400, vaultName=vault,
                 limit="0")
