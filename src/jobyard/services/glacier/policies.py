"""Vault policies (access policy, vault lock) and the account's data retrieval policy.

Vault access and vault lock policies are IAM policy documents. Every request here comes from the vault's
own account, so the statements that can change an answer are explicit denies: a Deny whose action,
principal, resource and conditions all match the request refuses it with AccessDeniedException. That is
what vault lock exists for ("deny glacier:DeleteArchive while glacier:ArchiveAgeInDays < 365"). A
statement using anything not understood here (NotAction, NotPrincipal, other condition keys) is not
applied: the emulator never refuses on a guess.

Data retrieval policies (one per account and region) limit Standard retrievals only, as AWS documents:
``FreeTier`` to the daily share of the free allowance, ``BytesPerHour`` to a peak hourly rate of the
retrievals in progress, ``None`` not at all (the default).
"""

from __future__ import annotations

import fnmatch
from datetime import date

import orjson

from ...clock import US, to_datetime
from ...context import Scope
from .common import DAY
from .errors import RETRIEVAL, glacier_error, invalid, missing

POLICY_MAX_BYTES = 20 * 1024

# -- policy documents -----------------------------------------------------------------------------------------


def parse_policy(text: str | None, what: str) -> dict:
    """A policy document as sent: JSON, at most 20 KB, an object with a Statement."""
    if text is None:
        raise missing(f"Required parameter missing: {what}")
    if len(text.encode()) > POLICY_MAX_BYTES:
        raise invalid(f"The {what} is larger than {POLICY_MAX_BYTES} bytes")
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise invalid(f"The {what} is not valid JSON") from None
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not statements or not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise invalid(f"The {what} must be a JSON object with at least one Statement")
    for statement in statements:
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise invalid(f"The {what} has a statement whose Effect is neither Allow nor Deny")
        if "Action" not in statement and "NotAction" not in statement:
            raise invalid(f"The {what} has a statement without an Action")
    return document


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _matches(patterns, value: str) -> bool:
    return any(isinstance(p, str) and fnmatch.fnmatchcase(value.lower(), p.lower()) for p in _as_list(patterns))


def _principal_matches(principal, account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for value in _as_list(principal.get("AWS", [])):
        if value == "*" or value == account or (isinstance(value, str) and f":{account}:" in value):
            return True
    return False


_NUMERIC = {
    "NumericLessThan": lambda a, b: a < b, "NumericLessThanEquals": lambda a, b: a <= b,
    "NumericGreaterThan": lambda a, b: a > b, "NumericGreaterThanEquals": lambda a, b: a >= b,
    "NumericEquals": lambda a, b: a == b, "NumericNotEquals": lambda a, b: a != b,
}


def _conditions_hold(conditions, facts: dict) -> bool | None:
    """True/False when every condition could be judged, None when one uses what is not understood here."""
    if not conditions:
        return True
    if not isinstance(conditions, dict):
        return None
    for operator, tests in conditions.items():
        compare = _NUMERIC.get(operator)
        if compare is None or not isinstance(tests, dict):
            return None
        for key, wanted in tests.items():
            actual = facts.get(key.lower())
            if actual is None:
                return None if key.lower() not in facts else False
            try:
                if not any(compare(actual, float(w)) for w in _as_list(wanted)):
                    return False
            except (TypeError, ValueError):
                return None
    return True


def denies(document: dict, action: str, account: str, resource: str, facts: dict) -> bool:
    """Whether an explicit Deny of ``document`` applies to ``action`` on ``resource``.

    ``facts`` are the condition keys this request has (lower-cased, e.g. ``glacier:archiveageindays``);
    a key mapped to None is known to the request kind but has no value here.
    """
    for statement in _as_list(document.get("Statement", [])):
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        if any(k in statement for k in ("NotAction", "NotPrincipal", "NotResource")):
            continue
        if not _matches(statement.get("Action", []), action):
            continue
        if "Principal" in statement and not _principal_matches(statement["Principal"], account):
            continue
        if "Resource" in statement and not _matches(statement["Resource"], resource):
            continue
        if _conditions_hold(statement.get("Condition"), facts):
            return True
    return False


# -- data retrieval policy ------------------------------------------------------------------------------------

STRATEGIES = ("BytesPerHour", "FreeTier", "None")
DEFAULT_RULES = [{"Strategy": "None"}]
FREE_TIER_PER_MONTH = 10 * 1024 ** 3          # 10 GB of Standard retrievals a month
FREE_TIER_PER_DAY = FREE_TIER_PER_MONTH // 30  # prorated daily, as the Free Tier Only policy applies it
# The Max Retrieval Rate policy refuses a job that would make "the peak retrieval rate of the in-progress jobs"
# exceed the quota (Developer Guide, "S3 Glacier Data Retrieval Policies"); how that rate is computed is not
# documented, so each in-progress retrieval's bytes are spread over the four hours a job took (2018 guide:
# "Most Amazon Glacier jobs take about four hours to complete").
RATE_WINDOW_HOURS = 4


def check_rules(policy: dict | None) -> list[dict]:
    if policy is None:
        raise missing("Required parameter missing: Policy")
    rules = policy.get("Rules")
    if not rules or len(rules) != 1:
        raise invalid("The data retrieval policy must have exactly one rule")
    rule = rules[0]
    strategy, per_hour = rule.get("Strategy"), rule.get("BytesPerHour")
    if strategy not in STRATEGIES:
        raise invalid(f"Invalid data retrieval policy strategy: {strategy}")
    if strategy == "BytesPerHour":
        if per_hour is None:
            raise missing("BytesPerHour is required when the Strategy is BytesPerHour")
        if per_hour < 1:
            raise invalid(f"Invalid BytesPerHour: {per_hour}")
        return [{"Strategy": strategy, "BytesPerHour": per_hour}]
    if per_hour is not None:
        raise invalid("BytesPerHour can only be set when the Strategy is BytesPerHour")
    return [{"Strategy": strategy}]


def admit_retrieval(scope: Scope, settings: dict, job_id: str, size: int, now_us: int, done_us: int) -> None:
    """Accept a Standard retrieval of ``size`` bytes finishing at ``done_us`` under the account's policy,
    or refuse it with PolicyEnforcedException; an accepted one is counted in ``settings``.

    The bytes in flight are a running total: each accepted retrieval adds its bytes and leaves a row due at
    its end; the rows that have ended by now are taken off first. Each row is read once, so the cost does not
    grow with the retrievals in flight (summing a list of them did)."""
    rule = (settings.get("Rules") or DEFAULT_RULES)[0]
    for n, (done, size_) in enumerate(settings.pop("InFlight", [])):   # a data dir made before rows has a list
        if done > now_us:
            _count_in_flight(scope, settings, f"listed-{now_us}-{n}", size_, done)
    in_flight = settings.get("InFlightBytes", 0) - _take_ended(scope, now_us)
    today = date.isoformat(to_datetime(now_us).date())
    usage = settings.get("Usage") or {}
    used_today = usage.get("Bytes", 0) if usage.get("Day") == today else 0
    if rule["Strategy"] == "BytesPerHour":
        if (in_flight + size) / RATE_WINDOW_HOURS > rule["BytesPerHour"]:
            raise policy_enforced()
    elif rule["Strategy"] == "FreeTier" and used_today + size > FREE_TIER_PER_DAY:
        raise policy_enforced()
    settings["InFlightBytes"] = in_flight
    _count_in_flight(scope, settings, job_id, size, done_us)
    settings["Usage"] = {"Day": today, "Bytes": used_today + size}


def _count_in_flight(scope: Scope, settings: dict, row_id: str, size: int, done_us: int) -> None:
    scope.add(RETRIEVAL, row_id, created_us=done_us, doc={"Bytes": size})
    settings["InFlightBytes"] = settings.get("InFlightBytes", 0) + size


def _take_ended(scope: Scope, now_us: int) -> int:
    """Delete the in-flight rows that ended by ``now_us`` (earliest end first); the bytes they held. The first
    read is of one row, which is all most requests need (nothing ended since the last); later ones are of
    many, when many ended."""
    ended, limit = 0, 1
    while True:
        rows, more = scope.rows(RETRIEVAL, limit=limit)
        for row in rows:
            if row.created_us > now_us:
                return ended
            ended += row.doc["Bytes"]
            scope.delete(row)
        if not more:
            return ended
        limit = min(limit * 10, 1000)


def policy_enforced():
    return glacier_error("PolicyEnforcedException", "InitiateJob request denied by current data retrieval policy.")


def archive_age_days(created_us: int, now_us: int) -> int:
    return (now_us - created_us) // (DAY * US)
