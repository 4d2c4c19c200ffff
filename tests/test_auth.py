"""``--auth sigv4``: every AWS request is signed by a key of the credentials file, checked with botocore's
signers as the reference (sign with them, change one byte, expect each protocol's error), and the admin
token that guards ``/_jobyard/``."""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.client
import json
import time
import urllib.error
import urllib.request
import zlib
from urllib.parse import urlsplit

import boto3
import botocore.auth
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials

from conformance import GENERIC_ERROR_CODES, checked, cbor_client
from support import REGION, expect_error

from jobyard.auth import CredentialsError, Verifier, load_credentials
from jobyard.config import Config
from jobyard.testing import admin_call, running_server
from jobyard.wire import Request

ALPHA, BETA, DIGITS = "AKIDALPHAEXAMPLE", "AKIDBETAEXAMPLE", "123456789012"
SECRETS = {ALPHA: "alpha/secret+key", BETA: "beta-secret", DIGITS: "digits-secret"}
ACCOUNTS = {ALPHA: "111122223333", BETA: "444455556666", DIGITS: "444455556666"}
TOKEN = "admin-token-for-tests"
CREDENTIALS = f"""
[alpha]
aws_access_key_id = {ALPHA}
aws_secret_access_key = {SECRETS[ALPHA]}
aws_account_id = {ACCOUNTS[ALPHA]}

[beta]
aws_access_key_id = {BETA}
aws_secret_access_key = {SECRETS[BETA]}
aws_account_id = {ACCOUNTS[BETA]}

# A 12-digit key id is not its own account here: the file says whose it is.
[digits]
aws_access_key_id = {DIGITS}
aws_secret_access_key = {SECRETS[DIGITS]}
aws_account_id = {ACCOUNTS[DIGITS]}
"""
NO_RETRIES = {"total_max_attempts": 1}
AUTH_ERRORS = GENERIC_ERROR_CODES + (
    "MissingAuthenticationTokenException", "IncompleteSignatureException", "AccessDenied", "SignatureDoesNotMatch",
    "InvalidAccessKeyId", "AuthorizationHeaderMalformed", "AuthorizationQueryParametersError",
    "RequestTimeTooSkewed", "InvalidRequest",
    # STS: the query APIs' common errors
    "MissingAuthenticationToken", "IncompleteSignature", "InvalidClientTokenId", "RequestExpired")


@pytest.fixture(scope="module")
def credentials_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("creds") / "credentials"
    path.write_text(CREDENTIALS)
    return str(path)


@pytest.fixture(scope="module")
def server(tmp_path_factory, credentials_file):
    config = Config(data_dir=str(tmp_path_factory.mktemp("auth")), time_scale=0,
                    credentials=load_credentials(credentials_file), admin_token=TOKEN)
    with running_server(config) as running:
        yield running


def client(server, service: str, key: str = ALPHA, secret: str | None = None, protocol: str = "json", **config):
    options = dict(endpoint_url=server.url, region_name=REGION, aws_access_key_id=key,
                   aws_secret_access_key=SECRETS.get(key, "x") if secret is None else secret)
    boto_config = BotoConfig(retries=NO_RETRIES, **config)
    if service == "s3control":   # its host prefix ({AccountId}.) only resolves with jobyard as the proxy
        boto_config = boto_config.merge(BotoConfig(proxies={"http": server.url}))
    if service == "dataexchange":
        boto_config = boto_config.merge(BotoConfig(inject_host_prefix=False))
    if protocol == "cbor":
        return cbor_client(None, service, config=boto_config, **options)
    return boto3.session.Session().client(service, config=boto_config, **options)


# (service, protocol, an operation every account may call, its parameters, how it answers
#  a missing signature, a wrong one, an unknown key)
CASES = {
    "snowball-json": ("snowball", "json", "ListJobs", {}, ("MissingAuthenticationTokenException", 403),
                      ("InvalidSignatureException", 403), ("UnrecognizedClientException", 403)),
    "snowball-cbor": ("snowball", "cbor", "ListJobs", {}, ("MissingAuthenticationTokenException", 403),
                      ("InvalidSignatureException", 403), ("UnrecognizedClientException", 403)),
    "dataexchange": ("dataexchange", "json", "ListDataSets", {}, ("MissingAuthenticationTokenException", 403),
                     ("InvalidSignatureException", 403), ("UnrecognizedClientException", 403)),
    "glacier": ("glacier", "json", "ListVaults", {}, ("MissingAuthenticationTokenException", 400),
                ("InvalidSignatureException", 403), ("UnrecognizedClientException", 403)),
    "s3": ("s3", "json", "ListBuckets", {}, ("AccessDenied", 403), ("SignatureDoesNotMatch", 403),
           ("InvalidAccessKeyId", 403)),
    "s3control": ("s3control", "json", "ListJobs", {"AccountId": ACCOUNTS[ALPHA]}, ("AccessDenied", 403),
                  ("SignatureDoesNotMatch", 403), ("InvalidAccessKeyId", 403)),
    "sts": ("sts", "json", "GetCallerIdentity", {}, ("MissingAuthenticationToken", 403),
            ("SignatureDoesNotMatch", 403), ("InvalidClientTokenId", 403)),
}


def call(c, operation: str, params: dict):
    from botocore import xform_name
    return getattr(c, xform_name(operation))(**params)


@pytest.mark.parametrize("case", CASES)
def test_each_protocol_accepts_its_keys_and_refuses_the_rest(server, case):
    service, protocol, operation, params, missing, wrong, unknown = CASES[case]
    with checked(client(server, service, protocol=protocol)) as good:
        assert call(good, operation, params)["ResponseMetadata"]["HTTPStatusCode"] == 200
    error = expect_error(client(server, service, secret="not-the-secret", protocol=protocol), operation,
                         wrong[0], wrong[1], allowed=AUTH_ERRORS, **params)
    if service in ("s3", "s3control"):
        assert error.response["Error"]["AWSAccessKeyId"] == ALPHA
        assert error.response["Error"]["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    error = expect_error(client(server, service, key="AKIDNOBODY", protocol=protocol), operation,
                         unknown[0], unknown[1], allowed=AUTH_ERRORS, **params)
    if service == "s3":
        assert error.response["Error"]["AWSAccessKeyId"] == "AKIDNOBODY"
    expect_error(client(server, service, protocol=protocol, signature_version=UNSIGNED), operation, missing[0],
                 missing[1], allowed=AUTH_ERRORS, **params)


@pytest.mark.parametrize("case", CASES)
def test_one_changed_byte_breaks_the_signature(server, case):
    service, protocol, operation, params, _, wrong, _ = CASES[case]
    c = client(server, service, protocol=protocol)

    def tamper(request, **_):   # after signing: the signed date's last digit of seconds changes
        date = request.headers["X-Amz-Date"]
        date = date.decode() if isinstance(date, bytes) else date
        del request.headers["X-Amz-Date"]
        request.headers["X-Amz-Date"] = f"{date[:-2]}{(int(date[-2]) + 1) % 10}Z"

    c.meta.events.register("before-send", tamper)
    expect_error(c, operation, wrong[0], wrong[1], allowed=AUTH_ERRORS, **params)


def test_a_changed_json_body_breaks_the_signature(server):
    snowball = client(server, "snowball")

    def tamper(request, **_):
        request.body = request.body.replace(b"OneYear", b"TwoYear")
        del request.headers["Content-Length"]
        request.headers["Content-Length"] = str(len(request.body))

    snowball.meta.events.register("before-send", tamper)
    expect_error(snowball, "CreateLongTermPricing", "InvalidSignatureException", 403, allowed=AUTH_ERRORS,
                 LongTermPricingType="OneYear", SnowballType="EDGE")
    assert client(server, "snowball").list_long_term_pricing()["LongTermPricingEntries"] == []


def test_the_credentials_file_alone_decides_accounts(server):
    alpha, beta, digits = (client(server, "glacier", key=key) for key in (ALPHA, BETA, DIGITS))
    arn = alpha.create_vault(vaultName="owned")["location"]
    assert f"/{ACCOUNTS[ALPHA]}/vaults/owned" in arn
    # The 12-digit key belongs to beta's account, not to an account of its own digits.
    digits.create_vault(vaultName="shared")
    assert [v["VaultName"] for v in beta.list_vaults()["VaultList"]] == ["shared"]
    assert beta.describe_vault(vaultName="shared")["VaultARN"].split(":")[4] == ACCOUNTS[BETA]
    assert [v["VaultName"] for v in alpha.list_vaults()["VaultList"]] == ["owned"]
    # Glacier signs its uploads' x-amz-content-sha256; the archive goes to the key's account.
    archive = alpha.upload_archive(vaultName="owned", body=b"archived bytes")["archiveId"]
    expect_error(beta, "DeleteArchive", "ResourceNotFoundException", 404, vaultName="owned", archiveId=archive)
    # A request naming another account than the key's is that account's business, not the caller's.
    expect_error(client(server, "s3control"), "ListJobs", "AccessDenied", 403, allowed=AUTH_ERRORS,
                 AccountId=ACCOUNTS[BETA])


def test_virtual_hosted_s3_signs_the_host_it_names(server):
    """A bucket in the Host (jobyard as the client's HTTP proxy): the signature covers that host and path."""
    s3 = client(server, "s3", s3={"addressing_style": "virtual"})
    s3.create_bucket(Bucket="hosted")
    virtual = boto3.session.Session().client(
        "s3", endpoint_url="http://s3.amazonaws.com", region_name=REGION, aws_access_key_id=ALPHA,
        aws_secret_access_key=SECRETS[ALPHA],
        config=BotoConfig(retries=NO_RETRIES, proxies={"http": server.url}, s3={"addressing_style": "virtual"}))
    sent = []
    virtual.meta.events.register("before-send", lambda request, **_: sent.append(request.url))
    virtual.put_object(Bucket="hosted", Key="k", Body=b"virtually")
    assert sent[-1] == "http://hosted.s3.amazonaws.com/k"
    assert virtual.get_object(Bucket="hosted", Key="k")["Body"].read() == b"virtually"
    wrong = boto3.session.Session().client(
        "s3", endpoint_url="http://s3.amazonaws.com", region_name=REGION, aws_access_key_id=ALPHA,
        aws_secret_access_key="wrong",
        config=BotoConfig(retries=NO_RETRIES, proxies={"http": server.url}, s3={"addressing_style": "virtual"}))
    expect_error(wrong, "GetObject", "SignatureDoesNotMatch", 403, allowed=AUTH_ERRORS, Bucket="hosted", Key="k")


def test_simulated_days_do_not_age_signatures(server):
    snowball = client(server, "snowball")
    before = server.clock()["now"]
    server.advance(30 * 86400)
    assert server.clock()["now"] != before
    assert snowball.list_jobs()["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3 = client(server, "s3", signature_version="s3v4")
    s3.create_bucket(Bucket="days-later")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "days-later", "Key": "k"}, ExpiresIn=60)
    s3.put_object(Bucket="days-later", Key="k", Body=b"fresh")
    assert urllib.request.urlopen(url).read() == b"fresh"


def _signed_at(monkeypatch, seconds_ago: float):
    moment = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(
        seconds=seconds_ago)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: moment)


def test_a_skewed_request_time_is_refused(server, monkeypatch):
    _signed_at(monkeypatch, 20 * 60)
    error = expect_error(client(server, "snowball"), "ListJobs", "InvalidSignatureException", 403,
                         allowed=AUTH_ERRORS)
    assert error.response["Error"]["Message"].startswith("Signature expired: ")
    error = expect_error(client(server, "s3"), "ListBuckets", "RequestTimeTooSkewed", 403, allowed=AUTH_ERRORS)
    assert error.response["Error"]["MaxAllowedSkewMilliseconds"] == "900000"
    _signed_at(monkeypatch, -20 * 60)   # from a clock ahead of the real one, too
    expect_error(client(server, "glacier"), "ListVaults", "InvalidSignatureException", 403, allowed=AUTH_ERRORS)
    _signed_at(monkeypatch, 10 * 60)    # within AWS's 15 minutes
    assert client(server, "snowball").list_jobs()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_clock_skew_can_be_widened(tmp_path, credentials_file, monkeypatch):
    config = Config(data_dir=str(tmp_path), time_scale=0, credentials=load_credentials(credentials_file),
                    clock_skew=3600)
    with running_server(config) as wide:
        _signed_at(monkeypatch, 50 * 60)
        assert client(wide, "snowball").list_jobs()["ResponseMetadata"]["HTTPStatusCode"] == 200
        _signed_at(monkeypatch, 70 * 60)
        expect_error(client(wide, "snowball"), "ListJobs", "InvalidSignatureException", 403, allowed=AUTH_ERRORS)


# -- presigned URLs ------------------------------------------------------------------------------------------

def fetch(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method)) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def code_of(body: bytes) -> str:
    return body.split(b"<Code>", 1)[1].split(b"</Code>", 1)[0].decode()


def test_presigned_s3_get_and_put(server):
    s3 = client(server, "s3", signature_version="s3v4")
    s3.create_bucket(Bucket="presigned")
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "presigned", "Key": "a b/c~d"}, ExpiresIn=300)
    assert "X-Amz-Signature=" in put
    assert fetch(put, "PUT", b"by presigned PUT")[0] == 200
    get = s3.generate_presigned_url("get_object", Params={"Bucket": "presigned", "Key": "a b/c~d"}, ExpiresIn=300)
    assert fetch(get) == (200, b"by presigned PUT")
    # One byte of the URL changed: the key, or the signature itself.
    status, body = fetch(get.replace("c~d", "c~e"))
    assert (status, code_of(body)) == (403, "SignatureDoesNotMatch")
    signature = get.rsplit("X-Amz-Signature=", 1)[1]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    status, body = fetch(get.replace(signature, flipped))
    assert (status, code_of(body)) == (403, "SignatureDoesNotMatch")
    # A presigned URL from a key nobody has, and one missing a parameter.
    stranger = client(server, "s3", key="AKIDNOBODY", signature_version="s3v4")
    status, body = fetch(stranger.generate_presigned_url("get_object", Params={"Bucket": "presigned", "Key": "x"}))
    assert (status, code_of(body)) == (403, "InvalidAccessKeyId")
    status, body = fetch(get.replace("X-Amz-Expires=", "X-Amz-Nothing="))
    assert (status, code_of(body)) == (400, "AuthorizationQueryParametersError")


def test_an_expired_presigned_url_is_refused(server, monkeypatch):
    s3 = client(server, "s3", signature_version="s3v4")
    s3.create_bucket(Bucket="expiring")
    s3.put_object(Bucket="expiring", Key="k", Body=b"x")
    _signed_at(monkeypatch, 3600)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "expiring", "Key": "k"}, ExpiresIn=600)
    status, body = fetch(url)
    assert (status, code_of(body)) == (403, "AccessDenied")
    assert b"<Message>Request has expired</Message>" in body and b"<X-Amz-Expires>600</X-Amz-Expires>" in body
    # Signed an hour ago but valid for two: still good.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "expiring", "Key": "k"}, ExpiresIn=7200)
    assert fetch(url) == (200, b"x")


def test_presigned_request_to_another_service(server):
    """SigV4QueryAuth (not S3's): the path is encoded a second time and the body's hash is signed."""
    def url(secret=SECRETS[ALPHA]):
        request = AWSRequest("GET", server.url + "/v1/data-sets")
        SigV4QueryAuth(Credentials(ALPHA, secret), "dataexchange", REGION, expires=300).add_auth(request)
        return request.url

    def get(address: str):
        status, body = fetch(address)
        return status, json.loads(body)

    status, answer = get(url())
    assert status == 200 and answer["DataSets"] == []
    good = url()
    signature = good.rsplit("X-Amz-Signature=", 1)[1]
    status, answer = get(good.replace(signature, signature[:-1] + ("0" if signature[-1] != "0" else "1")))
    assert (status, answer["message"][:27]) == (403, "The request signature we ca")
    status, answer = get(url(secret="wrong"))
    assert status == 403 and "signature" in answer["message"]


def test_signature_version_2_is_refused(server):
    s3 = client(server, "s3", signature_version="s3")
    s3_v4 = client(server, "s3")
    s3_v4.create_bucket(Bucket="sigv2")
    status, body = fetch(s3.generate_presigned_url("get_object", Params={"Bucket": "sigv2", "Key": "k"}))
    assert (status, code_of(body)) == (400, "InvalidRequest")
    assert b"Please use AWS4-HMAC-SHA256" in body
    error = expect_error(s3, "ListBuckets", "InvalidRequest", 400, allowed=AUTH_ERRORS)
    assert "AWS4-HMAC-SHA256" in error.response["Error"]["Message"]


def test_a_malformed_authorization_header(server):
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    header = f"AWS4-HMAC-SHA256 Credential={ALPHA}/{date[:8]}/{REGION}/snowball/aws4_request, SignedHeaders=host"
    connection.request("POST", "/", body=b"{}", headers={
        "Authorization": header, "X-Amz-Date": date, "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSIESnowballJobManagementService.ListJobs"})
    response = connection.getresponse()
    answer = json.loads(response.read())
    assert (response.status, answer["__type"]) == (400, "IncompleteSignatureException")
    assert "'Signature'" in answer["message"]
    connection.request("GET", "/", headers={"Authorization": header.replace("snowball", "s3"), "X-Amz-Date": date})
    response = connection.getresponse()
    assert (response.status, code_of(response.read())) == (400, "AuthorizationHeaderMalformed")
    connection.close()


# -- S3's streaming uploads ----------------------------------------------------------------------------------

def test_streaming_upload_with_an_unsigned_trailer(server):
    """boto3's own aws-chunked upload (STREAMING-UNSIGNED-PAYLOAD-TRAILER, as it sends over TLS)."""
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="streaming")
    sent = []

    def in_trailer(params, **_):   # what botocore decides for https endpoints; this endpoint is http
        params["context"]["checksum"]["request_algorithm"]["in"] = "trailer"

    s3.meta.events.register("before-call.s3.PutObject", in_trailer)
    s3.meta.events.register("before-send.s3.PutObject", lambda request, **_: sent.append(dict(request.headers)))
    data = b"streamed " * 3000
    put = s3.put_object(Bucket="streaming", Key="k", Body=data, ChecksumAlgorithm="CRC32")
    assert sent[-1]["X-Amz-Content-SHA256"] in ("STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                                                b"STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    assert put["ChecksumCRC32"] == base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    assert s3.get_object(Bucket="streaming", Key="k")["Body"].read() == data


def _signed_chunks(server, chunks: list[bytes], trailer: dict[str, str] | None = None, secret=SECRETS[ALPHA],
                   change=lambda body: body):
    """A PUT with signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]), as the SDKs that sign
    chunks send it: botocore's signer makes the seed signature and signs each chunk's string to sign
    (the S3 API reference's "Transferring payload in multiple chunks")."""
    declared = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
    headers = {"X-Amz-Content-SHA256": declared, "Content-Encoding": "aws-chunked",
               "X-Amz-Decoded-Content-Length": str(sum(map(len, chunks)))}
    if trailer:
        headers["X-Amz-Trailer"] = ",".join(trailer)
    request = AWSRequest("PUT", f"{server.url}/streaming/signed", headers=headers)
    signer = SigV4Auth(Credentials(ALPHA, secret), "s3", REGION)   # the path needs no encoding: same as S3's
    signer.add_auth(request)
    previous = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    timestamp = request.context["timestamp"]
    scope = f"{timestamp[:8]}/{REGION}/s3/aws4_request"
    body = b""
    for chunk in [*chunks, b""]:
        string_to_sign = "\n".join(("AWS4-HMAC-SHA256-PAYLOAD", timestamp, scope, previous,
                                    hashlib.sha256(b"").hexdigest(), hashlib.sha256(chunk).hexdigest()))
        previous = signer.signature(string_to_sign, request)
        body += b"%x;chunk-signature=%s\r\n%s" % (len(chunk), previous.encode(), chunk)
        body += b"\r\n" if chunk else b""
    if trailer:
        lines = "".join(f"{name}:{value}\n" for name, value in trailer.items())
        string_to_sign = "\n".join(("AWS4-HMAC-SHA256-TRAILER", timestamp, scope, previous,
                                    hashlib.sha256(lines.encode()).hexdigest()))
        body += lines.replace("\n", "\r\n").encode()
        body += f"x-amz-trailer-signature:{signer.signature(string_to_sign, request)}\r\n".encode()
    body += b"\r\n"
    body = change(body)
    parts = urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request("PUT", "/streaming/signed", body=body, headers=dict(request.headers))
    response = connection.getresponse()
    answer = response.status, response.read()
    connection.close()
    return answer


def test_streaming_upload_with_signed_chunks(server):
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="streaming")
    chunks = [b"a" * 8192, b"b" * 8192, b"tail"]
    assert _signed_chunks(server, chunks)[0] == 200
    assert s3.get_object(Bucket="streaming", Key="signed")["Body"].read() == b"".join(chunks)
    crc = base64.b64encode(zlib.crc32(b"".join(chunks)).to_bytes(4, "big")).decode()
    status, _ = _signed_chunks(server, [b"with trailer"], {"x-amz-checksum-crc32":
                                                           base64.b64encode(zlib.crc32(b"with trailer").to_bytes(
                                                               4, "big")).decode()})
    assert status == 200
    assert s3.get_object(Bucket="streaming", Key="signed")["Body"].read() == b"with trailer"
    # One byte of a chunk, a chunk's signature, or the trailer changed: refused, nothing stored.
    for change in (lambda body: body.replace(b"b" * 8192, b"b" * 8191 + b"c"),
                   lambda body: body.replace(b";chunk-signature=", b";chunk-signature=0", 1)):
        status, body = _signed_chunks(server, chunks, change=change)
        assert (status, code_of(body)) == (403, "SignatureDoesNotMatch")
    status, body = _signed_chunks(server, chunks, {"x-amz-checksum-crc32": crc},
                                  change=lambda body: body.replace(crc.encode(), crc.encode()[:-2] + b"AA"))
    assert (status, code_of(body)) == (403, "SignatureDoesNotMatch")
    status, body = _signed_chunks(server, chunks, secret="wrong")
    assert (status, code_of(body)) == (403, "SignatureDoesNotMatch")
    assert s3.get_object(Bucket="streaming", Key="signed")["Body"].read() == b"with trailer"


# -- jobyard's own signed URLs -------------------------------------------------------------------------------

def test_jobyard_signed_urls_keep_their_expiry_on_the_simulated_clock(server):
    snowball = client(server, "snowball")
    address = snowball.create_address(Address={
        "Name": "N", "Street1": "S", "City": "C", "StateOrProvince": "WA", "Country": "US",
        "PostalCode": "98101", "PhoneNumber": "425-555-5555"})["AddressId"]
    job = snowball.create_job(JobType="LOCAL_USE", AddressId=address, SnowballType="EDGE")["JobId"]
    for _ in range(24 * 30):
        if snowball.describe_job(JobId=job)["JobMetadata"]["JobState"] == "WithCustomer":
            break
        server.advance(3600)
    url = snowball.get_job_manifest(JobId=job)["ManifestURI"]
    # No AWS signature and no admin token: the URL's own token is what admits it.
    status, body = fetch(url)
    assert status == 200 and body.startswith(b"SNOWBALL-MANIFEST")
    server.advance(61 * 60)   # past its hour, on the simulated clock only
    status, body = fetch(url)
    assert (status, code_of(body)) == (403, "AccessDenied")


# -- the admin token -----------------------------------------------------------------------------------------

def admin(server, method: str, path: str, body: dict | None = None, headers: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{server.url}/_jobyard/{path}", data=data, method=method,
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_admin_routes_need_the_token(server):
    before = server.clock()
    for method, path, body in (("POST", "clock", {"advance": 86400}), ("GET", "clock", None),
                               ("POST", "reset", None), ("GET", "nothing", None)):
        status, answer = admin(server, method, path, body)
        assert status == 401 and "token" in answer["error"]
        status, _ = admin(server, method, path, body, {"Authorization": "Bearer not-the-token"})
        assert status == 401
    assert server.clock() == before   # nothing changed
    status, answer = admin(server, "GET", "clock", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and answer == before
    status, answer = admin(server, "GET", f"clock?token={TOKEN}")
    assert status == 200 and answer == before
    assert admin(server, "GET", "nothing", headers={"Authorization": f"Bearer {TOKEN}"})[0] == 404
    status, answer = admin(server, "GET", "health")   # health stays open
    assert status == 200 and answer["status"] == "ok"
    assert admin_call(server.url, "GET", "clock", token=TOKEN) == before


def test_the_credentials_file_is_checked():
    import os
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "credentials")
        for text, wrong in (("[a]\naws_access_key_id = K\naws_secret_access_key = S\n", "aws_account_id"),
                            ("[a]\naws_access_key_id = K\naws_secret_access_key = S\naws_account_id = 12\n",
                             "12 digits"),
                            ("not ini", "not an AWS credentials file"), ("", "no profiles")):
            with open(path, "w") as file:
                file.write(text)
            with pytest.raises(CredentialsError, match=wrong):
                load_credentials(path)


def test_verifier_uses_the_real_clock_not_the_simulated_one():
    """Straight against the verifier: botocore's signature of a request passes at the time it was signed
    and fails when the verifier's real clock is 16 minutes later."""
    from jobyard.auth import Key
    keys = {"K": Key("K", "S", "111122223333")}
    request = AWSRequest("POST", "http://localhost:4600/", data=b"{}",
                         headers={"X-Amz-Target": "AWSIESnowballJobManagementService.ListJobs"})
    SigV4Auth(Credentials("K", "S"), "snowball", REGION).add_auth(request)
    signed = time.time()
    wire = Request("POST", "/", "/", "", {k.lower(): v for k, v in request.headers.items()} | {"host": "localhost:4600"},
                   b"{}", host="localhost:4600")
    assert Verifier(keys, now=lambda: signed).verify(wire, body_checked=False).account == "111122223333"
    from jobyard.errors import Unauthenticated
    with pytest.raises(Unauthenticated) as caught:
        Verifier(keys, now=lambda: signed + 16 * 60).verify(wire, body_checked=False)
    assert caught.value.kind == Unauthenticated.SKEWED


def test_s3_signer_keeps_the_path_as_sent(server):
    """boto3's S3 signer (S3SigV4Auth) signs the encoded path as sent (no second encoding); jobyard verifies it so."""
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="paths")
    for key in ("a b", "c%d", "e+f", "g/../h", "ü"):
        s3.put_object(Bucket="paths", Key=key, Body=key.encode())
        assert s3.get_object(Bucket="paths", Key=key)["Body"].read() == key.encode()


def test_aws_published_chunked_upload_example():
    """The S3 API reference's worked example of a signed chunked upload ("Signature Calculations for the
    Authorization Header: Transferring Payload in Multiple Chunks", Example: PUT Object): its seed and chunk
    signatures pass at its own time, and one changed byte of a chunk does not."""
    from jobyard.auth import Key
    from jobyard.errors import Unauthenticated

    signatures = ["ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                  "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                  "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"]
    chunks = [b"a" * 65536, b"a" * 1024, b""]
    body = b"".join(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(c), s.encode(), c) for c, s in zip(chunks, signatures))
    assert len(body) == 66824   # the example's Content-Length
    headers = {
        "host": "s3.amazonaws.com", "x-amz-date": "20130524T000000Z", "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560", "content-length": "66824",
        "authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                         "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                         "x-amz-decoded-content-length;x-amz-storage-class,"
                         "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"}
    keys = {"AKIAIOSFODNN7EXAMPLE": Key("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                        "111122223333")}
    then = datetime.datetime(2013, 5, 24, tzinfo=datetime.timezone.utc).timestamp()
    verifier = Verifier(keys, now=lambda: then)
    path = "/examplebucket/chunkObject.txt"
    request = Request("PUT", path, path, "", headers, body, host="s3.amazonaws.com")
    assert verifier.verify(request, body_checked=True).account == "111122223333"
    changed = body[:5000] + b"b" + body[5001:]
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(Request("PUT", path, path, "", headers, changed, host="s3.amazonaws.com"), body_checked=True)
    assert caught.value.kind == Unauthenticated.SIGNATURE
