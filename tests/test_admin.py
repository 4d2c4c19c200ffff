"""The admin API: health, clock, reset."""

import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta

import pytest

from support import make_client
from jobyard.testing import admin_call


def test_health(server):
    assert admin_call(server.url, "GET", "health") == {"status": "ok", "files": "settled"}


def test_clock_is_frozen_and_advances(server):
    before = server.clock()
    assert before["scale"] == 0
    assert server.clock()["now"] == before["now"]
    after = server.advance(3600)
    moved = datetime.fromisoformat(after["now"].replace("Z", "+00:00")) - \
        datetime.fromisoformat(before["now"].replace("Z", "+00:00"))
    assert moved == timedelta(hours=1)


@pytest.mark.parametrize("body", [{}, {"advance": -1}, {"advance": "-1m"}, {"advance": "1y"}, {"advance": True},
                                  {"advance": "NaN"}, {"advance": 1e300}, {"advance": [1]}, {"scale": -2}, {"scale": 1e300}, {"scale": 1e6 + 1}, [1, 2]])
def test_bad_clock_requests(server, body):
    with pytest.raises(urllib.error.HTTPError) as caught:
        admin_call(server.url, "POST", "clock", body)
    assert caught.value.code == 400
    assert "error" in json.loads(caught.value.read())


def test_clock_advances_by_a_duration(server):
    before = instant(server.clock()["now"])
    assert instant(server.advance("1.5h")["now"]) - before == timedelta(minutes=90)
    assert instant(admin_call(server.url, "POST", "clock", {"advance": "2d"})["now"]) - before == \
        timedelta(days=2, minutes=90)
    assert instant(admin_call(server.url, "POST", "clock", {"advance": "30"})["now"]) - before == \
        timedelta(days=2, minutes=90, seconds=30)


def test_clock_stays_within_what_a_timestamp_can_show(tmp_path):
    """Steers that would carry simulated time past the year 9000 are refused and leave the clock readable."""
    from jobyard.config import Config
    from jobyard.testing import running_server

    with running_server(Config(data_dir=str(tmp_path), time_scale=0)) as own:
        before = own.clock()
        assert admin_call(own.url, "POST", "clock", {"scale": 1e6})["scale"] == 1e6
        admin_call(own.url, "POST", "clock", {"scale": 0})
        for _ in range(80):   # 100 years at a time: stops at the bound with a 400, never a 500
            try:
                own.advance("36525d")
            except urllib.error.HTTPError as refused:
                assert refused.code == 400
                assert "9000" in json.loads(refused.read())["error"]
                break
        else:
            raise AssertionError("80 advances of 100 years were all accepted")
        after = own.clock()
        assert instant(after["now"]) > instant(before["now"])
        assert instant(after["now"]).year < 9000


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_scale_change_is_reported(tmp_path):
    from jobyard.config import Config
    from jobyard.testing import running_server

    with running_server(Config(data_dir=str(tmp_path), time_scale=0)) as own:
        assert admin_call(own.url, "POST", "clock", {"scale": 60})["scale"] == 60
        assert own.clock()["scale"] == 60


def test_reset_empties_state(tmp_path):
    from jobyard.config import Config
    from jobyard.testing import running_server

    with running_server(Config(data_dir=str(tmp_path), time_scale=0)) as own:
        client = make_client("snowball", own.url, "111111111111")
        client.create_long_term_pricing(LongTermPricingType="OneYear", SnowballType="EDGE")
        assert client.list_long_term_pricing()["LongTermPricingEntries"]
        assert own.reset() == {"reset": True}
        assert client.list_long_term_pricing()["LongTermPricingEntries"] == []


def test_unknown_admin_route(server):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{server.url}/_jobyard/nothing")
    assert caught.value.code == 404


@pytest.mark.parametrize("method, path, allowed", [("DELETE", "clock", "GET, POST"), ("GET", "reset", "POST"),
                                                   ("POST", "health", "GET")])
def test_unknown_method_on_a_known_route(server, method, path, allowed):
    request = urllib.request.Request(f"{server.url}/_jobyard/{path}", method=method)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 405
    assert caught.value.headers["allow"] == allowed
    assert caught.value.headers["content-type"] == "application/json"
    assert "error" in json.loads(caught.value.read())


def test_forged_signed_url_reaches_the_objects_route(server):
    # Any method goes to the signed-URL handler, which answers in S3's XML, not the admin API's JSON.
    for method in ("GET", "PUT", "DELETE"):
        request = urllib.request.Request(f"{server.url}/_jobyard/objects/not-a-token", method=method, data=b"")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request)
        assert caught.value.code == 403
        assert b"<Code>AccessDenied</Code>" in caught.value.read()
