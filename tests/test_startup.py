"""Start-up: a server is built without botocore, its models or Alembic, and its first requests (whichever
service, however they are routed) load what they need and answer as any later request does."""

import json
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

from jobyard.testing import free_port, wait_healthy

ACCOUNT = "123456789012"


def test_an_emulator_is_built_without_botocore_or_alembic(tmp_path):
    code = """if True:
        import json, sys
        from jobyard.config import Config
        from jobyard.server import Emulator, _MODELS
        emulator = Emulator(Config(data_dir=sys.argv[1], time_scale=0))
        print(json.dumps({"loaded": sorted(m for m in ("botocore", "alembic") if m in sys.modules),
                          "models": sorted(_MODELS)}))
        emulator.close()
    """
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "new")], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == {"loaded": [], "models": []}


def test_services_are_registered_at_first_use(tmp_path):
    """The health check does not need the services: an Emulator registers them (and imports their modules)
    when something first asks for them."""
    code = """if True:
        import json, sys
        from jobyard.config import Config
        from jobyard.server import Emulator
        emulator = Emulator(Config(data_dir=sys.argv[1], time_scale=0))
        before = "jobyard.services" in sys.modules
        names = sorted(emulator.services)
        print(json.dumps({"before": before, "names": names, "runtime": emulator.runtime is not None}))
        emulator.close()
    """
    out = json.loads(subprocess.run([sys.executable, "-c", code, str(tmp_path / "new")], capture_output=True,
                                    text=True, check=True).stdout)
    assert out["before"] is False and out["runtime"] is True
    assert {"snowball", "glacier", "s3control", "dataexchange", "s3"} <= set(out["names"])


def _call(url, method="POST", path="/", body=b"", headers=None):
    request = urllib.request.Request(url + path, data=body or None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _scope(service):
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20240101/us-east-1/{service}/aws4_request, "
                             "SignedHeaders=host, Signature=0"}


FIRST_REQUESTS = {
    # unsigned: routed by the query action, which only the STS model names
    "sts": dict(body=b"Action=GetCallerIdentity&Version=2011-06-15",
                headers={"Content-Type": "application/x-www-form-urlencoded"}),
    # routed by its target prefix, from the Snowball model
    "snowball": dict(body=b'{"MaxResults": 10}', headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSIESnowballJobManagementService.ListJobs",
        **_scope("snowball")}),
    # REST, by the signing name
    "s3": dict(method="GET", headers=_scope("s3")),
}


def _serve(tmp_path):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "jobyard", "serve", "--port", str(port), "--data-dir",
                                str(tmp_path), "--time-scale", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url)
    return process, url


def test_first_requests_of_each_kind_answer_right_after_health(tmp_path):
    """Sent together the moment the server is healthy, while it is still warming up; the answers equal those
    of the same requests once it is warm."""
    first, later = {}, {}
    for name, answers in (("first", first), ("later", later)):
        process, url = _serve(tmp_path / name)
        try:
            def send(service):
                answers[service] = _call(url, **FIRST_REQUESTS[service])
            threads = [threading.Thread(target=send, args=(service,)) for service in FIRST_REQUESTS]
            if name == "later":
                _call(url, **FIRST_REQUESTS["s3"])   # warm by now, whatever the background thread did
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
    assert first["sts"][0] == 200 and b"<Account>000000000000</Account>" in first["sts"][1]   # the default account
    assert first["snowball"][0] == 200 and json.loads(first["snowball"][1]) == {"JobListEntries": []}
    assert first["s3"][0] == 200 and b"ListAllMyBucketsResult" in first["s3"][1]
    for service in FIRST_REQUESTS:
        assert first[service][0] == later[service][0], service
    assert first["snowball"][1] == later["snowball"][1]
