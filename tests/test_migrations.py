"""Schema migrations: a store made by the release before them upgrades in place and answers as it did;
the migrated schema is ``schema.py``'s, on SQLite and PostgreSQL; two processes starting together apply
each revision once; the S3 row ids of revision 0002 keep the keys' order."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import threading
import uuid

import boto3
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from jobyard.clock import iso
from jobyard.config import Config
from jobyard.objects import builtin
from jobyard.store import Store
from jobyard.store import migrations
from jobyard.store.db import create_store_engine
from jobyard.store.schema import metadata
from jobyard.testing import running_server

FROZEN = os.path.join(os.path.dirname(__file__), "data", "store_0001.json")
ACCOUNT = "123456789012"
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def client(name, url):
    return boto3.client(name, endpoint_url=url, region_name="us-east-1", aws_access_key_id=ACCOUNT,
                        aws_secret_access_key="x")


def build_release_store(data_dir) -> dict:
    """A data dir exactly as the release before migrations left it: its DDL, rows and files."""
    with open(FROZEN) as f:
        frozen = json.load(f)
    db = sqlite3.connect(os.path.join(data_dir, "jobyard.db"))
    for statement in frozen["ddl"]:
        db.execute(statement)
    for table, content in frozen["tables"].items():
        marks = ", ".join("?" for _ in content["columns"])
        db.executemany(f"INSERT INTO {table} ({', '.join(content['columns'])}) VALUES ({marks})", content["rows"])
    db.commit()
    db.close()
    for relative, data in frozen["files"].items():
        path = os.path.join(data_dir, "files", relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
    return frozen


def plain(answer) -> dict:
    answer.pop("ResponseMetadata", None)
    return json.loads(json.dumps(answer, default=str))


def test_a_store_of_the_release_before_migrations_upgrades_in_place(tmp_path):
    frozen = build_release_store(tmp_path)
    rows = frozen["tables"]["resources"]["rows"]
    assert any("\x00" in row[4] for row in rows)   # the old ids, NUL byte and all
    expected = frozen["answers"]
    clock = json.loads(dict(frozen["tables"]["meta"]["rows"])["clock"])
    with running_server(Config(data_dir=str(tmp_path))) as server:
        with sqlite3.connect(os.path.join(tmp_path, "jobyard.db")) as db:
            assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrations.HEAD,)]
            ids = [r for (r,) in db.execute("SELECT id FROM resources WHERE kind LIKE 's3.%'")]
            assert ids and not any("\x00" in i for i in ids)
            assert db.execute("SELECT count(*) FROM resources").fetchone()[0] == len(rows)
            assert db.execute("SELECT count(*) FROM meta WHERE key = 'clock'").fetchone()[0] == 0
        # The frozen clock kept its time and scale.
        assert server.clock() == {"now": iso(clock["anchor_us"]), "scale": 0}
        s3, snowball, glacier = client("s3", server.url), client("snowball", server.url), client("glacier", server.url)
        assert plain(s3.list_object_versions(Bucket="frozen")) == expected["versions"]
        firsts = s3.list_object_versions(Bucket="frozen", Prefix="a")["Versions"][:2]
        assert [plain(s3.list_object_versions(Bucket="frozen", MaxKeys=2, KeyMarker="a",
                                              VersionIdMarker=v["VersionId"])) for v in firsts] \
            == expected["versions_paged"]
        assert plain(s3.list_object_versions(Bucket="frozen", Delimiter="/")) == expected["versions_delimited"]
        assert plain(s3.list_objects_v2(Bucket="frozen")) == expected["objects"]
        assert plain(s3.list_objects_v2(Bucket="frozen", Delimiter="/", Prefix="a")) == expected["objects_delimited"]
        assert plain(s3.list_multipart_uploads(Bucket="frozen")) == expected["uploads"]
        assert plain(s3.list_multipart_uploads(Bucket="frozen", MaxUploads=2)) == expected["uploads_paged"]
        assert plain(s3.list_objects_v2(Bucket="plain")) == expected["plain"]
        assert plain(snowball.list_jobs()) == expected["snowball_jobs"]
        assert plain(glacier.list_jobs(vaultName="frozen-vault")) == expected["glacier_jobs"]
        assert plain(glacier.describe_vault(vaultName="frozen-vault")) == expected["vault"]
        # Every version's bytes, through its new id.
        for version in expected["versions"]["Versions"]:
            body = s3.get_object(Bucket="frozen", Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
            assert body.decode().startswith(version["Key"] + " version ")
        assert s3.get_object(Bucket="plain", Key="only")["Body"].read() == b"plain bytes"
        # The uploads of the old store go on: parts listed, completed into a new version, aborted.
        uploads = expected["uploads"]["Uploads"]
        big = [u for u in uploads if u["Key"] == "big"]
        parts = s3.list_parts(Bucket="frozen", Key="big", UploadId=big[0]["UploadId"])["Parts"]
        assert [p["PartNumber"] for p in parts] == [1]
        s3.complete_multipart_upload(Bucket="frozen", Key="big", UploadId=big[0]["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": parts[0]["ETag"]}]})
        assert s3.get_object(Bucket="frozen", Key="big")["Body"].read() == b"part of big"
        s3.abort_multipart_upload(Bucket="frozen", Key="big", UploadId=big[1]["UploadId"])
        left = s3.list_multipart_uploads(Bucket="frozen")["Uploads"]
        assert [(u["Key"], u["UploadId"]) for u in left] == [(u["Key"], u["UploadId"]) for u in uploads
                                                             if u["Key"] != "big"]
        for entry in expected["snowball_jobs"]["JobListEntries"]:
            assert snowball.describe_job(JobId=entry["JobId"])["JobMetadata"]["JobState"] == entry["JobState"]
        # The jobs' schedule carried over: the clock row knows the next due time, and a jump applies it.
        server.advance(7 * 86400)
        states = {e["JobState"] for e in snowball.list_jobs()["JobListEntries"]}
        assert states and states != {"New"}


def test_the_encoding_of_revision_0002_keeps_the_keys_order():
    keys = sorted(["a", "a\x01", "a\x01b", "a\x01\x01", "a\x02", "ab", "a/", "a\x01\x02", "b", "\x01", ""],
                  key=lambda k: k.encode())
    versions = ["000000000001x", "ffffffffffffz"]
    ids = [builtin._version_row_id("bkt", key, v) for key in keys for v in versions]
    assert sorted(ids) == ids   # one key's versions together, keys in order
    uploads = [builtin._upload_row_id("bkt", key, "u") for key in keys]
    assert sorted(uploads) == uploads
    objects = [builtin._object_id("bkt", key) for key in keys]
    assert sorted(objects) == objects
    for key in keys:   # "past every version of a key" is the escaped key and the separator
        after = builtin._object_id("bkt", key) + builtin._SEP
        mine = [i for i in ids if i.startswith(after)]
        assert len(mine) == len(versions) and all(i > after for i in mine)
        assert all(i < after or i.startswith(after) or i > max(mine) for i in ids)


def _schema_differences(engine) -> list:
    with engine.connect() as conn:
        found = compare_metadata(MigrationContext.configure(conn), metadata)
    if engine.dialect.name == "sqlite":
        # SQLite ignores a VARCHAR's length, so 0002 leaves the declared width of resources.id as it was
        # rather than copying the whole table to widen it.
        found = [d for d in found if not (isinstance(d, list) and d[0][0] == "modify_type"
                                          and d[0][2:4] == ("resources", "id"))]
    return found


def test_head_is_the_scripts_head_and_the_migrated_schema_is_schema_py(tmp_path):
    assert ScriptDirectory.from_config(migrations.config()).get_current_head() == migrations.HEAD
    store = Store(f"sqlite:///{tmp_path}/fresh.db")
    assert _schema_differences(store.engine) == []
    with store.engine.connect() as conn:
        assert migrations.current(conn) == migrations.HEAD


def _sqlite_schema(path) -> list:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    # SQLite ignores a VARCHAR's width, which 0002 leaves as it was (see _schema_differences).
    return [(kind, name, table, " ".join((sql or "").replace("VARCHAR(1200)", "VARCHAR(2200)").split())
             if name == "resources" else " ".join((sql or "").split())) for kind, name, table, sql in rows]


def test_a_new_store_is_made_at_head_without_alembic_as_the_revisions_would_make_it(tmp_path):
    import subprocess
    import sys

    # Without Alembic: a fresh interpreter opens a new store and has not imported it.
    code = ("import sys; from jobyard.store import Store; Store(sys.argv[1]).close(); "
            "print('alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, f"sqlite:///{tmp_path}/fresh.db"], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "False"
    # The same tables, indexes, version and clock row as every revision applied from an empty database.
    engine = create_store_engine(f"sqlite:///{tmp_path}/stepwise.db")
    migrations.upgrade(engine, "0001", wall=lambda: 1000.0)
    migrations.upgrade(engine, wall=lambda: 1000.0)
    engine.dispose()
    Store(f"sqlite:///{tmp_path}/direct.db", wall=lambda: 1000.0).close()
    stepwise, direct = _sqlite_schema(f"{tmp_path}/stepwise.db"), _sqlite_schema(f"{tmp_path}/direct.db")
    assert direct == stepwise and any(name == "alembic_version" for _, name, _, _ in direct)
    for name in ("stepwise", "direct"):
        with sqlite3.connect(f"{tmp_path}/{name}.db") as db:
            assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrations.HEAD,)]
            assert db.execute("SELECT * FROM clock").fetchall() == [(1, 1000000000, 1000.0, 1.0, 1, None)]
            assert db.execute("SELECT count(*) FROM meta").fetchone()[0] == 0


def _start_together(url: str, count: int = 4) -> list:
    failures, barrier = [], threading.Barrier(count)

    def start():
        barrier.wait()
        try:
            Store(url).close()
        except Exception as error:   # pragma: no cover - reported below
            failures.append(error)

    threads = [threading.Thread(target=start) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures


def test_stores_opened_together_apply_each_revision_once_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path}/together.db"
    assert _start_together(url) == []
    with sqlite3.connect(f"{tmp_path}/together.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(migrations.HEAD,)]
        assert db.execute("SELECT count(*) FROM clock").fetchone()[0] == 1


@pytest.fixture
def pg_schema():
    """A schema of its own in the test database; its URL sets the search path to it."""
    try:
        admin = create_engine(PG, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            name = f"jobyard_clock_{uuid.uuid4().hex[:12]}"
            conn.execute(text(f"CREATE SCHEMA {name}"))
    except Exception as error:
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 (database test) is needed: {error}")
    try:
        yield f"{PG}?options=-csearch_path%3D{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


def test_migrations_on_postgresql(pg_schema):
    assert _start_together(pg_schema) == []
    engine = create_store_engine(pg_schema)
    try:
        assert _schema_differences(engine) == []
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [(migrations.HEAD,)]
            assert conn.execute(text("SELECT count(*) FROM clock")).scalar() == 1
    finally:
        engine.dispose()


def test_revision_0002_rewrites_object_ids_on_postgresql(pg_schema):
    engine = create_store_engine(pg_schema)
    try:
        migrations.upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO resources (kind, account, region, id, parent, ref, state, created_us, doc) VALUES "
                "('s3.object', :a, '', :id, 'bkt', '', '', 1, '{}')"), {"a": ACCOUNT, "id": "bkt/k\x01ey"})
        migrations.upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id FROM resources")).scalar() == "bkt/k\x01\x02ey"
            width = conn.execute(text("SELECT character_maximum_length FROM information_schema.columns "
                                      "WHERE table_name = 'resources' AND column_name = 'id' "
                                      "AND table_schema = current_schema()")).scalar()
            assert width == 2200
    finally:
        engine.dispose()


def test_a_server_on_postgresql_keeps_s3_versions(pg_schema, tmp_path):
    """Version and upload ids held a NUL byte, which PostgreSQL's text refuses; now they are stored."""
    with running_server(Config(data_dir=str(tmp_path), store_url=pg_schema, time_scale=0)) as server:
        s3 = client("s3", server.url)
        s3.create_bucket(Bucket="pg-versions")
        s3.put_bucket_versioning(Bucket="pg-versions", VersioningConfiguration={"Status": "Enabled"})
        ids = [s3.put_object(Bucket="pg-versions", Key="k", Body=str(n).encode())["VersionId"] for n in range(3)]
        listed = s3.list_object_versions(Bucket="pg-versions")["Versions"]
        assert [v["VersionId"] for v in listed] == ids[::-1]
        upload = s3.create_multipart_upload(Bucket="pg-versions", Key="k")["UploadId"]
        assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="pg-versions")["Uploads"]] == [upload]
