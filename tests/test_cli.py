"""The ``jobyard`` command: its help, and the commands that drive a running server's admin API."""

import json
import os
import re
import signal
import subprocess
import sys
from datetime import datetime, timedelta

import pytest

from support import make_client

from jobyard.config import Config
from jobyard.testing import running_server, wait_healthy


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
    later = json.loads(jobyard("clock", "--url", own.url, "--advance", "1.5h").stdout)
    assert instant(later["now"]) - instant(after["now"]) == timedelta(minutes=90)


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
    assert negative.returncode == 2 and "'-5' is negative" in negative.stderr
    junk = jobyard("clock", "--url", own.url, "--advance", "3 weeks", check=False)
    assert junk.returncode == 2 and "unknown unit 'weeks'" in junk.stderr


def test_an_error_answer_ends_the_command_with_its_message(own):
    from jobyard.commands import admin_call

    with pytest.raises(SystemExit) as caught:
        admin_call(own.url, "GET", "nothing")
    assert str(caught.value) == "jobyard: GET /_jobyard/nothing: no admin route GET /_jobyard/nothing"


# -- jobyard serve: flags, binding, stopping ----------------------------------------------------------------

@pytest.mark.parametrize("flags, says", [
    (["--port", "99999"], "argument --port"),
    (["--port", "-1"], "argument --port"),
    (["--port", "http"], "argument --port"),
    (["--log-level", "LOUD"], "argument --log-level"),
    (["--default-account", "abc"], "argument --default-account"),
    (["--default-account", "1234567890123"], "argument --default-account"),
    (["--time-scale", "-1"], "argument --time-scale"),
    (["--time-scale", "nan"], "argument --time-scale"),
    (["--time-scale", "fast"], "argument --time-scale"),
    (["--s3-endpoint", "minio:9000"], "argument --s3-endpoint"),
    (["--auth", "magic"], "argument --auth"),
    (["--auth", "sigv4"], "--credentials"),
    (["--credentials", "/nonexistent"], "--auth sigv4"),
    (["--auth", "sigv4", "--credentials", "/nonexistent"], "cannot read /nonexistent"),
    (["--auth", "sigv4", "--credentials", "/nonexistent", "--clock-skew", "0"], "argument --clock-skew"),
    (["--host", "no-such-host.invalid"], "argument --host"),
    (["--no-such-flag"], "unrecognized arguments"),
])
def test_every_bad_flag_is_one_line_and_status_2(tmp_path, flags, says):
    result = jobyard("serve", "--data-dir", str(tmp_path), *flags, check=False)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jobyard") and "error: " in lines[0] and says in lines[0], lines
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (tmp_path / "jobyard.db").exists()   # nothing was started


def test_version():
    from importlib.metadata import version
    result = jobyard("--version")
    assert result.stdout.strip() == f"jobyard {version('jobyard')}"


class Serving:
    """``jobyard serve`` in a child process, its banner read from stdout."""

    def __init__(self, tmp_path, *flags, env=None):
        self.process = subprocess.Popen([sys.executable, "-m", "jobyard", "serve", "--data-dir", str(tmp_path),
                                         "--time-scale", "0", *flags], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
        self.banner = self.process.stdout.readline().strip()
        match = re.fullmatch(r"jobyard serving on (http://[^ ]+) \(store: .+\)", self.banner)
        assert match, (self.banner, self.process.stderr.read() if self.process.poll() is not None else "")
        self.url = match.group(1)

    def stop(self, sig=signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        return code, self.process.stderr.read()


def test_port_0_names_the_bound_port_and_sigterm_stops_cleanly(tmp_path):
    served = Serving(tmp_path, "--port", "0")
    try:
        port = int(served.url.rsplit(":", 1)[1])
        assert port != 0
        wait_healthy(served.url)   # the banner's port is the one that answers
        make_client("snowball", served.url, "111111111111").create_long_term_pricing(
            LongTermPricingType="OneYear", SnowballType="EDGE")
        # The same port again: busy, one line, status 1, no traceback.
        busy = jobyard("serve", "--data-dir", str(tmp_path / "other"), "--port", str(port), check=False)
        assert busy.returncode == 1 and busy.stdout == ""
        assert busy.stderr.strip() == f"jobyard: cannot listen on 127.0.0.1:{port}: Address already in use"
    finally:
        code, stderr = served.stop(signal.SIGTERM)
    assert code == 0 and "Traceback" not in stderr
    # The store was closed cleanly: the next process finds what the first one wrote.
    again = Serving(tmp_path, "--port", "0")
    try:
        wait_healthy(again.url)
        entries = make_client("snowball", again.url, "111111111111").list_long_term_pricing()
        assert len(entries["LongTermPricingEntries"]) == 1
    finally:
        assert again.stop(signal.SIGINT)[0] == 0


def test_binding_beyond_loopback_warns_without_auth(tmp_path):
    served = Serving(tmp_path, "--host", "0.0.0.0", "--port", "0")
    code, stderr = served.stop()
    assert code == 0 and "WARNING" in stderr and "without --auth" in stderr
    quiet = Serving(tmp_path, "--port", "0")
    code, stderr = quiet.stop()
    assert code == 0 and "WARNING" not in stderr


def test_admin_token_for_the_commands(tmp_path):
    served = Serving(tmp_path, "--port", "0", env={"JOBYARD_ADMIN_TOKEN": "from-env"})
    try:
        wait_healthy(served.url)
        refused = jobyard("clock", url=served.url, check=False)
        assert refused.returncode == 1 and "admin token" in refused.stderr and "Traceback" not in refused.stderr
        assert json.loads(jobyard("clock", "--admin-token", "from-env", url=served.url).stdout)["scale"] == 0
        env_run = subprocess.run([sys.executable, "-m", "jobyard", "reset"], capture_output=True, text=True,
                                 env={**os.environ, "JOBYARD_URL": served.url, "JOBYARD_ADMIN_TOKEN": "from-env"},
                                 timeout=60)
        assert env_run.returncode == 0 and json.loads(env_run.stdout) == {"reset": True}
    finally:
        assert served.stop()[0] == 0


def test_serve_with_auth_and_the_aws_cli(tmp_path):
    """``--auth sigv4 --credentials FILE``: the AWS CLI signs with a profile of that same file."""
    credentials = tmp_path / "credentials"
    credentials.write_text("[ci]\naws_access_key_id = AKIDCLIEXAMPLE\naws_secret_access_key = cli/secret\n"
                           "aws_account_id = 777788889999\n")
    served = Serving(tmp_path / "data", "--port", "0", "--host", "0.0.0.0", "--auth", "sigv4",
                     "--credentials", str(credentials))
    try:
        url = served.url.replace("0.0.0.0", "127.0.0.1")
        wait_healthy(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_SHARED_CREDENTIALS_FILE=str(credentials), AWS_CONFIG_FILE=str(tmp_path / "none"),
                   AWS_PROFILE="ci", AWS_DEFAULT_REGION="us-east-1")
        aws = ["aws", "glacier", "create-vault", "--account-id", "-", "--vault-name", "v", "--endpoint-url", url]
        out = subprocess.run(aws, env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "/777788889999/vaults/v" in json.loads(out.stdout)["location"]
        env.update(AWS_ACCESS_KEY_ID="AKIDCLIEXAMPLE", AWS_SECRET_ACCESS_KEY="not-the-secret")
        out = subprocess.run(aws, env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode != 0 and "InvalidSignatureException" in out.stderr
    finally:
        code, stderr = served.stop()
    assert code == 0 and "WARNING" not in stderr   # bound beyond loopback, but with --auth
