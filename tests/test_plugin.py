"""The pytest plugin (run in pytest's own pytester, as a user's project would) and jobyard.testing.serve()."""

from __future__ import annotations

import json
import os
import urllib.error
from importlib.metadata import entry_points

import pytest

from jobyard.testing import serve

pytest_plugins = ["pytester"]


def plugin_args() -> list[str]:
    """The plugin comes with the installed package (entry point ``pytest11``); from a source tree not yet
    installed with it, it is named on the command line."""
    installed = any(ep.value == "jobyard.pytest_plugin" for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", "jobyard.pytest_plugin"]


def run(pytester, *args):
    return pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider", *args)


USER_TESTS = '''
import json, os, time
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

ADDRESS = {"Name": "Jane Doe", "Street1": "123 Main Street", "City": "Seattle", "StateOrProvince": "WA",
           "Country": "US", "PostalCode": "98101", "PhoneNumber": "425-555-5555"}


def record(**values):
    with open(os.environ["JOBYARD_RECORD"], "a") as f:
        f.write(json.dumps(values) + "\\n")


def test_a_snowball_job_moves_on_the_frozen_clock(jobyard):
    record(test="snowball", url=jobyard.url, data_dir=jobyard.data_dir)
    assert jobyard.clock()["scale"] == 0
    snowball = jobyard.client("snowball")
    address = snowball.create_address(Address=ADDRESS)["AddressId"]
    job = snowball.create_job(JobType="IMPORT", AddressId=address, SnowballType="EDGE", ShippingOption="NEXT_DAY",
                              RoleARN="arn:aws:iam::123456789012:role/r",
                              Resources={"S3Resources": [{"BucketArn": "arn:aws:s3:::b"}]})["JobId"]
    state = lambda: snowball.describe_job(JobId=job)["JobMetadata"]["JobState"]
    before = jobyard.now()
    time.sleep(0.05)
    assert jobyard.now() == before and state() == "New"
    assert jobyard.advance("90m")["now"]
    assert jobyard.now() - before == timedelta(minutes=90)
    assert state() == "PreparingAppliance"
    jobyard.advance(30 * 86400)   # a number is seconds
    assert state() == "Complete"


def test_every_service_is_reachable(jobyard):
    record(test="services", url=jobyard.url, data_dir=jobyard.data_dir)
    assert jobyard.client("s3control").list_jobs(AccountId="123456789012")["Jobs"] == []
    with pytest.raises(ClientError) as denied:   # the client's key is its account: another one is refused
        jobyard.client("s3control").list_jobs(AccountId="210987654321")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert jobyard.client("s3control", account="210987654321").list_jobs(AccountId="210987654321")["Jobs"] == []
    assert jobyard.client("glacier").list_vaults()["VaultList"] == []
    assert jobyard.client("dataexchange").list_data_sets()["DataSets"] == []
    assert jobyard.client("sts").get_caller_identity()["Account"] == "123456789012"
    assert jobyard.client("sts", account="210987654321", region="eu-west-1").get_caller_identity()["Account"] \\
        == "210987654321"
    jobyard.resource("s3").create_bucket(Bucket="mine")
    assert [b.name for b in jobyard.resource("s3").buckets.all()] == ["mine"]
    assert jobyard.client("s3", account="210987654321").list_buckets()["Buckets"] == []


def test_each_test_has_a_fresh_server(jobyard):
    record(test="fresh", url=jobyard.url, data_dir=jobyard.data_dir)
    assert jobyard.client("s3").list_buckets()["Buckets"] == []


def test_the_clock_runs_freezes_and_rejects_bad_durations(jobyard):
    assert jobyard.scale(3600)["scale"] == 3600
    before = jobyard.now()
    time.sleep(0.2)
    ran = jobyard.now() - before
    assert timedelta(minutes=10) <= ran <= timedelta(hours=2), ran
    assert jobyard.freeze()["scale"] == 0
    frozen = jobyard.now()
    time.sleep(0.05)
    assert jobyard.now() == frozen
    with pytest.raises(ValueError, match="unknown unit 'weeks'"):
        jobyard.advance("2 weeks")
    with pytest.raises(ValueError, match="negative"):
        jobyard.advance(-1)


def test_the_session_server_keeps_state(jobyard_session):
    record(test="session-1", url=jobyard_session.url, data_dir=jobyard_session.data_dir)
    jobyard_session.client("s3").create_bucket(Bucket="kept")


def test_until_reset(jobyard_session):
    record(test="session-2", url=jobyard_session.url, data_dir=jobyard_session.data_dir)
    s3 = jobyard_session.client("s3")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["kept"]
    now = jobyard_session.now()
    jobyard_session.reset()
    assert s3.list_buckets()["Buckets"] == []
    assert jobyard_session.now() == now   # the clock keeps its time
'''


def records(path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_the_fixtures_in_a_users_project(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("JOBYARD_RECORD", str(tmp_path / "record.jsonl"))
    pytester.makepyfile(test_user=USER_TESTS)
    result = run(pytester, "-v")
    result.assert_outcomes(passed=6)
    seen = {r["test"]: r for r in records(tmp_path / "record.jsonl")}
    function_scoped = [seen[name] for name in ("snowball", "services", "fresh")]
    assert len({r["data_dir"] for r in function_scoped}) == 3   # one server and data dir per test
    assert seen["session-1"]["url"] == seen["session-2"]["url"]
    for r in seen.values():   # every temporary data dir is gone once its server stopped
        assert not os.path.exists(r["data_dir"]), r


def test_each_xdist_worker_has_its_own_servers(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("JOBYARD_RECORD", str(tmp_path / "record.jsonl"))
    pytester.makepyfile(test_user=USER_TESTS, test_more=USER_TESTS.replace("def test_", "def test_more_"))
    result = run(pytester, "-p", "xdist", "-n", "2", "--dist", "loadfile")
    result.assert_outcomes(passed=12)
    seen = records(tmp_path / "record.jsonl")
    assert len(seen) == 10
    sessions = {r["url"] for r in seen if r["test"].startswith("session")}
    assert len(sessions) == 2   # a session server per worker (each worker ran one file)
    assert len({r["data_dir"] for r in seen if not r["test"].startswith("session")}) == 6
    assert not any(os.path.exists(r["data_dir"]) for r in seen)


def test_options_and_an_unused_plugin_imports_nothing(pytester):
    pytester.makeconftest('''
import pytest

@pytest.fixture
def jobyard_options(tmp_path):
    return {"admin_token": "s3cret", "data_dir": str(tmp_path / "kept")}
''')
    pytester.makepyfile(test_options='''
import os, sys, urllib.error, urllib.request

def test_no_server_no_import():
    assert "jobyard.server" not in sys.modules and "jobyard.testing" not in sys.modules

def test_options_reach_the_server(jobyard, tmp_path):
    assert jobyard.data_dir == str(tmp_path / "kept") and os.path.isdir(jobyard.data_dir)
    assert jobyard.advance("1m")["scale"] == 0       # the handle sends the admin token
    try:
        urllib.request.urlopen(jobyard.url + "/_jobyard/clock")
    except urllib.error.HTTPError as error:
        assert error.code == 401
    else:
        raise AssertionError("the admin token was not required")
''')
    # Deselected tests ask for no fixture: jobyard is not even imported.
    run(pytester, "-k", "no_server_no_import").assert_outcomes(passed=1, deselected=1)
    run(pytester, "-k", "options_reach").assert_outcomes(passed=1, deselected=1)


# -- serve() for other runners and scripts ---------------------------------------------------------------


def test_serve_removes_its_data_dir_and_stops():
    with serve() as jobyard:
        data_dir = jobyard.data_dir
        jobyard.client("glacier").create_vault(vaultName="v")
        assert os.path.exists(os.path.join(data_dir, "jobyard.db"))
    assert not os.path.exists(data_dir)
    with pytest.raises(urllib.error.URLError):
        jobyard.clock()


def test_serve_keeps_a_given_data_dir_and_its_state(tmp_path):
    with serve(data_dir=str(tmp_path)) as first:
        first.client("glacier").create_vault(vaultName="kept")
        first.advance("2d")
        now = first.now()
    with serve(data_dir=str(tmp_path)) as second:
        assert [v["VaultName"] for v in second.client("glacier").list_vaults()["VaultList"]] == ["kept"]
        assert second.now() == now and second.clock()["scale"] == 0


def test_two_servers_at_once_are_apart():
    with serve() as one, serve() as two:
        assert one.url != two.url and one.data_dir != two.data_dir
        one.client("s3").create_bucket(Bucket="only-in-one")
        assert two.client("s3").list_buckets()["Buckets"] == []
        one.advance("1d")
        assert one.now() > two.now()


def test_serve_with_credentials_signs_with_the_accounts_key():
    from jobyard.auth import Key

    keys = {"AKIDALPHA": Key("AKIDALPHA", "alpha-secret", "111122223333")}
    with serve(credentials=keys) as jobyard:
        assert jobyard.client("sts", account="111122223333").get_caller_identity()["Account"] == "111122223333"
        with pytest.raises(ValueError, match="no key"):
            jobyard.client("sts")


def test_clients_reach_the_server_whatever_http_proxy_says(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")   # nothing listens there
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:1")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with serve() as jobyard:
        for service in ("snowball", "glacier", "s3", "sts"):
            client = jobyard.client(service)
            assert client.meta.config.proxies == {"http": jobyard.url}
        assert jobyard.client("glacier").list_vaults()["VaultList"] == []
        assert jobyard.client("s3control").list_jobs(AccountId="123456789012")["Jobs"] == []
        assert jobyard.advance("1m")["scale"] == 0


def test_bad_options_are_refused():
    with pytest.raises(TypeError):
        with serve(no_such_option=1):
            pass


def test_the_package_declares_the_plugin():
    import re
    from pathlib import Path

    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert re.search(r'^\[project\.entry-points\.pytest11\]\njobyard = "jobyard\.pytest_plugin"', pyproject, re.M)
    assert '"pytest-xdist==3.8.0"' in pyproject
