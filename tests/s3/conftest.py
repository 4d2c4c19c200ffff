"""S3 fixtures: path-style and virtual-hosted clients of the test's account, and the same server over
TLS (botocore sends aws-chunked bodies with a trailing checksum only over https)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time

import boto3
import pytest
import uvicorn
from botocore.config import Config as BotoConfig

from conformance import checked
from s3_helpers import NO_RETRIES, bucket_name, s3_client
from support import REGION, make_client

from jobyard.testing import free_port


@pytest.fixture
def s3(server, account):
    """Path-style (the endpoint is an IP address, so botocore puts the bucket in the path)."""
    client = make_client("s3", server.url, account, config=BotoConfig(retries=NO_RETRIES))
    with checked(client):
        yield client


@pytest.fixture
def s3_virtual(server, account):
    """Virtual-hosted: ``http://<bucket>.s3.amazonaws.com/<key>``, reaching jobyard as its HTTP proxy."""
    client = s3_client("http://s3.amazonaws.com", account, s3={"addressing_style": "virtual"},
                       proxies={"http": server.url}, retries=NO_RETRIES)
    with checked(client):
        yield client


@pytest.fixture
def bucket(s3, account):
    """A bucket of the test's account, made with the path-style client."""
    name = bucket_name(account)
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def tls_url(server, tmp_path_factory):
    """The session's server (same emulator, same data) also on an https port with a self-signed cert."""
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    port = free_port()
    # lifespan off: shutting this listener down must not close the shared emulator's store.
    tls = uvicorn.Server(uvicorn.Config(server.emulator.asgi, host="127.0.0.1", port=port, log_level="warning",
                                        lifespan="off", access_log=False, ssl_keyfile=str(key),
                                        ssl_certfile=str(cert)))
    thread = threading.Thread(target=tls.run, daemon=True)
    thread.start()
    context = ssl.create_default_context(cafile=str(cert))
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                with context.wrap_socket(sock, server_hostname="127.0.0.1"):
                    break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield f"https://127.0.0.1:{port}", str(cert)
    tls.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def s3_tls(tls_url, account):
    url, cert = tls_url
    client = boto3.session.Session().client("s3", endpoint_url=url, region_name=REGION, aws_access_key_id=account,
                                            aws_secret_access_key="secret", verify=cert,
                                            config=BotoConfig(retries=NO_RETRIES))
    with checked(client):
        yield client
