"""The signed-URL registry and endpoint of ``objects/urls.py``, called without HTTP (the HTTP behaviour is
tested through Data Exchange's and Snowball's URLs): registration, the unit of work a handler runs in, the
size limit, and what a name no service serves or a failing handler answers."""

from __future__ import annotations

import datetime

import pytest

from jobyard.clock import US, Clock, from_datetime
from jobyard.context import Runtime
from jobyard.errors import ErrorTable
from jobyard.lifecycle import Lifecycle
from jobyard.objects import layer_for, rules
from jobyard.objects.urls import PATH, Content, Download, Upload
from jobyard.store import FileStore, Store, TokenSigner, sqlite_url

NOW = from_datetime(datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.timezone.utc))


@pytest.fixture
def runtime(tmp_path):
    store = Store(sqlite_url(str(tmp_path / "db.sqlite")))
    files = FileStore(str(tmp_path / "files"))
    signer = TokenSigner(b"k" * 32)
    runtime = Runtime(store, files, signer, layer_for(None, store, files, signer), Lifecycle(), Clock(NOW, 0.0, 0))
    yield runtime
    files.close()
    store.close()


def make_url(runtime, service: str, name: str, args: dict, account="111122223333", region="eu-west-1",
             valid_us=60 * US) -> str:
    with runtime.unit(account, region, "Op", service=service, base_url="http://here") as ctx:
        return ctx.signed_url(name, args, ctx.now_us + valid_us)


def token(url: str) -> str:
    assert url.startswith(f"http://here{PATH}")
    return url[len(f"http://here{PATH}"):]


def test_names_are_per_service_and_registered_once(runtime):
    seen = []
    runtime.urls.register("alpha", {"file": Download(lambda ctx, args: ("text/plain", b"alpha"))})
    runtime.urls.register("beta", {"file": Download(lambda ctx, args: seen.append(ctx) or ("text/plain", b"beta"))})
    with pytest.raises(ValueError):
        runtime.urls.register("alpha", {"file": Download(lambda ctx, args: ("text/plain", b""))})
    with pytest.raises(TypeError):
        runtime.urls.register("alpha", {"other": lambda ctx, args: ("text/plain", b"")})
    assert runtime.urls.serve(token(make_url(runtime, "alpha", "file", {})), "GET", {}, b"").body == b"alpha"
    answer = runtime.urls.serve(token(make_url(runtime, "beta", "file", {"x": 1}, account="444455556666",
                                               region="ap-south-1")), "GET", {}, b"", "http://client")
    assert answer.status == 200 and answer.body == b"beta"
    [ctx] = seen   # the handler runs for the account and Region that made the URL
    assert (ctx.account, ctx.region, ctx.service, ctx.base_url) == ("444455556666", "ap-south-1", "beta",
                                                                    "http://client")


def test_a_url_for_a_name_nobody_serves_is_a_defect(runtime):
    runtime.urls.register("alpha", {"file": Download(lambda ctx, args: ("text/plain", b""))})
    with pytest.raises(LookupError):
        make_url(runtime, "alpha", "missing", {})
    with pytest.raises(LookupError):
        make_url(runtime, "beta", "file", {})


def test_a_signed_name_no_longer_served_is_no_such_key(runtime):
    claim = {"s": "gone", "n": "file", "a": {}, "e": NOW + US, "acct": "111122223333", "reg": "us-east-1"}
    answer = runtime.urls.serve(runtime.signer.encode(claim, ("url",)), "GET", {}, b"")
    assert answer.status == 404 and answer.error.code == "NoSuchKey"


def test_page_tokens_are_no_urls(runtime):
    answer = runtime.urls.serve(runtime.signer.encode({"s": "alpha"}, ("acct", "op")), "GET", {}, b"")
    assert answer.status == 403 and answer.error.code == "AccessDenied"


def test_uploads_over_the_limit_are_entity_too_large(runtime):
    kept = []
    runtime.urls.register("alpha", {"in": Upload(lambda ctx, args, data, ctype: kept.append((data, ctype)),
                                                 max_bytes=4)})
    url = token(make_url(runtime, "alpha", "in", {}))
    answer = runtime.urls.serve(url, "PUT", {}, b"12345")
    assert (answer.status, answer.error.code) == (400, "EntityTooLarge")
    assert answer.error.extra == {"ProposedSize": 5, "MaxSizeAllowed": 4}
    answer = runtime.urls.serve(url, "PUT", {"content-type": "text/plain"}, b"1234")
    assert answer.status == 200 and dict(answer.headers)["ETag"] == '"81dc9bdb52d04dc20036dbd8313ed055"'
    runtime.urls.serve(url, "PUT", {}, b"")
    assert kept == [(b"1234", "text/plain"), (b"", "binary/octet-stream")]


def test_a_handler_that_refuses_or_fails_writes_nothing(runtime):
    table = ErrorTable(None)

    def write(ctx, args, data, content_type):
        ctx.files.put("written", data)
        assert ctx.errors is table
        if args["how"] == "refuse":
            raise rules.access_denied("No more uploads.")
        if args["how"] == "fail":
            raise RuntimeError("a defect")

    runtime.urls.register("alpha", {"in": Upload(write)}, table)
    refused = runtime.urls.serve(token(make_url(runtime, "alpha", "in", {"how": "refuse"})), "PUT", {}, b"a")
    assert (refused.status, refused.error.code, refused.error.message) == (403, "AccessDenied", "No more uploads.")
    failed = runtime.urls.serve(token(make_url(runtime, "alpha", "in", {"how": "fail"})), "PUT", {}, b"b")
    assert (failed.status, failed.error.code) == (500, "InternalError")
    with runtime.unit("111122223333", "eu-west-1", None) as ctx:
        assert not ctx.files.exists("written")
    assert runtime.urls.serve(token(make_url(runtime, "alpha", "in", {"how": "keep"})), "PUT", {}, b"c").status == 200
    with runtime.unit("111122223333", "eu-west-1", None) as ctx:
        assert ctx.files.get("written") == b"c"


def test_download_content_and_head(runtime):
    runtime.urls.register("alpha", {"doc": Download(lambda ctx, args: Content("application/pdf", b"%PDF", "inline"))})
    url = token(make_url(runtime, "alpha", "doc", {}))
    got = runtime.urls.serve(url, "GET", {}, b"")
    assert got.body == b"%PDF" and dict(got.headers)["Content-Disposition"] == "inline"
    head = runtime.urls.serve(url, "HEAD", {}, b"")
    assert head.body == b"" and dict(head.headers)["Content-Length"] == "4"
    assert dict(head.headers)["Content-Type"] == "application/pdf"


def test_expiry_follows_the_simulated_clock(runtime):
    runtime.urls.register("alpha", {"doc": Download(lambda ctx, args: ("text/plain", b"x"))})
    url = token(make_url(runtime, "alpha", "doc", {}, valid_us=10 * US))
    runtime.clock = Clock(NOW + 10 * US, 0.0, 0)
    assert runtime.urls.serve(url, "GET", {}, b"").status == 200
    runtime.clock = Clock(NOW + 11 * US, 0.0, 0)
    expired = runtime.urls.serve(url, "GET", {}, b"")
    assert (expired.status, expired.error.code, expired.error.message) == (403, "AccessDenied", "Request has expired")
    assert expired.error.extra == {"Expires": "2025-03-01T12:00:10Z", "ServerTime": "2025-03-01T12:00:11Z"}
