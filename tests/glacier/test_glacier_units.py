"""The service's parts on their own: tree hashes, transitions replayed after a rollback, list query plans."""

import hashlib
import io

import pytest
from botocore.utils import calculate_tree_hash
from sqlalchemy import event

from jobyard.blobs import Blob
from jobyard.config import Config
from jobyard.errors import (ForeignAccount, SerializationError, ServiceError, UnknownOperation, ValidationFailed,
                            Violation)
from jobyard.server import Emulator
from jobyard.services.glacier import service as glacier_service
from jobyard.services.glacier.common import SUCCEEDED, IN_PROGRESS, FAILED
from jobyard.services.glacier.errors import ARCHIVE, ERRORS, JOB, UPLOAD, VAULT
from jobyard.services.glacier.treehash import is_tree_hash_aligned, tree_hash
from jobyard.store import Resource

MiB = 1024 * 1024
ACCOUNT, REGION = "111122223333", "us-east-1"
START = 1_700_000_000 * 1_000_000
HOUR_US, DAY_US = 3600 * 1_000_000, 86400 * 1_000_000


@pytest.mark.parametrize("size", [0, 1, MiB - 1, MiB, MiB + 1, 2 * MiB, 3 * MiB + 7, 8 * MiB])
def test_tree_hash_matches_botocore(size):
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert tree_hash(data) == calculate_tree_hash(io.BytesIO(data))


def test_tree_hash_alignment_is_a_node_of_the_archive_tree():
    """A range is aligned exactly when its own tree hash is the hash of a node of the whole tree."""
    size = 7 * MiB + 3
    data = bytes((i * 7) % 251 for i in range(size))
    nodes = [hashlib.sha256(data[i:i + MiB]).digest() for i in range(0, size, MiB)]
    every_node = set(nodes)
    while len(nodes) > 1:
        nodes = [hashlib.sha256(nodes[i] + nodes[i + 1]).digest() if i + 1 < len(nodes) else nodes[i]
                 for i in range(0, len(nodes), 2)]
        every_node.update(nodes)
    hex_nodes = {n.hex() for n in every_node}
    bounds = [n * MiB for n in range(8)] + [size]
    checked = 0
    for start in bounds[:-1]:
        for end in bounds[1:]:
            if end > start:
                expected = tree_hash(data[start:end]) in hex_nodes
                assert is_tree_hash_aligned(size, start, end - 1) == expected, (start, end)
                checked += expected
    assert checked >= 8   # the leaves and their parents at least
    assert not is_tree_hash_aligned(size, 1, MiB - 1)


def _one_month_later(text):
    from datetime import datetime, timezone
    from jobyard.clock import from_datetime, iso
    value = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    return iso(glacier_service._one_month_later(from_datetime(value)))


def test_provisioned_capacity_lasts_one_calendar_month():
    assert _one_month_later("2024-08-31T10:00:00.000Z") == "2024-09-30T10:00:00.000Z"
    assert _one_month_later("2023-01-31T00:00:00.000Z") == "2023-02-28T00:00:00.000Z"
    assert _one_month_later("2024-12-15T08:30:00.000Z") == "2025-01-15T08:30:00.000Z"


def test_error_table_answers_what_no_operation_raised():
    def answer(failure, operation=None):
        error = ERRORS.translate(failure, operation)
        return error.code, error.status, error.sender_fault, error.message

    required = ValidationFailed([Violation("vaultName", "required", None)])
    assert answer(required, "DescribeVault") == (
        "MissingParameterValueException", 400, True, "Required parameter missing: vaultName")
    assert answer(ValidationFailed([Violation("limit", "pattern", "x1", r"\d+")]), "ListVaults") == (
        "InvalidParameterValueException", 400, True, "Invalid value for limit: x1")
    assert answer(SerializationError()) == ("SerializationException", 400, True, "The request body is not valid JSON")
    assert answer(UnknownOperation("/-/nothing")) == (
        "BadRequest", 400, True, "The request cannot be processed: no operation at /-/nothing")
    assert answer(ForeignAccount(), "ListVaults") == (
        "AccessDeniedException", 403, True, "The account in the request does not match the account of the credentials.")
    assert answer(RuntimeError("a defect"), "ListVaults") == (
        "ServiceUnavailableException", 500, False, "The service cannot complete the request.")


def test_error_table_names_missing_resources_by_kind(harness):
    with harness.emulator.runtime.unit(ACCOUNT, REGION, "DescribeVault", service="glacier", errors=ERRORS) as ctx:
        messages = {}
        for kind in (VAULT, ARCHIVE, JOB, UPLOAD):
            with pytest.raises(ServiceError) as caught:
                ctx.scope.require(kind, "x1")
            assert (caught.value.code, caught.value.status) == ("ResourceNotFoundException", 404)
            messages[kind] = caught.value.message
    assert messages == {VAULT: f"Vault not found for ARN: arn:aws:glacier:{REGION}:{ACCOUNT}:vaults/x1",
                        ARCHIVE: "The archive ID was not found: x1", JOB: "The job ID was not found: x1",
                        UPLOAD: "The upload ID was not found: x1"}


class Harness:
    """The service over a real store and file store, one unit of work per request, as the server runs it."""

    def __init__(self, tmp_path):
        self.emulator = Emulator(Config(data_dir=str(tmp_path), time_scale=0))
        self.store = self.emulator.store
        self.service = self.emulator.services["glacier"]

    def call(self, operation, now_us, fail_after=False, **params):
        with self.emulator.runtime.unit(ACCOUNT, REGION, operation, service="glacier", errors=ERRORS,
                                        now_us=now_us) as ctx:
            output = self.service.call(ctx, operation, {"accountId": "-", **params})
            if isinstance(output.get("body"), Blob):   # a download is streamed by the server: read it here
                output["body"] = output["body"].read()
            if fail_after:
                raise RuntimeError("the request failed after its catch-up")
            return output


@pytest.fixture
def harness(tmp_path):
    harness = Harness(tmp_path)
    yield harness
    harness.emulator.close()


def test_transitions_replayed_after_a_rollback_find_their_snapshot(harness):
    """A request that fails rolls back the transitions its catch-up applied; the next request applies them
    again. A job completing in that catch-up must still find the inventory snapshot it read the first time,
    though a later vault inventory in the same catch-up replaced it."""
    harness.call("CreateVault", START, vaultName="v")
    first = harness.call("UploadArchive", START, vaultName="v", body=b"first")["archiveId"]
    now = START + DAY_US + HOUR_US
    assert harness.call("DescribeVault", now, vaultName="v")["NumberOfArchives"] == 1
    job_id = harness.call("InitiateJob", now, vaultName="v", jobParameters={"Type": "inventory-retrieval"})["jobId"]
    harness.call("UploadArchive", now, vaultName="v", body=b"second")
    later = now + DAY_US + HOUR_US   # the job completed, then the next inventory was taken
    with pytest.raises(RuntimeError):
        harness.call("DescribeVault", later, fail_after=True, vaultName="v")
    output = harness.call("GetJobOutput", later, vaultName="v", jobId=job_id)
    assert b'"ArchiveId":"%s"' % first.encode() in output["body"] and b"second" not in output["body"]
    assert harness.call("DescribeVault", later, vaultName="v")["NumberOfArchives"] == 2


def test_list_jobs_pages_read_the_state_index_in_order(harness):
    """Every ListJobs page is an index seek per state: no sort, no scan of other states' jobs."""
    harness.call("CreateVault", START, vaultName="v")
    with harness.store.transaction() as tx:
        tx.insert_many(Resource(JOB, ACCOUNT, REGION, f"job-{n:05d}", parent="v", state=state, created_us=START + n,
                                doc={"Action": "InventoryRetrieval", "Inventory": {"Format": "JSON"},
                                     "StatusMessage": state, "CompletionDate": START + n, "OutputSize": 10})
                       for n, state in enumerate([IN_PROGRESS] * 3000 + [SUCCEEDED] * 3 + [FAILED] * 3))
    statements = []
    event.listen(harness.store.engine, "before_cursor_execute",
                 lambda conn, cursor, sql, parameters, context, many: statements.append((sql, parameters)))
    for filters in ({"completed": "true"}, {"statuscode": "Failed"}, {"completed": "false", "limit": "5"}):
        harness.call("ListJobs", START, vaultName="v", **filters)
    pages = [(sql, parameters) for sql, parameters in statements
             if "FROM resources" in sql and "resources.parent = ?" in sql]
    assert len(pages) == 3
    with harness.store.engine.connect() as conn:
        plans = [[row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters)]
                 for sql, parameters in pages]
    # completed=true reads Succeeded and Failed each from its own index range under its own LIMIT (the keys
    # alone, from the index); what is sorted afterwards is at most limit + 1 keys of each, and only the page's
    # own rows are then read, by primary key.
    merged, *single = plans
    assert sum(step.startswith("SEARCH resources USING COVERING INDEX ix_resources_parent_state_created")
               for step in merged) == 2, merged
    assert any(step.startswith("SEARCH resources USING INTEGER PRIMARY KEY") for step in merged), merged
    assert not any(step.startswith("SCAN resources") for step in merged), merged
    for plan in single:
        assert any("ix_resources_parent_state_created" in step for step in plan), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan


def test_completed_jobs_interleaved_page_in_creation_order(harness):
    harness.call("CreateVault", START, vaultName="v")
    states = [SUCCEEDED, FAILED, IN_PROGRESS, FAILED, SUCCEEDED, SUCCEEDED, FAILED, IN_PROGRESS] * 4
    with harness.store.transaction() as tx:
        # Equal creation times are ordered by insertion, as the store breaks ties.
        tx.insert_many(Resource(JOB, ACCOUNT, REGION, f"job-{n:03d}", parent="v", state=state,
                                created_us=START + n // 3,
                                doc={"Action": "InventoryRetrieval", "Inventory": {"Format": "JSON"},
                                     "StatusMessage": state, "CompletionDate": START, "OutputSize": 10})
                       for n, state in enumerate(states))
    wanted = [f"job-{n:03d}" for n, state in enumerate(states) if state != IN_PROGRESS]
    seen, marker = [], None
    while True:
        params = {"vaultName": "v", "completed": "true", "limit": "3"}
        if marker:
            params["marker"] = marker
        page = harness.call("ListJobs", START, **params)
        seen += [job["JobId"] for job in page["JobList"]]
        marker = page.get("Marker")
        if not marker:
            break
    assert seen == wanted


def test_in_flight_retrievals_are_a_running_total(harness):
    """Admitting a retrieval reads the ended ones once each and a total, not a list of every job in flight."""
    from jobyard.services.glacier import policies
    from jobyard.services.glacier.errors import RETRIEVAL

    settings = {"Rules": [{"Strategy": "BytesPerHour", "BytesPerHour": 10 * MiB}]}
    hour_us = 3600 * 10**6
    with harness.emulator.runtime.unit(ACCOUNT, REGION, "InitiateJob", service="glacier", errors=ERRORS) as ctx:
        for n in range(40):                      # one a second, each taking 4 hours: 40 MiB in flight
            policies.admit_retrieval(ctx.scope, settings, f"job-{n}", MiB, START + n * 10**6,
                                     START + n * 10**6 + 4 * hour_us)
        assert settings["InFlightBytes"] == 40 * MiB
        with pytest.raises(ServiceError) as refused:
            policies.admit_retrieval(ctx.scope, settings, "one-more", MiB, START + 50 * 10**6, START + 5 * hour_us)
        assert refused.value.code == "PolicyEnforcedException"
        # The first ten have ended by this instant: their rows go, their bytes stop counting.
        policies.admit_retrieval(ctx.scope, settings, "later", 5 * MiB, START + 4 * hour_us + 9 * 10**6,
                                 START + 8 * hour_us)
        assert settings["InFlightBytes"] == 35 * MiB
        assert ctx.scope.count(RETRIEVAL) == 31


def test_in_flight_retrievals_recorded_one_per_job_are_still_counted(harness):
    """A data dir written before the running total keeps a list; those bytes still count until they end."""
    from jobyard.services.glacier import policies

    hour_us = 3600 * 10**6
    settings = {"Rules": [{"Strategy": "BytesPerHour", "BytesPerHour": MiB}],
                "InFlight": [[START + 4 * hour_us, 3 * MiB], [START + hour_us // 2, 100 * MiB]]}
    unit = harness.emulator.runtime.unit
    with pytest.raises(ServiceError) as refused:   # (3 + 2) MiB over 4 hours; the refusal rolls back
        with unit(ACCOUNT, REGION, "InitiateJob", service="glacier", errors=ERRORS) as ctx:
            policies.admit_retrieval(ctx.scope, dict(settings), "a", 2 * MiB, START + hour_us, START + 5 * hour_us)
    assert refused.value.code == "PolicyEnforcedException"
    with unit(ACCOUNT, REGION, "InitiateJob", service="glacier", errors=ERRORS) as ctx:
        policies.admit_retrieval(ctx.scope, settings, "b", MiB, START + hour_us, START + 5 * hour_us)
    assert "InFlight" not in settings and settings["InFlightBytes"] == 4 * MiB


def test_ended_retrievals_are_read_one_row_first_then_in_bulk():
    """Most admissions find nothing ended since the last: they read one in-flight row. Many ended ones are
    taken in growing reads, all of them and no more."""
    from jobyard.services.glacier import policies

    class InFlight:   # the in-flight rows of one account, earliest end first
        def __init__(self, ends):
            self.left = [Resource("r", "a", "x", f"r{n}", created_us=end, doc={"Bytes": 1})
                         for n, end in enumerate(ends)]
            self.limits = []

        def rows(self, kind, *, limit):
            self.limits.append(limit)
            return self.left[:limit], len(self.left) > limit

        def delete(self, row):
            self.left.remove(row)

    quiet = InFlight(range(100, 600))
    assert policies._take_ended(quiet, 50) == 0 and quiet.limits == [1] and len(quiet.left) == 500
    busy = InFlight(range(100, 600))
    assert policies._take_ended(busy, 250) == 151 and busy.limits == [1, 10, 100, 1000] and len(busy.left) == 349
    done = InFlight(range(5))
    assert policies._take_ended(done, 10) == 5 and not done.left
