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


def test_select_header_names_casts_and_csv_settings(server, glacier, s3):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, b"# exported 2024-01-01\nSku;Item Name;Price;Qty\n"
                                        b"a1;'Tea; green';2.50;4\n#a2;withdrawn;1;1\nb7;Cups;12;0\nc3;Pot;30;2\n")
    expression = ('SELECT s.sku, UPPER(s."Item Name"), CAST(s.price AS FLOAT) * CAST(s.QTY AS INT) AS total '
                  "FROM archive AS s WHERE s.qty > 0 AND s.Price BETWEEN 2 AND 20")
    job = glacier.initiate_job(vaultName=vault, jobParameters={
        "Type": "select", "ArchiveId": archive_id, "Tier": "Expedited",
        "SelectParameters": {
            "Expression": expression, "ExpressionType": "SQL",
            "InputSerialization": {"csv": {"FileHeaderInfo": "USE", "FieldDelimiter": ";", "QuoteCharacter": "'",
                                           "Comments": "#"}},
            "OutputSerialization": {"csv": {"FieldDelimiter": "\t", "QuoteFields": "ALWAYS"}}},
        "OutputLocation": {"S3": {"BucketName": "results", "Prefix": "shop"}}})
    server.advance(5 * MINUTE)
    assert job_state(glacier, vault, job["jobId"]) == "Succeeded"
    key = _object(s3, f"{job['jobOutputPath']}result_manifest.txt").decode().strip()
    # Comment lines are skipped (the one before the header too); Pot costs 30, Cups are out of stock.
    assert _object(s3, key) == b'"a1"\t"TEA; GREEN"\t"10.0"\n'


def test_select_fails_when_the_archive_is_deleted_meanwhile(server, glacier, s3):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, PEOPLE)
    job = _select_job(glacier, vault, archive_id, "SELECT * FROM archive")
    glacier.delete_archive(vaultName=vault, archiveId=archive_id)
    server.advance(5 * MINUTE)
    assert job_state(glacier, vault, job["jobId"]) == "Failed"


@pytest.mark.parametrize("expression, message", [
    ("SELECT FROM archive", "nothing to SELECT"),
    ("SELECT * FROM table1", "ARCHIVE or OBJECT"),
    ("SELECT * FROM S3Object", "ARCHIVE or OBJECT"),          # S3 Select's table name, not Glacier's
    ("SELECT * FROM archive ORDER BY _1", "ORDER"),
    ("SELECT COUNT(*) FROM archive", "COUNT"),
    ("SELECT * FROM archive LIMIT 3", "LIMIT"),               # S3 Select only
    ("SELECT DISTINCT _1 FROM archive", "DISTINCT"),
    ("SELECT _1 FROM archive GROUP BY _1", "GROUP"),
    ("SELECT * FROM archive a JOIN archive b", "JOIN"),
    ("SELECT * FROM archive WHERE _1 IN (SELECT _1 FROM archive)", "subqueries"),
    ("SELECT * FROM archive; ATTACH DATABASE '/tmp/other.db' AS other", "single SELECT statement"),
    ("SELECT * FROM archive; SELECT * FROM archive", "single SELECT statement"),
    ("ATTACH DATABASE '/tmp/other.db' AS other", "ATTACH"),
    ("PRAGMA table_info(archive)", "PRAGMA"),
    ("SELECT sqlite_version() FROM archive", "sqlite_version"),
    ("SELECT CAST(_1 AS BLOB) FROM archive", "BLOB"),
    ("SELECT _1 FROM archive WHERE", "WHERE needs a condition"),
    ("SELECT 'open FROM archive", "Syntax error"),
    ("SELECT _1 + FROM archive", "syntax error"),
    ("SELECT _1 FROM archive WHERE _1 = = 2", "syntax error"),
    ("SELECT (_1 FROM archive", "unbalanced parentheses"),
    ("SELECT _1 _2 _3 FROM archive", "syntax error"),
    ("SELECT UPPER(_1, _2) FROM archive", "wrong number of arguments"),
])
def test_select_sql_errors_are_reported_at_once(glacier, s3, expression, message):
    vault = create_vault(glacier)
    archive_id = upload(glacier, vault, PEOPLE)
    error = expect_error(glacier, "InitiateJob", "InvalidParameterValueException", 400, vaultName=vault,
                         jobParameters={
                             "Type": "select", "ArchiveId": archive_id,
                             "SelectParameters": {"Expression": expression, "ExpressionType": "SQL",
                                                  "InputSerialization": {"csv": {}}, "OutputSerialization": {"csv": {}}},
                             "OutputLocation": {"S3": {"BucketName": "results"}}})
    assert message in error.response["Error"]["Message"]
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
    # header names: unquoted ones ignore case, quoted ones match exactly
    ('SELECT s.NAME, s."city" FROM object s WHERE s.Id = 2', "Bo,Oslo\n"),
    ("SELECT p.* FROM archive p WHERE p.name = 'Bo'", "2,Bo,28,Oslo\n"),
    ("SELECT _2 AS who, city place FROM archive WHERE id = 1", "Ana,Lisbon\n"),
    # a field compared with a number compares as a number; with a string, as a string
    ("SELECT name FROM archive WHERE age > 100", ""),
    ("SELECT name FROM archive WHERE age >= 34.0", 'Ana\n"Cruz, Jr."\n'),
    ("SELECT name FROM archive WHERE age > '100'", "Ana\nBo\n\"Cruz, Jr.\"\n"),
    ("SELECT id FROM archive WHERE id = '01'", ""),
    ("SELECT id FROM archive WHERE id IN (2, 4)", "2\n4\n"),
    # CAST and arithmetic
    ("SELECT CAST(age AS FLOAT) / 2, CAST(id AS INT) * 10 + 1, 7 / 2, 7 % 3, -age FROM archive WHERE id = 1",
     "17.0,11,3,1,-34\n"),
    ("SELECT name FROM archive WHERE age <> '' AND CAST(age AS INTEGER) > '30'", 'Ana\n"Cruz, Jr."\n'),
    ("SELECT CAST(id AS STRING) || '-' || CAST(' 41 ' AS DECIMAL) FROM archive WHERE id = 3", "3-41.0\n"),
    ("SELECT CAST('2007-04-05T14:30Z' AS TIMESTAMP), CAST('2007T' AS TIMESTAMP) FROM archive WHERE id = 1",
     "2007-04-05T14:30Z,2007T\n"),
    # conditions in the SELECT list are written as true/false
    ("SELECT id, city = 'Oslo', age IS NULL, CAST('TRUE' AS BOOL), (NOT FALSE) FROM archive WHERE id > 2",
     "3,false,false,true,true\n4,true,false,true,true\n"),
    # LIKE is case-sensitive; ESCAPE, NOT LIKE, NOT IN, NOT BETWEEN
    ("SELECT name FROM archive WHERE name LIKE 'ana'", ""),
    ("SELECT name FROM archive WHERE name NOT LIKE '%e%' AND city NOT IN ('Lima')", "Ana\nBo\n"),
    ("SELECT id FROM archive WHERE name || '%' LIKE 'Bo!%' ESCAPE '!'", "2\n"),
    ("SELECT id FROM archive WHERE age NOT BETWEEN 30 AND 40", "2\n3\n4\n"),
    # string functions in both of their forms, conditionals
    ("SELECT TRIM(LEADING 'O' FROM city), TRIM(BOTH 'a' FROM 'abca'), TRIM('  x  ') || '|', "
     "CHARACTER_LENGTH(city) FROM archive WHERE id = 2", "slo,bc,x|,4\n"),
    ("SELECT SUBSTRING(city FROM 2 FOR 3), SUBSTRING(city FROM 3), SUBSTRING(city, 0, 3), SUBSTRING(city, -4) "
     "FROM archive WHERE id = 2", "slo,lo,Os,Oslo\n"),
    ("SELECT COALESCE(NULLIF(age, ''), 'none'), CASE WHEN age = '' THEN 'x' ELSE 'y' END FROM archive WHERE id > 3",
     "none,x\n"),
    ("SELECT UPPER('straße'), LOWER('ÉTÉ') FROM archive WHERE id = 1", "STRASSE,été\n"),
    # a position past the end of a record is NULL
    ("SELECT _9 IS NULL, _9 FROM archive WHERE _1 = 1", "true,\n"),
])
def test_select_sql_subset(expression, expected):
    assert _run(expression) == expected


@pytest.mark.parametrize("expression, message", [
    ('SELECT s."NAME" FROM archive s', "The column NAME is not in the CSV header"),
    ("SELECT _1 FROM archive WHERE salary > 3", "The column salary is not in the CSV header"),
    ("SELECT CAST(name AS INT) FROM archive", "Cannot cast 'Ana' to INT"),
    ("SELECT CAST(city AS BOOL) FROM archive", "Cannot cast 'Lisbon' to BOOL"),
    ("SELECT CAST(city AS TIMESTAMP) FROM archive", "Cannot cast 'Lisbon' to TIMESTAMP"),
    ("SELECT CAST('2007-13-05' AS TIMESTAMP) FROM archive", "to TIMESTAMP"),
])
def test_select_data_errors(expression, message):
    with pytest.raises(select.SelectError, match=message):
        _run(expression)


def test_select_cast_of_an_empty_field_fails():
    with pytest.raises(select.SelectError, match="Cannot cast"):
        _run("SELECT id FROM archive WHERE CAST(age AS INT) > 30")


def test_select_the_engine_allows_only_reading_the_records():
    # The rewrite never lets such SQL through; the authorizer would refuse it anyway.
    with select._Engine([1], [(1, "a")]) as engine:
        assert list(engine.rows('SELECT "_1" FROM archive')) == [("a",)]
        for sql in ["ATTACH DATABASE ':memory:' AS other", "PRAGMA table_info(archive)", "DELETE FROM archive",
                    "SELECT sqlite_version()", "SELECT * FROM sqlite_master", "SELECT 1; SELECT 2"]:
            with pytest.raises(select.SelectError, match="not authorized|prohibited|one statement"):
                list(engine.rows(sql))


def test_select_a_query_past_its_time_budget_fails(monkeypatch):
    monkeypatch.setattr(select, "QUERY_SECONDS", 0)
    data = b"".join(b"%d,x\n" % n for n in range(5000))
    with pytest.raises(select.SelectError, match="ran longer than"):
        _run("SELECT * FROM archive WHERE _2 LIKE '%y%'", data, header="NONE")


def test_select_a_trailing_semicolon_ends_the_statement():
    assert _run("SELECT id FROM archive WHERE id = 1;  ") == "1\n"


def test_select_names_need_a_header():
    with pytest.raises(select.SelectError):
        _run("SELECT name FROM archive", header="NONE")
    assert _run("SELECT _2 FROM archive WHERE _1 = 'id'", header="NONE") == "name\n"
