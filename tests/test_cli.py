"""The ``jobyard`` command: its help, and the commands that drive a running server's admin API."""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from support import make_client

from jobyard.config import Config
from jobyard.testing import running_server


def jobyard(*args, url=None, check=True):
    env = {k: v for k, v in os.environ.items() if k != "JOBYARD_URL"}
    if url is not None:
        env["JOBYARD_URL"] = url
    result = subprocess.run([sys.executable, "-m", "jobyard", *args], capture_output=True, text=True, env=env,
                            timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def own(tmp_path):
    # Its own server: these tests change the scale and reset, which the shared server must not see.
    with running_server(Config(data_dir=str(tmp_path), time_scale=0)) as running:
        yield running


def test_help_lists_every_command():
    out = jobyard("--help").stdout
    for name in ("serve", "clock", "reset"):
        assert name in out
    assert "--time-scale" in jobyard("serve", "--help").stdout


def test_clock_reads_and_advances(own):
    before = json.loads(jobyard("clock", "--url", own.url).stdout)
    assert before == own.clock() and before["scale"] == 0
    after = json.loads(jobyard("clock", "--url", own.url, "--advance", "3600").stdout)
    assert instant(after["now"]) - instant(before["now"]) == timedelta(hours=1)
    assert after == own.clock()


def test_clock_scale_and_url_from_the_environment(own):
    assert json.loads(jobyard("clock", "--scale", "60", url=own.url).stdout)["scale"] == 60
    assert own.clock()["scale"] == 60


def test_reset(own):
    client = make_client("snowball", own.url, "111111111111")
    client.create_long_term_pricing(LongTermPricingType="OneYear", SnowballType="EDGE")
    assert json.loads(jobyard("reset", url=own.url).stdout) == {"reset": True}
    assert client.list_long_term_pricing()["LongTermPricingEntries"] == []


def test_errors_are_messages_not_tracebacks(own):
    refused = jobyard("clock", "--url", "http://127.0.0.1:1", check=False)
    assert refused.returncode == 1 and "cannot reach http://127.0.0.1:1" in refused.stderr
    assert "Traceback" not in refused.stderr
    negative = jobyard("clock", "--url", own.url, "--advance", "-5", check=False)
    assert negative.returncode == 2 and "must be >= 0" in negative.stderr


def test_an_error_answer_ends_the_command_with_its_message(own):
    from jobyard.commands import admin_call

    with pytest.raises(SystemExit) as caught:
        admin_call(own.url, "GET", "nothing")
    assert str(caught.value) == "jobyard: GET /_jobyard/nothing: no admin route GET /_jobyard/nothing"
