"""The unit of work: one ``Context`` for a request's operation and for a scheduled transition alike.

A context is bound once to a transaction, an account, a region and a simulated instant. Through it a
service reaches everything it may touch, without passing account and region by hand:

    job = ctx.scope.require(JOB, job_id)          # the service's own not-found error if there is none
    ctx.scope.insert(Resource(...)) / ctx.scope.save(job) / ctx.scope.page(JOB, limit=..., token=...)
    ctx.files.put(key, data)                      # bytes that become visible when the transaction commits
    ctx.objects.put(bucket, key, data)            # S3 objects of this account
    ctx.signed_url("manifest", {"job": job.id}, expires_us)   # a URL for bytes the service serves itself
    raise ctx.errors.error("InvalidJobStateException", "...")

``Runtime`` holds what every context shares (store, byte store, signer, object layer, signed URLs, lifecycle,
clock) and opens units: ``runtime.unit(...)`` for a request, ``runtime.transition_context(...)`` for catch-up.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from .errors import ErrorTable, ServiceError
from .objects.urls import SignedUrls
from .store import ByteStore, InvalidToken, Resource, Store, TokenSigner, Tx, TxFiles

if TYPE_CHECKING:
    from .clock import Clock, SharedClock
    from .lifecycle import Lifecycle
    from .objects import ObjectLayer, ObjectStore

# The table of errors for work that belongs to no service (the object layer's own transitions).
GENERIC_ERRORS = ErrorTable(None)

# Operations that only read, by AWS's naming: their units run as readers (no write lock on SQLite).
READ_PREFIXES = ("List", "Describe", "Get", "Head")

log = logging.getLogger("jobyard")


class Page:
    """The result of one list call: the items and the token for the next page (None on the last)."""

    __slots__ = ("items", "next_token")

    def __init__(self, items: list, next_token: str | None):
        self.items, self.next_token = items, next_token


class Scope:
    """The resources of one account in one region, inside one transaction."""

    __slots__ = ("tx", "account", "region", "now_us", "_ctx")

    def __init__(self, ctx: "Context"):
        self._ctx = ctx
        self.tx, self.account, self.region, self.now_us = ctx.tx, ctx.account, ctx.region, ctx.now_us

    # -- one resource ---------------------------------------------------------------------------------

    def get(self, kind: str, resource_id: str) -> Resource | None:
        return self.tx.get(kind, self.account, self.region, resource_id)

    def require(self, kind: str, resource_id: str) -> Resource:
        """The resource, or the service's not-found error for ``kind``."""
        found = self.tx.get(kind, self.account, self.region, resource_id)
        if found is None:
            raise self._ctx.errors.not_found(kind, resource_id, self)
        return found

    def new(self, kind: str, resource_id: str, *, doc: dict | None = None, parent: str = "", state: str = "",
            ref: str = "", created_us: int | None = None, next_due_us: int | None = None) -> Resource:
        """A resource of this scope, created now unless told otherwise (not stored yet)."""
        return Resource(kind, self.account, self.region, resource_id, parent=parent, state=state,
                        created_us=self.now_us if created_us is None else created_us, next_due_us=next_due_us,
                        doc={} if doc is None else doc, ref=ref)

    def insert(self, resource: Resource) -> Resource:
        return self.tx.insert(resource)

    def add(self, kind: str, resource_id: str, **fields) -> Resource:
        """``new`` and ``insert`` in one."""
        return self.tx.insert(self.new(kind, resource_id, **fields))

    def save(self, resource: Resource) -> Resource:
        return self.tx.save(resource)

    def delete(self, resource: Resource) -> None:
        self.tx.delete(resource)

    # -- many -----------------------------------------------------------------------------------------

    def children(self, kind: str, parent: str) -> list[Resource]:
        """All of one parent's children in creation order (small families: a cluster's nodes, a job's parts)."""
        return self.tx.children(kind, self.account, self.region, parent)

    def count(self, kind: str, **filters) -> int:
        return self.tx.count(kind, self.account, self.region, **filters)

    def exists(self, kind: str, **filters) -> bool:
        """Whether any resource of ``kind`` matches: one index probe, however many there are."""
        return bool(self.tx.page(kind, self.account, self.region, limit=1, **filters)[0])

    def counter(self, name: str, kind: str, **filters) -> int:
        """A kept count of this scope's ``kind`` resources matching ``filters`` (see ``Tx.counter``): every
        change to what it counts must ``bump`` it in the same transaction."""
        return self.tx.counter(self.account, self.region, name,
                               lambda: self.tx.count(kind, self.account, self.region, **filters))

    def bump(self, name: str, delta: int) -> None:
        self.tx.bump(self.account, self.region, name, delta)

    def rows(self, kind: str, *, limit: int, after: list | None = None, **filters) -> tuple[list[Resource], bool]:
        """One keyset page of rows with no token (for a service's own walks): the rows and whether more follow."""
        return self.tx.page(kind, self.account, self.region, limit=limit, after=after, **filters)

    def page(self, kind: str, *, limit: int, token: str | None, parent: str | None = None,
             states: Iterable[str] | None = None, ref: str | None = None, by: str = "created",
             descending: bool = False, filters: tuple = (), regions: tuple[str, ...] | None = None,
             invalid_token: Callable[[], ServiceError] | None = None) -> Page:
        """One page of ``kind`` ordered ``by`` creation or id, continuing from ``token``.

        Tokens carry the last position returned and are bound to the account, region, operation and every
        filter (``filters`` holds any the service applies itself), so a token replayed elsewhere gets the
        service's invalid-token error (or ``invalid_token()``, for an operation that answers otherwise).
        ``regions`` widens the page to a group of regions that AWS lists together (Snowball's US regions);
        its tokens then hold in any region of the group.
        """
        states = sorted(states) if states is not None else None
        where = tuple(sorted(regions)) if regions else self.region
        binding = (self.account, where, self._ctx.service, self._ctx.operation,
                   parent, states, ref, by, descending, filters)
        after = None
        if token is not None:
            after = self._decode(token, binding, invalid_token)
            if not (isinstance(after, list) and len(after) == (2 if by == "created" else 1)):
                raise self._invalid(invalid_token)
        items, more = self.tx.page(kind, self.account, where, limit=limit, after=after, parent=parent,
                                   states=states, ref=ref, by=by, descending=descending)
        next_token = self._ctx.signer.encode(items[-1].sort_key(by), binding) if more and items else None
        return Page(items, next_token)

    def page_fixed(self, items: list, *, limit: int, token: str | None, filters: tuple = (),
                   invalid_token: Callable[[], ServiceError] | None = None) -> Page:
        """One page of a fixed list the service knows by heart (catalogue data, not stored resources)."""
        binding = self._binding("fixed", filters)
        start = 0
        if token is not None:
            start = self._decode(token, binding, invalid_token)
            if not isinstance(start, int) or isinstance(start, bool) or not 0 <= start <= len(items):
                raise self._invalid(invalid_token)
        end = start + limit
        return Page(items[start:end], self._ctx.signer.encode(end, binding) if end < len(items) else None)

    def _binding(self, *filters) -> tuple:
        return (self.account, self.region, self._ctx.service, self._ctx.operation, *filters)

    def _decode(self, token: str, binding: tuple, invalid_token):
        try:
            return self._ctx.signer.decode(token, binding)
        except InvalidToken:
            raise self._invalid(invalid_token) from None

    def _invalid(self, invalid_token) -> ServiceError:
        return invalid_token() if invalid_token is not None else self._ctx.errors.invalid_token()


class Context:
    """Everything an operation or a transition may use: one account and region, at one simulated instant,
    inside one transaction."""

    __slots__ = ("runtime", "tx", "account", "region", "now_us", "operation", "service", "errors", "base_url",
                 "_scope", "_objects")

    def __init__(self, runtime: "Runtime", tx: Tx, account: str, region: str, now_us: int, operation: str | None,
                 service: str = "", errors: ErrorTable = GENERIC_ERRORS, base_url: str = ""):
        self.runtime, self.tx = runtime, tx
        self.account, self.region, self.now_us = account, region, now_us
        self.operation, self.service, self.errors = operation, service, errors
        self.base_url = base_url      # how this client reaches the server, for URLs the server serves itself
        self._scope: Scope | None = None
        self._objects = None

    @property
    def scope(self) -> Scope:
        if self._scope is None:
            self._scope = Scope(self)
        return self._scope

    @property
    def files(self) -> TxFiles:
        return self.runtime.files.bind(self.tx)

    @property
    def objects(self) -> "ObjectStore":
        """S3 objects of this account (built-in store or --s3-endpoint), bound on first use."""
        if self._objects is None:
            self._objects = self.runtime.objects.bind(self.tx, self.account, self.now_us, self.files)
        return self._objects

    @property
    def signer(self) -> TokenSigner:
        return self.runtime.signer

    def at(self, account: str, region: str) -> "Context":
        """The same unit of work for another account or region (a grant's receiver, a job's cluster)."""
        return Context(self.runtime, self.tx, account, region, self.now_us, self.operation, self.service,
                       self.errors, self.base_url)

    def signed_url(self, name: str, args: dict, expires_us: int) -> str:
        """A URL this server serves until ``expires_us``: ``name`` of this service's ``signed_urls()``, with
        ``args``, answered in a context of this account and region (``objects/urls.py``)."""
        return self.runtime.urls.url(self, name, args, expires_us)


class Runtime:
    """What every unit of work shares; one per server process."""

    def __init__(self, store: Store, files: ByteStore, signer: TokenSigner, objects: "ObjectLayer",
                 lifecycle: "Lifecycle", clock: "Clock | SharedClock"):
        self.store, self.files, self.signer = store, files, signer
        self.objects, self.lifecycle, self.clock = objects, lifecycle, clock
        self.urls = SignedUrls(self)   # every service's signed URLs, registered by the server at start-up
        # Operations named like reads that were seen writing: their units run as writers from then on.
        self.writers: set[str] = set()
        lifecycle.runtime = self

    def reads_only(self, operation: str | None) -> bool:
        """Whether ``operation``'s unit may run as a reader (see ``unit``)."""
        return (operation is not None and operation.startswith(READ_PREFIXES)
                and operation not in self.writers)

    @contextlib.contextmanager
    def unit(self, account: str, region: str, operation: str | None, *, service: str = "",
             errors: ErrorTable = GENERIC_ERRORS, base_url: str = "", now_us: int | None = None) -> Iterator[Context]:
        """One transaction at the simulated now (or ``now_us``): due transitions first, then the caller's work;
        committed when the block ends, rolled back if it raises.

        The unit reads the store's clock row once, at its start: the simulated now and the earliest time
        anything is due. When nothing is due by now, catch-up is skipped. An operation that only reads (by its
        name, ``reads_only``) runs as a reader, without the write lock. When work is due, it is first applied
        in a write transaction of its own (for a writer too: on PostgreSQL, catch-up ends holding the clock
        row's lock, which no transaction may hold while it goes on writing rows), and the operation's
        transaction then sees the state the simulated now implies.
        """
        write = not self.reads_only(operation)
        with contextlib.ExitStack() as stack:
            tx = stack.enter_context(self.store.transaction(write=write))
            row = tx.clock_row()
            now = self.clock.of(row).now_us() if now_us is None else now_us
            if row.next_due_us is not None and row.next_due_us <= now:
                stack.close()
                with self.store.transaction() as writer:
                    self._catch_up(writer, now)
                tx = stack.enter_context(self.store.transaction(write=write))
            changes = None if write else tx.changes()
            yield Context(self, tx, account, region, now, operation, service, errors, base_url)
            if changes is not None and tx.changes() != changes:
                # Deferred, it wrote anyway (and could have met SQLITE_BUSY): a writer from now on.
                log.warning("%s wrote in a read-only unit; it runs as a writer from now on", operation)
                self.writers.add(operation)

    def _catch_up(self, tx: Tx, now_us: int) -> int:
        """Apply what is due by ``now_us`` in this write transaction, one process at a time, then set the clock
        row's next due time exactly."""
        tx.lock_catch_up()
        applied = self.lifecycle.catch_up(tx, now_us)
        tx.refresh_next_due()
        return applied

    def transition_context(self, tx: Tx, resource: Resource, at_us: int, service: str,
                           errors: ErrorTable | None) -> Context:
        return Context(self, tx, resource.account, resource.region, at_us, None, service, errors or GENERIC_ERRORS)
