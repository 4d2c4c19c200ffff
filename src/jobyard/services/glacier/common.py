"""What every part of the Glacier service shares: states, ids, file keys, dates, input checks (resource kinds,
vault ARNs and errors are in ``errors``)."""

from __future__ import annotations

import base64
import re
import secrets
import string
from datetime import datetime, timezone

from ...clock import US, iso, to_datetime
from .errors import invalid

IN_PROGRESS, SUCCEEDED, FAILED = "InProgress", "Succeeded", "Failed"
JOB_STATES = (IN_PROGRESS, SUCCEEDED, FAILED)
DELETED = "Deleted"                   # an archive's tombstone, so that deleting it again is not an error
COMPLETED, ABORTED = "Completed", "Aborted"   # multipart uploads kept for a while after they ended

MiB = 1024 * 1024
HOUR = 3600
DAY = 24 * HOUR

VAULT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,255}")
SNS_TOPIC = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}")
DESCRIPTION_MAX = 1024

_ALNUM = string.ascii_letters + string.digits


# -- ids ------------------------------------------------------------------------------------------------

def random_id(length: int) -> str:
    """An id of AWS's alphabet ``[A-Za-z0-9_-]`` (URL-safe base64): archives 138, jobs and uploads 92."""
    raw = secrets.token_bytes(length * 3 // 4 + 3)
    return base64.urlsafe_b64encode(raw).decode()[:length]


def alnum_id(length: int = 24) -> str:
    """Lock and capacity ids look like ``AE863rKkWZU53SLW5be4DUcW``."""
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


# -- file keys ---------------------------------------------------------------------------------------

def archive_key(account: str, region: str, archive_id: str) -> str:
    return f"glacier/{account}/{region}/archive/{archive_id}"


def part_key(account: str, region: str, upload_id: str, start: int) -> str:
    return f"glacier/{account}/{region}/upload/{upload_id}/{start}"


def output_key(account: str, region: str, job_id: str) -> str:
    return f"glacier/{account}/{region}/output/{job_id}"


def snapshot_key(account: str, region: str, vault: str, at_us: int) -> str:
    return f"glacier/{account}/{region}/inventory/{vault}/{at_us}"


# -- values -----------------------------------------------------------------------------------------------

def iso_seconds(us: int) -> str:
    """``2011-12-12T14:19:01Z``: how an inventory states its date."""
    return to_datetime(us).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(us: int) -> str:
    """``2012-03-20T17:03:43.221Z``: how Glacier writes every other date."""
    return iso(us)


def parse_date(text: str, what: str) -> int:
    """An ISO 8601 date of a request (``2013-03-20T17:03:43Z``) as microseconds; UTC when no zone is given."""
    try:
        text = text.strip()
        # A trailing Z for UTC, which fromisoformat only reads from Python 3.11 on.
        value = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" and text else text)
    except (ValueError, AttributeError):
        raise invalid(f"Invalid {what}: {text}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(round(value.timestamp() * US))


def check_description(text: str | None, what: str = "archive description") -> None:
    """At most 1,024 characters of printable 7-bit ASCII (0x20-0x7E)."""
    if text is None:
        return
    if len(text) > DESCRIPTION_MAX or any(not " " <= ch <= "~" for ch in text):
        raise invalid(f"Invalid {what}: it must be at most {DESCRIPTION_MAX} printable ASCII characters")


def check_sns_topic(topic: str | None) -> None:
    if topic is not None and not SNS_TOPIC.fullmatch(topic):
        raise invalid(f"Invalid SNS topic ARN: {topic}")


def parse_limit(value: str | None, default: int, maximum: int) -> int:
    """A list's ``limit``: a positive integer; larger values are served ``maximum`` at a time, as AWS does
    (ListVaults answers ``limit=1000`` with 10 vaults, ListJobs with 50 jobs)."""
    if value is None:
        return default
    text = value.strip()
    if not text.isdigit() or int(text) < 1:
        raise invalid(f"Invalid limit: {value}")
    return min(int(text), maximum)
