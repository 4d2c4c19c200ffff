"""Data Exchange's signed URLs over plain HTTP, as S3 answers a presigned URL: methods, HEAD, ETag,
Content-MD5 and flexible checksums, expiry and forged tokens, each refusal in S3's XML error layout."""

import base64
import hashlib
import http.client
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest

from dataexchange_helpers import HOUR, create_data_set, create_revision, import_file, md5_b64
from dataexchange_helpers import dx  # noqa: F401  (fixture)

CSV = b"ticker,price\nAMZN,181.05\nMSFT,415.50\n"


def call(url: str, method: str = "GET", data: bytes | None = None, headers: dict | None = None):
    """(status, headers, body) of one plain HTTP request, refusals included."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers, refused.read()


def s3_error(status: int, headers, body: bytes, code: str, expected_status: int) -> dict:
    """The members of an S3 ``<Error>`` document, after checking it has S3's layout."""
    assert status == expected_status, body
    assert headers["Content-Type"] == "application/xml"
    assert headers["x-amz-request-id"] and headers["x-amz-id-2"]
    root = ET.fromstring(body)
    assert root.tag == "Error"
    members = {child.tag: child.text for child in root}
    assert members["Code"] == code and members["Message"]
    assert list(members)[:2] == ["Code", "Message"] and list(members)[-2:] == ["RequestId", "HostId"]
    assert members["RequestId"] == headers["x-amz-request-id"]
    return members


@pytest.fixture
def upload_url(dx):
    data_set = create_data_set(dx)
    revision = create_revision(dx, data_set["Id"])
    job = dx.create_job(Type="IMPORT_ASSET_FROM_SIGNED_URL", Details={"ImportAssetFromSignedUrl": {
        "AssetName": "prices.csv", "DataSetId": data_set["Id"], "RevisionId": revision["Id"],
        "Md5Hash": md5_b64(CSV)}})
    return job["Details"]["ImportAssetFromSignedUrl"]["SignedUrl"]


@pytest.fixture
def download(server, dx):
    """The export job's signed URL of an imported asset, and the job."""
    data_set = create_data_set(dx)
    revision = create_revision(dx, data_set["Id"])
    import_file(server, dx, data_set["Id"], revision["Id"], CSV, name="prices.csv")
    [asset] = dx.list_revision_assets(DataSetId=data_set["Id"], RevisionId=revision["Id"])["Assets"]
    export = dx.create_job(Type="EXPORT_ASSET_TO_SIGNED_URL", Details={"ExportAssetToSignedUrl": {
        "AssetId": asset["Id"], "DataSetId": data_set["Id"], "RevisionId": revision["Id"]}})
    dx.start_job(JobId=export["Id"])
    server.advance(30)
    return dx.get_job(JobId=export["Id"])["Details"]["ExportAssetToSignedUrl"]["SignedUrl"]


def test_upload_answers_with_the_etag_of_the_bytes(upload_url):
    status, headers, body = call(upload_url, "PUT", CSV, {"Content-MD5": md5_b64(CSV), "Content-Type": "text/csv"})
    assert status == 200 and body == b""
    assert headers["ETag"] == f'"{hashlib.md5(CSV).hexdigest()}"'


def test_download_get_and_head(download):
    status, headers, body = call(download)
    assert status == 200 and body == CSV
    etag = f'"{hashlib.md5(CSV).hexdigest()}"'
    assert headers["ETag"] == etag and headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"] == 'attachment; filename="prices.csv"'
    status, headers, body = call(download, "HEAD")
    assert status == 200 and body == b""
    assert headers["Content-Length"] == str(len(CSV)) and headers["ETag"] == etag
    assert headers["Content-Type"] == "application/octet-stream"


def test_download_ranges_as_s3_answers_them(download):
    status, headers, body = call(download, headers={"Range": "bytes=7-11"})
    assert status == 206 and body == CSV[7:12]
    assert headers["Content-Range"] == f"bytes 7-11/{len(CSV)}" and headers["Content-Length"] == "5"
    assert headers["ETag"] == f'"{hashlib.md5(CSV).hexdigest()}"'   # the whole object's, as S3 gives it
    status, headers, body = call(download, headers={"Range": "bytes=-6"})
    assert status == 206 and body == CSV[-6:]
    s3_error(*call(download, headers={"Range": f"bytes={len(CSV)}-"}), "InvalidRange", 416)


def test_large_upload_and_download_stream(dx, server):
    data = bytes(range(256)) * (3 * 4096 + 17)   # past the server's 1 MiB memory limit: spooled, then streamed
    data_set = create_data_set(dx)
    revision = create_revision(dx, data_set["Id"])
    import_file(server, dx, data_set["Id"], revision["Id"], data, name="big.bin")
    [asset] = dx.list_revision_assets(DataSetId=data_set["Id"], RevisionId=revision["Id"])["Assets"]
    export = dx.create_job(Type="EXPORT_ASSET_TO_SIGNED_URL", Details={"ExportAssetToSignedUrl": {
        "AssetId": asset["Id"], "DataSetId": data_set["Id"], "RevisionId": revision["Id"]}})
    dx.start_job(JobId=export["Id"])
    server.advance(30)
    url = dx.get_job(JobId=export["Id"])["Details"]["ExportAssetToSignedUrl"]["SignedUrl"]
    status, headers, body = call(url)
    assert status == 200 and body == data and headers["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'


def test_an_upload_over_5_gib_is_refused_before_it_is_sent(upload_url):
    url = urllib.parse.urlsplit(upload_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest("PUT", url.path)
    conn.putheader("Content-Length", str(5 * 1024 ** 3 + 1))
    conn.putheader("Expect", "100-continue")   # as SDKs send files: no byte goes before the answer
    conn.endheaders()
    response = conn.getresponse()
    members = s3_error(response.status, response.headers, response.read(), "EntityTooLarge", 400)
    conn.close()
    assert members["MaxSizeAllowed"] == str(5 * 1024 ** 3) and members["ProposedSize"] == str(5 * 1024 ** 3 + 1)
    s3_error(*call(upload_url, "PUT", CSV, {"X-Padding": "p" * (20 * 1024)}), "RequestHeaderSectionTooLarge", 400)
    assert call(upload_url, "PUT", CSV, {"Content-MD5": md5_b64(CSV)})[0] == 200


def test_content_md5_of_other_bytes_is_bad_digest(upload_url):
    members = s3_error(*call(upload_url, "PUT", CSV, {"Content-MD5": md5_b64(b"other")}), "BadDigest", 400)
    assert members["Message"] == "The Content-MD5 you specified did not match what we received."
    # Bytes that match their Content-MD5 but not the job's Md5Hash are refused the same way.
    s3_error(*call(upload_url, "PUT", b"other", {"Content-MD5": md5_b64(b"other")}), "BadDigest", 400)
    assert call(upload_url, "PUT", CSV, {"Content-MD5": md5_b64(CSV)})[0] == 200


@pytest.mark.parametrize("md5", ["not base64!", base64.b64encode(b"short").decode(), ""])
def test_malformed_content_md5_is_invalid_digest(upload_url, md5):
    members = s3_error(*call(upload_url, "PUT", CSV, {"Content-MD5": md5}), "InvalidDigest", 400)
    assert members["Message"] == "The Content-MD5 you specified was invalid."


def test_flexible_checksums_are_checked(upload_url):
    sha = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    s3_error(*call(upload_url, "PUT", CSV, {"x-amz-checksum-sha256": sha}), "BadDigest", 400)
    s3_error(*call(upload_url, "PUT", CSV, {"x-amz-checksum-sha256": "short"}), "InvalidRequest", 400)
    good = base64.b64encode(hashlib.sha256(CSV).digest()).decode()
    assert call(upload_url, "PUT", CSV, {"x-amz-checksum-sha256": good})[0] == 200


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "DELETE"])
def test_upload_url_takes_only_put(upload_url, method):
    status, headers, body = call(upload_url, method, b"" if method in ("POST", "DELETE") else None)
    assert status == 405 and headers["Allow"] == "PUT"
    if method != "HEAD":   # HEAD answers carry no body
        members = s3_error(status, headers, body, "MethodNotAllowed", 405)
        assert members["Method"] == method and members["ResourceType"] == "OBJECT"


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_download_url_takes_only_get_and_head(download, method):
    status, headers, body = call(download, method, b"x")
    members = s3_error(status, headers, body, "MethodNotAllowed", 405)
    assert headers["Allow"] == "GET, HEAD" and members["Method"] == method


def test_expired_urls_are_access_denied(server, upload_url, download):
    server.advance(HOUR + 1)
    for url, method, data in ((upload_url, "PUT", CSV), (download, "GET", None)):
        members = s3_error(*call(url, method, data), "AccessDenied", 403)
        assert members["Message"] == "Request has expired"
        expires = datetime.strptime(members["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        now = datetime.strptime(members["ServerTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        assert now > expires
    # Expiry comes before the method: a wrong method on an expired URL is still AccessDenied.
    s3_error(*call(download, "DELETE", b""), "AccessDenied", 403)


def test_forged_tokens_are_access_denied(upload_url, download):
    for url, method, data in ((upload_url, "PUT", CSV), (download, "GET", None)):
        payload, mac = url.rsplit("/", 1)[1].split(".")
        for forged in (f"{payload}.{mac[:-3]}AAA" if not mac.endswith("AAA") else f"{payload}.{mac[:-3]}BBB",
                       f"{payload[:-2]}.{mac}", "not-a-token"):
            members = s3_error(*call(url.rsplit("/", 1)[0] + "/" + forged, method, data), "AccessDenied", 403)
            assert members["Message"] == "Invalid or forged URL"
