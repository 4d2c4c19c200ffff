"""Glacier clients for the test's own account, every response checked against the model."""

from __future__ import annotations

import pytest

from conformance import checked
from glacier_helpers import glacier_client


@pytest.fixture
def glacier(server, account):
    client = glacier_client(server, account)
    with checked(client):
        yield client
