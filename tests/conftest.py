"""Shared fixtures: one real jobyard server (clock frozen), boto3 clients that check every response.

Each test gets a fresh 12-digit account (the access key id *is* the account), so tests never see each
other's resources though they share the server.
"""

from __future__ import annotations

import itertools
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from conformance import checked  # noqa: E402
from support import make_client  # noqa: E402

from jobyard.config import Config  # noqa: E402
from jobyard.testing import running_server  # noqa: E402

_accounts = itertools.count(100000000000 + os.getpid() * 1000)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("jobyard")
    with running_server(Config(data_dir=str(data_dir), time_scale=0)) as running:
        yield running


@pytest.fixture
def account() -> str:
    return str(next(_accounts))


@pytest.fixture(params=["json", "cbor"])
def protocol(request) -> str:
    return request.param


@pytest.fixture
def snowball(server, account, protocol):
    """A Snowball client of the test's own account, in JSON 1.1 and again in RPC v2 CBOR."""
    client = make_client("snowball", server.url, account, protocol)
    with checked(client):
        yield client
