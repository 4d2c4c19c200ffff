"""Select jobs: SQL over a CSV archive, results written to S3 where OutputLocation says."""

import json

import pytest
from botocore.config import Config

from glacier_helpers import HOUR, MINUTE, create_vault, expect_error, job_state, upload
from jobyard.services.glacier import select
from support import make_client

PEOPLE = b"id,name,age,city\n1,Ana,34,Lisbon\n2,Bo,28,Oslo\n3,\"Cruz, Jr.\",41,Lima\n4,Dee,,Oslo\n"


@pytest.fixture
def s3(server, account):
    client = make_client("s3", server.url, account, config=Config(s3={"addressing_style": "path"}))
    client.create_bucket(Bucket="results")
    return client


def _select_job(glacier, vault, archive_id, expression, header="USE", output=None, prefix="out", **extra):
    parameters = {"Type": "select", "ArchiveId": archive_id, "Tier": "Expedited",
                  "SelectParameters": {"Expression": expression, "ExpressionType": "SQL",
                                       "InputSerialization": {"csv": {"FileHeaderInfo": header}},
                                       "OutputSerialization": {"csv": output or {}}},
                  "OutputLocation": {"S3": {"BucketName": "results", "Prefix": prefix}}, **extra}
    return glacier.initiate_job(vaultName=vault, jobParameters=parameters)


def _object(s3, key) -> bytes:
    return s3.get_object(Bucket="results", Key=key)["Body"].read()


def test_select_job_writes_its_results_to_s3(server, glacier, s3):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, PEOPLE)
    initiated = _select_job(glacier, vault, archive_id,
                            "SELECT s.name, s.city FROM archive s WHERE s.age <> '' AND CAST(s.age AS INT) > 30")
    job_id = initiated["jobId"]
    path = initiated["jobOutputPath"]
    assert path == f"out/{job_id}/"
    # The placeholder job.txt is written at once and describes the job.
    assert json.loads(_object(s3, f"{path}job.txt"))["JobId"] == job_id
    described = glacier.describe_job(vaultName=vault, jobId=job_id)
    assert described["Action"] == "Select" and described["JobOutputPath"] == path
    assert described["SelectParameters"]["Expression"].startswith("SELECT s.name, s.city FROM archive s")
    assert described["OutputLocation"] == {"S3": {"BucketName": "results", "Prefix": "out"}}
    assert described["ArchiveId"] == archive_id and described["Tier"] == "Expedited"
    for absent in ("ArchiveSizeInBytes", "ArchiveSHA256TreeHash", "RetrievalByteRange", "SHA256TreeHash"):
        assert absent not in described
    server.advance(5 * MINUTE)
    assert job_state(glacier, vault, job_id) == "Succeeded"
    manifest = _object(s3, f"{path}result_manifest.txt").decode().split()
    assert len(manifest) == 1 and manifest[0].startswith(f"{path}results/")
    assert _object(s3, manifest[0]) == b'Ana,Lisbon\n"Cruz, Jr.",Lima\n'
    listed = s3.list_objects_v2(Bucket="results", Prefix=path)["Contents"]
    assert not any("error" in o["Key"] for o in listed)
    error = expect_error(glacier, "GetJobOutput", "InvalidParameterValueException", 400, vaultName=vault, jobId=job_id)
    assert f"s3://results/{path}" in error.response["Error"]["Message"]


def test_select_positional_columns_and_output_settings(server, glacier, s3):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, PEOPLE)
    job = _select_job(glacier, vault, archive_id, "select _2, _3 from archive where _4 = 'Oslo'", header="IGNORE",
                      output={"FieldDelimiter": "|", "QuoteFields": "ALWAYS", "RecordDelimiter": "\r\n"}, prefix="")
    assert job["jobOutputPath"] == f"{job['jobId']}/"
    server.advance(5 * MINUTE)
    key = _object(s3, f"{job['jobOutputPath']}result_manifest.txt").decode().strip()
    assert _object(s3, key) == b'"Bo"|"28"\r\n"Dee"|""\r\n'


def test_select_star_keeps_whole_records(server, glacier, s3):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, b"a,1\nb,2\nc,3\n")
    job = _select_job(glacier, vault, archive_id, "SELECT * FROM archive WHERE _2 >= 2", header="NONE",
                      Tier="Bulk")
    server.advance(5 * HOUR - 1)
    assert job_state(glacier, vault, job["jobId"]) == "InProgress"
    server.advance(7 * HOUR + 1)
    key = _object(s3, f"{job['jobOutputPath']}result_manifest.txt").decode().strip()
    assert _object(s3, key) == b"b,2\nc,3\n"


def test_select_query_failing_on_the_data_fails_the_job(server, glacier, s3):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, PEOPLE)
    job = _select_job(glacier, vault, archive_id, "SELECT s.salary FROM archive s")
    server.advance(5 * MINUTE)
    described = glacier.describe_job(vaultName=vault, jobId=job["jobId"])
    assert described["StatusCode"] == "Failed" and "salary" in described["StatusMessage"]
    path = job["jobOutputPath"]
    assert _object(s3, f"{path}error_manifest.txt").decode().strip() == f"{path}errors/error.txt"
    assert b"salary" in _object(s3, f"{path}errors/error.txt")
    assert "Contents" not in s3.list_objects_v2(Bucket="results", Prefix=f"{path}result")


def test_select_fails_when_the_archive_is_deleted_meanwhile(server, glacier, s3):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, PEOPLE)
    job = _select_job(glacier, vault, archive_id, "SELECT * FROM archive")
    glacier.delete_archive(vaultName=vault, archiveId=archive_id)
    server.advance(5 * MINUTE)
    assert job_state(glacier, vault, job["jobId"]) == "Failed"


@pytest.mark.parametrize("expression", ["SELECT FROM archive", "SELECT * FROM table1",
                                        "SELECT * FROM archive ORDER BY _1", "SELECT COUNT(*) FROM archive",
                                        "SELECT * FROM archive LIMIT 3", "SELECT _1 FROM archive WHERE",
                                        "SELECT 'open FROM archive"])
def test_select_sql_errors_are_reported_at_once(glacier, s3, expression):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, PEOPLE)
    expect_error(glacier, "InitiateJob", "InvalidParameterValueException", 400, vaultName=vault, jobParameters={
        "Type": "select", "ArchiveId": archive_id,
        "SelectParameters": {"Expression": expression, "ExpressionType": "SQL", "InputSerialization": {"csv": {}},
                             "OutputSerialization": {"csv": {}}},
        "OutputLocation": {"S3": {"BucketName": "results"}}})
    assert glacier.list_jobs(vaultName=vault)["JobList"] == []


def test_select_input_errors(server, glacier, s3, account):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, PEOPLE)
    good = {"Expression": "SELECT * FROM archive", "ExpressionType": "SQL"}

    def initiate(code, **parameters):
        expect_error(glacier, "InitiateJob", code, 400, vaultName=vault,
                     jobParameters={"Type": "select", "ArchiveId": archive_id, **parameters})

    initiate("MissingParameterValueException", OutputLocation={"S3": {"BucketName": "results"}})
    initiate("MissingParameterValueException", SelectParameters={"ExpressionType": "SQL"},
             OutputLocation={"S3": {"BucketName": "results"}})
    initiate("MissingParameterValueException", SelectParameters=good)
    initiate("InvalidParameterValueException", SelectParameters=good, OutputLocation={"S3": {"BucketName": "nobucket"}})
    initiate("InvalidParameterValueException", SelectParameters={**good, "InputSerialization": {
        "csv": {"FieldDelimiter": "::"}}}, OutputLocation={"S3": {"BucketName": "results"}})
    initiate("InvalidParameterValueException", SelectParameters=good, RetrievalByteRange="0-1048575",
             OutputLocation={"S3": {"BucketName": "results"}})
    make_client("s3", server.url, account, region="eu-west-1", config=Config(s3={"addressing_style": "path"})
                ).create_bucket(Bucket="far-away", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    initiate("InvalidParameterValueException", SelectParameters=good, OutputLocation={"S3": {"BucketName": "far-away"}})
    assert glacier.list_jobs(vaultName=vault)["JobList"] == []


# -- the SQL subset on its own -------------------------------------------------------------------------


def _run(expression, data=PEOPLE, header="USE", output=None):
    return select.run(select.parse(expression), data, {"FileHeaderInfo": header}, output or {}).decode()


@pytest.mark.parametrize("expression, expected", [
    ("SELECT name FROM archive WHERE city = 'Oslo'", "Bo\nDee\n"),
    ("SELECT name FROM archive WHERE name LIKE '%a%'", "Ana\n"),
    ("SELECT name FROM archive WHERE UPPER(name) LIKE 'C_UZ%'", '"Cruz, Jr."\n'),
    ("SELECT id FROM archive WHERE city IN ('Lima', 'Lisbon')", "1\n3\n"),
    ("SELECT id FROM archive WHERE age BETWEEN 28 AND 34", "1\n2\n"),
    ("SELECT id FROM archive WHERE NOT age > 30 AND age <> ''", "2\n"),
    ("SELECT id FROM archive WHERE age = '' OR id = 1", "1\n4\n"),
    ("SELECT id, age + 1, name || '!' FROM archive WHERE id < 3", "1,35,Ana!\n2,29,Bo!\n"),
    ("SELECT LOWER(city), CHAR_LENGTH(name), SUBSTRING(city, 2, 2) FROM archive WHERE id = 2", "oslo,2,sl\n"),
    ('SELECT "name" FROM archive AS p WHERE p.id = 4', "Dee\n"),
    ("select s._2 from archive s where s._1 = '3'", '"Cruz, Jr."\n'),
])
def test_select_sql_subset(expression, expected):
    assert _run(expression) == expected


def test_select_cast_of_an_empty_field_fails():
    with pytest.raises(select.SelectError, match="Cannot cast"):
        _run("SELECT id FROM archive WHERE CAST(age AS INT) > 30")


def test_select_names_need_a_header():
    with pytest.raises(select.SelectError):
        _run("SELECT name FROM archive", header="NONE")
    assert _run("SELECT _2 FROM archive WHERE _1 = 'id'", header="NONE") == "name\n"
