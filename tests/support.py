"""Helpers any test module may import (fixtures live in conftest.py)."""

from __future__ import annotations

import boto3

from conformance import cbor_client

REGION = "us-east-1"


def make_client(service: str, url: str, account: str, protocol: str = "json", region: str = REGION, **kwargs):
    """A boto3 client of ``account`` (the access key id is the account) against a jobyard server."""
    kwargs.update(endpoint_url=url, region_name=region, aws_access_key_id=account, aws_secret_access_key="secret")
    if protocol == "cbor":
        return cbor_client(None, service, **kwargs)
    return boto3.session.Session().client(service, **kwargs)
