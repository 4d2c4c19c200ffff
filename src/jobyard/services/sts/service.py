"""AWS Security Token Service (query protocol, 2011-06-15): GetCallerIdentity.

Each account has one IAM user, ``jobyard``, whose keys are every access key that maps to the account (see
``routing.py``: a 12-digit key id is the account, any other key the default account). GetCallerIdentity
answers with that account, the user's ARN and its unique id, an ``AIDA`` id (IAM's prefix for users) derived
from the account, so the same account always gets the same id. The other operations answer
``InvalidAction`` (see ``errors.py``).
"""

from __future__ import annotations

import base64
import hashlib

from ..base import Context, Service, operation, partition
from . import errors
from .errors import ERRORS

USER_NAME = "jobyard"


def user_id(account: str) -> str:
    """An IAM user's unique id: ``AIDA`` and 17 characters of IAM's alphabet (upper-case letters, 2-7)."""
    digest = hashlib.sha256(f"{account}:user/{USER_NAME}".encode()).digest()
    return "AIDA" + base64.b32encode(digest).decode("ascii")[:17]


def user_arn(account: str, region: str) -> str:
    return f"arn:{partition(region)}:iam::{account}:user/{USER_NAME}"


class StsService(Service):
    model_name = "sts"
    signing_names = ("sts",)
    errors = ERRORS

    @operation("GetCallerIdentity")
    def get_caller_identity(self, ctx: Context, params: dict) -> dict:
        return {"UserId": user_id(ctx.account), "Account": ctx.account, "Arn": user_arn(ctx.account, ctx.region)}


errors.SERVED = frozenset(StsService.operations)
