"""Retrieval and inventory jobs on the simulated clock, and GetJobOutput with its ranges and checksums."""

import json
import re
from datetime import datetime

import pytest

from glacier_helpers import (DAY, HOUR, MINUTE, MiB, REGION, create_vault, expect_error, job_state, random_bytes,
                             read_output, retrieve, take_inventory, tree_hash, upload)

ID_ALPHABET = re.compile(r"[A-Za-z0-9_-]{92}")


def _seconds_taken(described) -> float:
    return (datetime.fromisoformat(described["CompletionDate"])
            - datetime.fromisoformat(described["CreationDate"])).total_seconds()


@pytest.mark.parametrize("tier, low, high", [("Expedited", MINUTE, 5 * MINUTE), ("Standard", 3 * HOUR, 5 * HOUR),
                                              ("Bulk", 5 * HOUR, 12 * HOUR)])
def test_archive_retrieval_takes_the_tier_time(server, glacier, tier, low, high):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, b"payload")
    job_id = retrieve(glacier, vault, archive_id, Tier=tier)
    server.advance(low - 1)
    assert job_state(glacier, vault, job_id) == "InProgress"
    server.advance(high - low + 1)
    described = glacier.describe_job(vaultName=vault, jobId=job_id)
    assert described["StatusCode"] == "Succeeded" and described["Completed"] is True
    assert low <= _seconds_taken(described) <= high
    assert described["Tier"] == tier


def test_initiate_and_describe_archive_retrieval(server, glacier, account):
    vault = create_vault(glacier)
    data = random_bytes(2 * MiB + 10)
    archive_id = upload(glacier, vault, data)
    sns = f"arn:aws:sns:{REGION}:{account}:retrievals"
    initiated = glacier.initiate_job(vaultName=vault, jobParameters={
        "Type": "archive-retrieval", "ArchiveId": archive_id, "Description": "my job", "SNSTopic": sns})
    job_id = initiated["jobId"]
    assert initiated["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert ID_ALPHABET.fullmatch(job_id)
    assert initiated["location"] == f"/{account}/vaults/{vault}/jobs/{job_id}"
    running = glacier.describe_job(vaultName=vault, jobId=job_id)
    assert running["Action"] == "ArchiveRetrieval" and running["StatusCode"] == "InProgress"
    assert running["Completed"] is False and "CompletionDate" not in running
    assert running["ArchiveId"] == archive_id and running["JobDescription"] == "my job"
    assert running["SNSTopic"] == sns and running["Tier"] == "Standard"
    assert running["ArchiveSizeInBytes"] == len(data)
    assert running["ArchiveSHA256TreeHash"] == tree_hash(data)
    assert running["RetrievalByteRange"] == f"0-{len(data) - 1}"
    assert running["VaultARN"] == f"arn:aws:glacier:{REGION}:{account}:vaults/{vault}"
    assert "SHA256TreeHash" not in running   # a whole-archive job shows it once done
    assert "InventorySizeInBytes" not in running
    server.advance(5 * HOUR)
    done = glacier.describe_job(vaultName=vault, jobId=job_id)
    assert done["SHA256TreeHash"] == tree_hash(data) and done["StatusMessage"] == "Succeeded"
    body, meta = read_output(glacier, vault, job_id)
    assert body == data
    assert meta["status"] == 200 and meta["contentType"] == "application/octet-stream"
    assert meta["acceptRanges"] == "bytes" and meta["checksum"] == tree_hash(data)


def test_job_output_is_400_until_the_job_is_done(server, glacier):
    vault = create_vault(glacier)
    job_id = retrieve(glacier, vault, upload(glacier, vault, b"x"), Tier="Expedited")
    error = expect_error(glacier, "GetJobOutput", "InvalidParameterValueException", 400, vaultName=vault,
                         jobId=job_id)
    assert error.response["Error"]["Message"] == f"The job is not currently available for download: {job_id}"
    server.advance(5 * MINUTE)
    assert read_output(glacier, vault, job_id)[0] == b"x"


def test_jobs_expire_24_hours_after_completion(server, glacier):
    vault = create_vault(glacier)
    job_id = retrieve(glacier, vault, upload(glacier, vault, b"x"), Tier="Expedited")
    server.advance(5 * MINUTE)
    described = glacier.describe_job(vaultName=vault, jobId=job_id)
    # Completion came 1-5 minutes after creation; the output stays a day after that.
    server.advance(DAY - 5 * MINUTE)
    assert read_output(glacier, vault, job_id)[0] == b"x"
    server.advance(5 * MINUTE + 1)
    assert _seconds_taken(described) <= 5 * MINUTE
    error = expect_error(glacier, "DescribeJob", "ResourceNotFoundException", 404, vaultName=vault, jobId=job_id)
    assert error.response["Error"]["Message"] == f"The job ID was not found: {job_id}"
    expect_error(glacier, "GetJobOutput", "ResourceNotFoundException", 404, vaultName=vault, jobId=job_id)
    assert glacier.list_jobs(vaultName=vault)["JobList"] == []


def test_retrieval_fails_when_the_archive_is_deleted_meanwhile(server, glacier):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, b"soon gone")
    job_id = retrieve(glacier, vault, archive_id)
    glacier.delete_archive(vaultName=vault, archiveId=archive_id)
    server.advance(5 * HOUR)
    described = glacier.describe_job(vaultName=vault, jobId=job_id)
    assert described["StatusCode"] == "Failed" and described["Completed"] is True
    assert "deleted" in described["StatusMessage"]
    expect_error(glacier, "GetJobOutput", "InvalidParameterValueException", 400, vaultName=vault, jobId=job_id)


def test_prepared_output_survives_deleting_the_archive(server, glacier):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, b"kept for the job")
    job_id = retrieve(glacier, vault, archive_id, Tier="Expedited")
    server.advance(5 * MINUTE)
    glacier.delete_archive(vaultName=vault, archiveId=archive_id)
    assert read_output(glacier, vault, job_id)[0] == b"kept for the job"


def test_ranged_retrieval_and_tree_hash_alignment(server, glacier):
    vault = create_vault(glacier)
    data = random_bytes(5 * MiB + 100)            # chunks 0-5, the last one short
    archive_id = upload(glacier, vault, data)
    aligned = retrieve(glacier, vault, archive_id, RetrievalByteRange=f"{2 * MiB}-{4 * MiB - 1}", Tier="Expedited")
    unaligned = retrieve(glacier, vault, archive_id, RetrievalByteRange=f"{MiB}-{3 * MiB - 1}", Tier="Expedited")
    tail = retrieve(glacier, vault, archive_id, RetrievalByteRange=f"{4 * MiB}-{len(data) - 1}", Tier="Expedited")
    # A tree-hash aligned range shows its hash at once; an unaligned one never has one.
    assert glacier.describe_job(vaultName=vault, jobId=aligned)["SHA256TreeHash"] == tree_hash(data[2 * MiB:4 * MiB])
    server.advance(5 * MINUTE)
    assert "SHA256TreeHash" not in glacier.describe_job(vaultName=vault, jobId=unaligned)
    assert glacier.describe_job(vaultName=vault, jobId=unaligned)["RetrievalByteRange"] == f"{MiB}-{3 * MiB - 1}"

    body, meta = read_output(glacier, vault, aligned)
    assert body == data[2 * MiB:4 * MiB] and meta["checksum"] == tree_hash(body)
    # The Range of GetJobOutput is relative to the retrieved data.
    body, meta = read_output(glacier, vault, aligned, range=f"bytes={MiB}-{2 * MiB - 1}")
    assert body == data[3 * MiB:4 * MiB]
    assert meta["status"] == 206 and meta["contentRange"] == f"bytes {MiB}-{2 * MiB - 1}/{2 * MiB}"
    assert meta["checksum"] == tree_hash(body)
    body, meta = read_output(glacier, vault, aligned, range="bytes=0-99")
    assert body == data[2 * MiB:2 * MiB + 100] and "checksum" not in meta
    assert meta["contentRange"] == f"bytes 0-99/{2 * MiB}"

    body, meta = read_output(glacier, vault, unaligned)
    assert body == data[MiB:3 * MiB] and "checksum" not in meta
    body, meta = read_output(glacier, vault, tail)
    assert body == data[4 * MiB:] and meta["checksum"] == tree_hash(data[4 * MiB:])


def test_download_ranges_as_aws_treats_them(server, glacier):
    vault = create_vault(glacier)
    data = random_bytes(3000)
    job_id = retrieve(glacier, vault, upload(glacier, vault, data), Tier="Expedited")
    server.advance(5 * MINUTE)
    body, meta = read_output(glacier, vault, job_id, range="bytes=2000-")
    assert body == data[2000:] and meta["contentRange"] == "bytes 2000-2999/3000"
    body, meta = read_output(glacier, vault, job_id, range="bytes=2500-9999")
    assert body == data[2500:] and meta["contentRange"] == "bytes 2500-2999/3000"
    # A malformed Range is ignored: everything, 200.
    body, meta = read_output(glacier, vault, job_id, range="bytes 0-4194303/235812776")
    assert body == data and meta["status"] == 200 and "contentRange" not in meta
    error = expect_error(glacier, "GetJobOutput", "InvalidParameterValueException", 400, vaultName=vault,
                         jobId=job_id, range="bytes=3000-3999")
    assert "larger than size of retrieved data" in error.response["Error"]["Message"]


@pytest.mark.parametrize("byte_range", ["1-1048575", "0-1048576", "0-99", f"0-{10 * MiB}", "a-b", "5-1"])
def test_retrieval_ranges_must_be_megabyte_aligned(glacier, byte_range):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, random_bytes(2 * MiB + 1))
    expect_error(glacier, "InitiateJob", "InvalidParameterValueException", 400, vaultName=vault,
                 jobParameters={"Type": "archive-retrieval", "ArchiveId": archive_id, "RetrievalByteRange": byte_range})


def test_initiate_job_input_errors(glacier, account):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, b"x")

    def initiate(code, status, **parameters):
        return expect_error(glacier, "InitiateJob", code, status, vaultName=vault, jobParameters=parameters)

    initiate("MissingParameterValueException", 400, Description="no type")
    initiate("InvalidParameterValueException", 400, Type="archive-copy", ArchiveId=archive_id)
    initiate("MissingParameterValueException", 400, Type="archive-retrieval")
    initiate("InvalidParameterValueException", 400, Type="archive-retrieval", ArchiveId=archive_id, Tier="Fast")
    initiate("InvalidParameterValueException", 400, Type="archive-retrieval", ArchiveId=archive_id,
             Description="\u00e9t\u00e9")
    initiate("InvalidParameterValueException", 400, Type="archive-retrieval", ArchiveId=archive_id,
             SNSTopic="not-a-topic")
    initiate("ResourceNotFoundException", 404, Type="archive-retrieval", ArchiveId="B" * 138)
    initiate("InvalidParameterValueException", 400, Type="inventory-retrieval", ArchiveId=archive_id)
    initiate("InvalidParameterValueException", 400, Type="inventory-retrieval", RetrievalByteRange="0-1048575")
    initiate("InvalidParameterValueException", 400, Type="inventory-retrieval", Format="XML")
    expect_error(glacier, "InitiateJob", "ResourceNotFoundException", 404, vaultName="missing",
                 jobParameters={"Type": "inventory-retrieval"})
    assert glacier.list_jobs(vaultName=vault)["JobList"] == []


# -- inventory ------------------------------------------------------------------------------------------


def test_inventory_needs_a_first_inventory(glacier, account):
    vault = create_vault(glacier)
    upload(glacier, vault, b"x")
    error = expect_error(glacier, "InitiateJob", "ResourceNotFoundException", 404, vaultName=vault,
                         jobParameters={"Type": "inventory-retrieval"})
    assert f"arn:aws:glacier:{REGION}:{account}:vaults/{vault}" in error.response["Error"]["Message"]


def test_inventory_retrieval_json(server, glacier, account):
    vault = create_vault(glacier)
    first = upload(glacier, vault, b"1" * 100, "first archive")
    second = upload(glacier, vault, random_bytes(MiB + 1))
    take_inventory(server, glacier, vault)
    inventory_date = glacier.describe_vault(vaultName=vault)["LastInventoryDate"]
    # The inventory is the last daily snapshot, not the live vault.
    upload(glacier, vault, b"after the inventory")
    job_id = glacier.initiate_job(vaultName=vault, jobParameters={"Type": "inventory-retrieval"})["jobId"]
    server.advance(3.5 * HOUR - 1)
    assert job_state(glacier, vault, job_id) == "InProgress"
    server.advance(HOUR + 1)
    described = glacier.describe_job(vaultName=vault, jobId=job_id)
    assert described["Action"] == "InventoryRetrieval" and described["StatusCode"] == "Succeeded"
    assert described["InventoryRetrievalParameters"] == {"Format": "JSON"}
    for absent in ("ArchiveId", "ArchiveSizeInBytes", "RetrievalByteRange", "SHA256TreeHash", "Tier"):
        assert absent not in described
    body, meta = read_output(glacier, vault, job_id)
    assert meta["contentType"] == "application/json" and "checksum" not in meta
    assert described["InventorySizeInBytes"] == len(body)
    document = json.loads(body)
    assert document["VaultARN"] == f"arn:aws:glacier:{REGION}:{account}:vaults/{vault}"
    assert document["InventoryDate"] == inventory_date[:19] + "Z"
    assert [a["ArchiveId"] for a in document["ArchiveList"]] == [first, second]
    entry = document["ArchiveList"][0]
    assert entry["ArchiveDescription"] == "first archive" and entry["Size"] == 100
    assert entry["SHA256TreeHash"] == tree_hash(b"1" * 100)
    # Inventories give whole seconds (Glacier Developer Guide, "Downloading a Vault Inventory").
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["CreationDate"])


def test_inventory_retrieval_csv(server, glacier):
    vault = create_vault(glacier)
    plain = upload(glacier, vault, b"a", "plain")
    tricky = upload(glacier, vault, b"b", 'my archive description,1"2')
    take_inventory(server, glacier, vault)
    job_id = glacier.initiate_job(vaultName=vault, jobParameters={"Type": "inventory-retrieval",
                                                                  "Format": "CSV"})["jobId"]
    server.advance(5 * HOUR)
    body, meta = read_output(glacier, vault, job_id)
    assert meta["contentType"] == "text/csv"
    lines = body.decode().splitlines()
    assert lines[0] == "ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash"
    assert lines[1].startswith(f"{plain},plain,") and lines[1].endswith(f",1,{tree_hash(b'a')}")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lines[1].split(",")[2])
    # A field with a comma or a quote is quoted; the quote inside is escaped with a backslash.
    assert lines[2].startswith(f'{tricky},"my archive description,1\\"2",')
    assert glacier.describe_job(vaultName=vault, jobId=job_id)["InventoryRetrievalParameters"]["Format"] == "CSV"


def test_inventory_date_range_limit_and_marker(server, glacier):
    vault = create_vault(glacier)
    archives, created = [], []
    for n in range(5):
        archives.append(upload(glacier, vault, bytes([n]) * 10))
        server.advance(HOUR)
    take_inventory(server, glacier, vault)

    def inventory_job(**parameters):
        job_id = glacier.initiate_job(vaultName=vault, jobParameters={
            "Type": "inventory-retrieval", "InventoryRetrievalParameters": parameters})["jobId"]
        server.advance(5 * HOUR)
        body, _ = read_output(glacier, vault, job_id)
        document = json.loads(body)
        return [a["ArchiveId"] for a in document["ArchiveList"]], glacier.describe_job(vaultName=vault, jobId=job_id)

    listed, _ = inventory_job()
    assert listed == archives
    all_entries = json.loads(read_output(glacier, vault, glacier.list_jobs(
        vaultName=vault)["JobList"][0]["JobId"])[0])["ArchiveList"]
    created = [e["CreationDate"] for e in all_entries]
    # StartDate inclusive, EndDate exclusive.
    listed, described = inventory_job(StartDate=created[1], EndDate=created[3])
    assert listed == archives[1:3]
    assert described["InventoryRetrievalParameters"]["StartDate"] == created[1]
    # Limit pages the inventory; the next job continues from DescribeJob's Marker.
    seen, marker = [], None
    while True:
        parameters = {"Limit": "2"} if marker is None else {"Limit": "2", "Marker": marker}
        listed, described = inventory_job(**parameters)
        seen += listed
        marker = described["InventoryRetrievalParameters"].get("Marker")
        assert described["InventoryRetrievalParameters"]["Limit"] == "2"
        if marker is None:
            break
    assert seen == archives


@pytest.mark.parametrize("parameters", [{"StartDate": "yesterday"}, {"Limit": "0"}, {"Limit": "many"},
                                        {"Marker": "!!!"},
                                        {"StartDate": "2030-01-02T00:00:00Z", "EndDate": "2030-01-01T00:00:00Z"}])
def test_inventory_parameters_are_checked(server, glacier, parameters):
    vault = create_vault(glacier)
    upload(glacier, vault, b"x")
    take_inventory(server, glacier, vault)
    expect_error(glacier, "InitiateJob", "InvalidParameterValueException", 400, vaultName=vault,
                 jobParameters={"Type": "inventory-retrieval", "InventoryRetrievalParameters": parameters})


def test_inventory_output_is_the_snapshot_of_its_completion(server, glacier):
    """A job's inventory stays what it was when the job completed, though a newer inventory follows."""
    vault = create_vault(glacier)
    first = upload(glacier, vault, b"first")
    take_inventory(server, glacier, vault)
    job_id = glacier.initiate_job(vaultName=vault, jobParameters={"Type": "inventory-retrieval"})["jobId"]
    upload(glacier, vault, b"second")   # the next inventory comes 12-24 hours later, after the job's completion
    server.advance(DAY + HOUR)          # both are done now; the job's output is kept until 27.5 hours at least
    assert glacier.describe_vault(vaultName=vault)["NumberOfArchives"] == 2
    body, _ = read_output(glacier, vault, job_id)
    assert [a["ArchiveId"] for a in json.loads(body)["ArchiveList"]] == [first]
