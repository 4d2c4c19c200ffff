"""S3 Control clients that reach the server the way users do: botocore always sends S3 Control calls to
``{AccountId}.<endpoint host>``, which does not resolve here, so the clients use the server as their HTTP
proxy and the server answers the absolute-form requests."""

from __future__ import annotations

import pytest

from conformance import checked
from s3control_helpers import s3control_client


@pytest.fixture
def s3c(server, account):
    """An S3 Control client of the test's own account (its access key is the account id)."""
    client = s3control_client(server.url, account)
    with checked(client):
        yield client


@pytest.fixture
def raw_s3c(server, account):
    """The same, with botocore's client-side parameter checks off: for the server's own input checks."""
    client = s3control_client(server.url, account, validate=False)
    with checked(client):
        yield client


@pytest.fixture
def settings(monkeypatch):
    """Set jobyard's S3 Control environment settings for one test (the server runs in this process)."""

    def apply(**values):
        for name, value in values.items():
            monkeypatch.setenv(f"JOBYARD_S3CONTROL_{name.upper()}", str(value))

    return apply
