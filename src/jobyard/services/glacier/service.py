"""Amazon S3 Glacier (vault API, 2012-06-01): every operation.

Vaults hold archives whose bytes live in the file store; retrievals and inventories are jobs that complete
on the simulated clock (see ``jobs``), inventories are daily snapshots (see ``inventory``). Errors are
Glacier's (see ``errors``): ResourceNotFoundException 404 for a missing vault, archive, upload or job and
InvalidParameterValueException / MissingParameterValueException 400 for bad input.
``accountId`` is ``-`` or the caller's own account id; another account is refused (AccessDeniedException).
"""

from __future__ import annotations

import re
from calendar import monthrange

import orjson

from ...blobs import Joined
from ...clock import US, from_datetime, to_datetime
from ...objects import ObjectError
from ...store import Resource
from ..base import Context, Service, operation
from . import inventory, jobs, policies, select
from .common import (ABORTED, COMPLETED, DAY, DELETED, FAILED, IN_PROGRESS, JOB_STATES, MiB, SUCCEEDED,
                     VAULT_NAME, alnum_id, archive_key, check_description, check_sns_topic, iso_millis, output_key,
                     parse_date, parse_limit, part_key, random_id)
from .errors import (ARCHIVE, CAPACITY, ERRORS, JOB, PART, SETTINGS, UPLOAD, VAULT, access_denied, glacier_error,
                     invalid, limit_exceeded, missing, not_found, vault_arn)
from .treehash import combine, is_megabyte_aligned, is_tree_hash_aligned, tree_hash

MAX_VAULTS = 1000                  # per account and region
VAULTS = "glacier.vaults"          # the kept count of an account's vaults in a region
MAX_TAGS = 50                      # per vault
MAX_PARTS = 10_000
MAX_PART_SIZE = 4 * 1024 * MiB
# "The maximum size of an archive that can be uploaded in a single request is 4 GB" (UploadArchive).
MAX_ARCHIVE_UPLOAD = 4 * 1024 * MiB
MAX_CAPACITY_UNITS = 2
LOCK_WINDOW = DAY                  # an InProgress vault lock must be completed within 24 hours
# A completed or aborted upload answers retries this long. The Developer Guide gives no figure: completing again
# succeeds "within a short period" (Complete Multipart Upload), aborting again "for a short time" (Abort
# Multipart Upload); a day matches the 24 hours after which it lets idle uploads go (Initiate Multipart Upload).
ENDED_UPLOAD_KEPT = DAY
DATA_RETRIEVAL = "data-retrieval-policy"

NOTIFICATION_EVENTS = ("ArchiveRetrievalCompleted", "InventoryRetrievalCompleted")
INVENTORY_FORMATS = ("JSON", "CSV")
JOB_TYPES = ("archive-retrieval", "inventory-retrieval", "select")

# Operations that manage the policies themselves stay open, so a policy can never lock its owner out of
# changing it (a Locked vault lock still cannot be changed: that is the lock's own rule).
POLICY_EXEMPT = frozenset({"InitiateVaultLock", "CompleteVaultLock", "AbortVaultLock", "GetVaultLock",
                           "SetVaultAccessPolicy", "GetVaultAccessPolicy", "DeleteVaultAccessPolicy"})

_BYTE_RANGE = re.compile(r"(\d+)-(\d+)")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\*|\d+)")
_DOWNLOAD_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _with_marker(out: dict, marker: str | None) -> dict:
    """A list page; the last one has no Marker."""
    if marker is not None:
        out["Marker"] = marker
    return out


def _invalid_marker(params: dict):
    """The error for a list marker that is not one this server handed out."""
    return lambda: invalid(f"Invalid marker: {params.get('marker')}")


class GlacierService(Service):
    model_name = "glacier"
    signing_names = ("glacier",)
    body_limits = {"UploadArchive": MAX_ARCHIVE_UPLOAD, "UploadMultipartPart": MAX_PART_SIZE}
    errors = ERRORS

    def transitions(self) -> dict:
        return {JOB: jobs.advance, VAULT: inventory.take, UPLOAD: _forget, ARCHIVE: _forget}

    def call(self, ctx: Context, operation_name: str, params: dict) -> dict:
        claimed = params.get("accountId")
        if claimed is not None and claimed not in ("-", ctx.account):
            raise access_denied(f"User: arn:aws:iam::{ctx.account}:root is not authorized to perform: "
                                f"glacier:{ctx.operation} on resource in account {claimed}")
        return super().call(ctx, operation_name, params)

    # -- lookups --------------------------------------------------------------------------------------------

    def _arn(self, ctx: Context, name: str) -> str:
        return vault_arn(ctx.region, ctx.account, name)

    def _location(self, ctx: Context, vault: str, *rest: str) -> str:
        return "/".join((f"/{ctx.account}/vaults/{vault}", *rest))

    def _vault(self, ctx: Context, params: dict, checked: bool = True) -> Resource:
        """The request's vault, checked against its policies for ``ctx.operation`` unless ``checked`` is False
        (DeleteArchive checks once it knows the archive's age)."""
        vault = ctx.scope.require(VAULT, params["vaultName"])
        if checked:
            self._check_policies(ctx, vault)
        return vault

    def _check_policies(self, ctx: Context, vault: Resource, facts: dict | None = None) -> None:
        """Refuse what an explicit Deny of the access policy or the vault lock policy covers; ``facts`` are
        the request's condition keys (lower-cased), such as an archive's ``glacier:archiveageindays``."""
        if ctx.operation in POLICY_EXEMPT:
            return
        arn = self._arn(ctx, vault.id)
        documents = [vault.doc.get("AccessPolicy"), (self._lock(ctx, vault) or {}).get("Policy")]
        for text in documents:
            if text and policies.denies(policies.parse_policy(text, "policy"), f"glacier:{ctx.operation}",
                                        ctx.account, arn, facts or {}):
                raise access_denied(f"User: arn:aws:iam::{ctx.account}:root is not authorized to perform: "
                                    f"glacier:{ctx.operation} on resource: {arn} with an explicit deny")

    def _archive(self, ctx: Context, vault: Resource, archive_id: str, allow_deleted: bool = False) -> Resource:
        archive = ctx.scope.require(ARCHIVE, archive_id)
        if archive.parent != vault.id:
            # What AWS answers for an archive of another vault.
            raise invalid(f"Invalid vault name: {self._arn(ctx, vault.id)}")
        if archive.state == DELETED and not allow_deleted:
            raise ctx.errors.not_found(ARCHIVE, archive_id, ctx.scope)
        return archive

    def _child(self, ctx: Context, kind: str, vault: Resource, resource_id: str) -> Resource:
        """A job or upload of this vault; one of another vault is not found."""
        found = ctx.scope.require(kind, resource_id)
        if found.parent != vault.id:
            raise ctx.errors.not_found(kind, resource_id, ctx.scope)
        return found

    def _lock(self, ctx: Context, vault: Resource) -> dict | None:
        """The vault lock in force: an InProgress lock lapses when its 24-hour window ends."""
        lock = vault.doc.get("Lock")
        if lock and lock["State"] == IN_PROGRESS and ctx.now_us >= lock["Expires"]:
            return None
        return lock

    # -- vaults --------------------------------------------------------------------------------------------

    @operation("CreateVault")
    def create_vault(self, ctx: Context, params: dict) -> dict:
        name = params["vaultName"]
        if not VAULT_NAME.fullmatch(name):
            raise invalid(f"Invalid vault name: {name}. A vault name has 1 to 255 characters of a-z, A-Z, 0-9, "
                          "'_' (underscore), '-' (hyphen) and '.' (period).")
        # Creating a vault that exists is not an error.
        if ctx.scope.get(VAULT, name) is None:
            if ctx.scope.counter(VAULTS, VAULT) >= MAX_VAULTS:
                raise limit_exceeded(f"The limit of {MAX_VAULTS} vaults per account and region has been reached.")
            ctx.scope.add(VAULT, name, doc={"Live": {"Count": 0, "Size": 0}, "Changed": False, "Tags": {}})
            ctx.scope.bump(VAULTS, 1)
        return {"location": self._location(ctx, name)}

    def _vault_description(self, ctx: Context, vault: Resource) -> dict:
        last = vault.doc.get("Inventory") or {}
        return {"VaultARN": self._arn(ctx, vault.id), "VaultName": vault.id,
                "CreationDate": iso_millis(vault.created_us),
                "LastInventoryDate": iso_millis(last["Date"]) if last else None,
                "NumberOfArchives": last.get("Count", 0), "SizeInBytes": last.get("Size", 0)}

    @operation("DescribeVault")
    def describe_vault(self, ctx: Context, params: dict) -> dict:
        return self._vault_description(ctx, self._vault(ctx, params))

    @operation("ListVaults")
    def list_vaults(self, ctx: Context, params: dict) -> dict:
        limit = parse_limit(params.get("limit"), 10, 10)
        marker, after = params.get("marker"), None
        if marker is not None:
            # The marker is the ARN of the last vault of the previous page; listing goes on after it.
            prefix = self._arn(ctx, "")
            if not marker.startswith(prefix) or not VAULT_NAME.fullmatch(marker[len(prefix):]):
                raise invalid(f"Invalid marker: {marker}")
            after = [marker[len(prefix):]]
        vaults, more = ctx.scope.rows(VAULT, limit=limit, after=after, parent="", by="id")
        out = {"VaultList": [self._vault_description(ctx, v) for v in vaults]}
        return _with_marker(out, self._arn(ctx, vaults[-1].id) if more else None)

    @operation("DeleteVault")
    def delete_vault(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        # AWS deletes a vault only when its last inventory shows no archives and nothing was written since.
        if vault.doc["Live"]["Count"] or vault.doc.get("Changed"):
            raise invalid(f"Vault not empty or recently written to: {self._arn(ctx, vault.id)}")
        for job in ctx.scope.children(JOB, vault.id):
            jobs.expire(ctx, job)
        for upload in ctx.scope.children(UPLOAD, vault.id):
            self._drop_parts(ctx, upload)
            ctx.scope.delete(upload)
        for tombstone in ctx.scope.children(ARCHIVE, vault.id):
            ctx.scope.delete(tombstone)
        inventory.drop_snapshot(ctx.files, vault)
        ctx.scope.delete(vault)
        ctx.scope.bump(VAULTS, -1)
        return {}

    # -- access policy, notifications, tags ---------------------------------------------------------------

    @operation("SetVaultAccessPolicy")
    def set_vault_access_policy(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        text = (params.get("policy") or {}).get("Policy")
        policies.parse_policy(text, "vault access policy")
        vault.doc["AccessPolicy"] = text
        ctx.scope.save(vault)
        return {}

    @operation("GetVaultAccessPolicy")
    def get_vault_access_policy(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        if not vault.doc.get("AccessPolicy"):
            raise not_found(f"No vault access policy is set for: {self._arn(ctx, vault.id)}")
        return {"policy": {"Policy": vault.doc["AccessPolicy"]}}

    @operation("DeleteVaultAccessPolicy")
    def delete_vault_access_policy(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        if vault.doc.pop("AccessPolicy", None) is not None:   # idempotent, as AWS documents
            ctx.scope.save(vault)
        return {}

    @operation("SetVaultNotifications")
    def set_vault_notifications(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        config = params.get("vaultNotificationConfig") or {}
        topic, events = config.get("SNSTopic"), config.get("Events")
        if topic is None:
            raise missing("Required parameter missing: SNSTopic")
        check_sns_topic(topic)
        if not events:
            raise missing("Required parameter missing: Events")
        unknown = [e for e in events if e not in NOTIFICATION_EVENTS]
        if unknown:
            raise invalid(f"Invalid notification event: {unknown[0]}. Valid events are "
                          f"{', '.join(NOTIFICATION_EVENTS)}.")
        vault.doc["Notifications"] = {"SNSTopic": topic, "Events": list(dict.fromkeys(events))}
        ctx.scope.save(vault)
        return {}

    @operation("GetVaultNotifications")
    def get_vault_notifications(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        if not vault.doc.get("Notifications"):
            raise not_found(f"No notification configuration is set for vault: {self._arn(ctx, vault.id)}")
        return {"vaultNotificationConfig": vault.doc["Notifications"]}

    @operation("DeleteVaultNotifications")
    def delete_vault_notifications(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        if vault.doc.pop("Notifications", None) is not None:
            ctx.scope.save(vault)
        return {}

    @operation("AddTagsToVault")
    def add_tags_to_vault(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        tags = params.get("Tags") or {}
        for key, value in tags.items():
            if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
                raise invalid(f"Invalid tag key: {key}. Keys have 1 to 128 characters and may not start with "
                              "'aws:'.")
            if len(value) > 256:
                raise invalid(f"Invalid tag value for key {key}: values have at most 256 characters.")
        merged = {**vault.doc.get("Tags", {}), **tags}
        if len(merged) > MAX_TAGS:
            raise limit_exceeded(f"The vault would have {len(merged)} tags; a vault can have at most {MAX_TAGS}.")
        vault.doc["Tags"] = merged
        ctx.scope.save(vault)
        return {}

    @operation("RemoveTagsFromVault")
    def remove_tags_from_vault(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        tags = vault.doc.get("Tags", {})
        for key in params.get("TagKeys") or ():
            tags.pop(key, None)
        vault.doc["Tags"] = tags
        ctx.scope.save(vault)
        return {}

    @operation("ListTagsForVault")
    def list_tags_for_vault(self, ctx: Context, params: dict) -> dict:
        return {"Tags": dict(self._vault(ctx, params).doc.get("Tags", {}))}

    # -- vault lock ------------------------------------------------------------------------------------------

    @operation("InitiateVaultLock")
    def initiate_vault_lock(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        lock = self._lock(ctx, vault)
        if lock is not None:
            if lock["State"] == "Locked":
                raise access_denied(f"The vault lock of {self._arn(ctx, vault.id)} is Locked; it cannot be "
                                    "initiated again.")
            raise access_denied(f"A vault lock is already in progress for {self._arn(ctx, vault.id)}; abort it "
                                "before initiating a new one.")
        text = (params.get("policy") or {}).get("Policy")
        policies.parse_policy(text, "vault lock policy")
        lock_id = alnum_id()
        vault.doc["Lock"] = {"Policy": text, "State": IN_PROGRESS, "LockId": lock_id, "Created": ctx.now_us,
                             "Expires": ctx.now_us + LOCK_WINDOW * US}
        ctx.scope.save(vault)
        return {"lockId": lock_id}

    @operation("CompleteVaultLock")
    def complete_vault_lock(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        lock, lock_id = self._lock(ctx, vault), params["lockId"]
        if lock is not None and lock["State"] == "Locked":
            if lock["LockId"] != lock_id:
                raise access_denied(f"The vault lock of {self._arn(ctx, vault.id)} is Locked with another lock ID.")
            return {}   # completing again with the same lock id is idempotent
        if lock is None or lock["LockId"] != lock_id:
            raise invalid(f"The lock ID is not valid for {self._arn(ctx, vault.id)}: {lock_id}")
        lock["State"] = "Locked"
        lock.pop("Expires", None)
        vault.doc["Lock"] = lock
        ctx.scope.save(vault)
        return {}

    @operation("AbortVaultLock")
    def abort_vault_lock(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        lock = self._lock(ctx, vault)
        if lock is not None and lock["State"] == "Locked":
            raise access_denied(f"The vault lock of {self._arn(ctx, vault.id)} is Locked and cannot be aborted.")
        if vault.doc.pop("Lock", None) is not None:   # idempotent when nothing is in progress
            ctx.scope.save(vault)
        return {}

    @operation("GetVaultLock")
    def get_vault_lock(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        lock = self._lock(ctx, vault)
        if lock is None:
            raise not_found(f"No vault lock policy is set for: {self._arn(ctx, vault.id)}")
        return {"Policy": lock["Policy"], "State": lock["State"], "CreationDate": iso_millis(lock["Created"]),
                "ExpirationDate": iso_millis(lock["Expires"]) if lock.get("Expires") else None}

    # -- data retrieval policy and provisioned capacity ---------------------------------------------------

    def _settings(self, ctx: Context) -> Resource:
        return ctx.scope.get(SETTINGS, DATA_RETRIEVAL) or ctx.scope.add(SETTINGS, DATA_RETRIEVAL)

    @operation("GetDataRetrievalPolicy")
    def get_data_retrieval_policy(self, ctx: Context, params: dict) -> dict:
        settings = ctx.scope.get(SETTINGS, DATA_RETRIEVAL)
        rules = (settings.doc.get("Rules") if settings is not None else None) or policies.DEFAULT_RULES
        return {"Policy": {"Rules": [dict(rule) for rule in rules]}}

    @operation("SetDataRetrievalPolicy")
    def set_data_retrieval_policy(self, ctx: Context, params: dict) -> dict:
        rules = policies.check_rules(params.get("Policy"))
        settings = self._settings(ctx)
        settings.doc["Rules"] = rules
        ctx.scope.save(settings)
        return {}

    @operation("PurchaseProvisionedCapacity")
    def purchase_provisioned_capacity(self, ctx: Context, params: dict) -> dict:
        units, _ = ctx.scope.rows(CAPACITY, limit=1000)
        if sum(1 for u in units if u.doc["Expires"] > ctx.now_us) >= MAX_CAPACITY_UNITS:
            raise limit_exceeded(f"An account can have at most {MAX_CAPACITY_UNITS} provisioned capacity units.")
        capacity_id = alnum_id()
        ctx.scope.add(CAPACITY, capacity_id, doc={"Expires": _one_month_later(ctx.now_us)})
        return {"capacityId": capacity_id}

    @operation("ListProvisionedCapacity")
    def list_provisioned_capacity(self, ctx: Context, params: dict) -> dict:
        units, _ = ctx.scope.rows(CAPACITY, limit=1000)
        return {"ProvisionedCapacityList": [
            {"CapacityId": u.id, "StartDate": iso_millis(u.created_us), "ExpirationDate": iso_millis(u.doc["Expires"])}
            for u in units]}

    # -- archives --------------------------------------------------------------------------------------------

    @operation("UploadArchive")
    def upload_archive(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        body = params.get("body") or b""
        description = params.get("archiveDescription")
        check_description(description)
        if not body:
            raise invalid("Invalid Content-Length: 0. An archive holds at least 1 byte.")
        computed = tree_hash(body)
        self._check_checksum(params.get("checksum"), computed)
        archive = self._store_archive(ctx, vault, body, computed, description)
        return {"location": self._location(ctx, vault.id, "archives", archive.id), "checksum": computed,
                "archiveId": archive.id}

    def _check_checksum(self, sent: str | None, computed: str) -> None:
        if sent is not None and sent.lower() != computed:
            raise invalid(f"Checksum mismatch: expected {sent} (x-amz-sha256-tree-hash) but computed {computed}")

    def _store_archive(self, ctx: Context, vault: Resource, body: bytes, checksum: str,
                       description: str | None) -> Resource:
        archive_id = random_id(138)
        ctx.files.put(archive_key(ctx.account, ctx.region, archive_id), body)
        doc = {"Size": len(body), "TreeHash": checksum}
        if description:
            doc["Description"] = description
        archive = ctx.scope.add(ARCHIVE, archive_id, parent=vault.id, doc=doc)
        live = vault.doc["Live"]
        live["Count"] += 1
        live["Size"] += len(body)
        inventory.vault_changed(vault, ctx.now_us)
        ctx.scope.save(vault)
        return archive

    @operation("DeleteArchive")
    def delete_archive(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params, checked=False)
        archive = self._archive(ctx, vault, params["archiveId"], allow_deleted=True)
        if archive.state == DELETED:
            return {}   # deleting an already-deleted archive is not an error
        self._check_policies(ctx, vault, {"glacier:archiveageindays":
                                          policies.archive_age_days(archive.created_us, ctx.now_us)})
        # The tombstone stays as long as the vault: "Attempting to delete an already-deleted archive does not
        # result in an error" (Developer Guide, Delete Archive), with no time limit.
        archive.state = DELETED
        ctx.scope.save(archive)
        live = vault.doc["Live"]
        live["Count"] -= 1
        live["Size"] -= archive.doc["Size"]
        inventory.vault_changed(vault, ctx.now_us)
        ctx.scope.save(vault)
        # Retrievals that already prepared their output can still be downloaded: their bytes stay.
        if not jobs.archive_bytes_needed(ctx.scope, archive.id):
            ctx.files.delete(archive_key(ctx.account, ctx.region, archive.id))
        return {}

    # -- multipart uploads -----------------------------------------------------------------------------------

    @operation("InitiateMultipartUpload")
    def initiate_multipart_upload(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        description = params.get("archiveDescription")
        check_description(description)
        text = params.get("partSize")
        if text is None:
            raise missing("Required parameter missing: x-amz-part-size")
        part_size = int(text) if text.strip().isdigit() else 0
        megabytes = part_size // MiB
        # 1 MiB times a power of two, up to 4 GiB.
        if not (MiB <= part_size <= MAX_PART_SIZE and part_size % MiB == 0 and megabytes & (megabytes - 1) == 0):
            raise invalid(f"Invalid part size: {text}. The part size must be a megabyte (1024 KB) multiplied by a "
                          "power of 2, from 1 MB to 4 GB.")
        upload_id = random_id(92)
        doc = {"PartSize": part_size}
        if description:
            doc["Description"] = description
        ctx.scope.add(UPLOAD, upload_id, parent=vault.id, state=IN_PROGRESS, doc=doc)
        return {"location": self._location(ctx, vault.id, "multipart-uploads", upload_id), "uploadId": upload_id}

    def _open_upload(self, ctx: Context, vault: Resource, upload_id: str) -> Resource:
        upload = self._child(ctx, UPLOAD, vault, upload_id)
        if upload.state != IN_PROGRESS:
            raise ctx.errors.not_found(UPLOAD, upload_id, ctx.scope)
        return upload

    @operation("UploadMultipartPart")
    def upload_multipart_part(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        upload = self._open_upload(ctx, vault, params["uploadId"])
        text = params.get("range")
        if text is None:
            raise missing("Required parameter missing: Content-Range")
        match = _CONTENT_RANGE.fullmatch(text.strip())
        part_size = upload.doc["PartSize"]
        if match is None:
            raise invalid(f"Invalid Content-Range: {text}")
        start, end = int(match.group(1)), int(match.group(2))
        length = end - start + 1
        if end < start or start % part_size or length > part_size or start // part_size >= MAX_PARTS:
            raise invalid(f"Invalid Content-Range: {text}")
        body = params.get("body") or b""
        if len(body) < length:
            # The part stopped short of the range it announced: AWS gives up waiting for the rest. The Developer
            # Guide's Error Responses table has RequestTimeoutException (408) for an upload S3 Glacier "times out
            # while receiving"; its message is not documented.
            raise glacier_error("RequestTimeoutException",
                                f"Request timed out: received {len(body)} of the {length} bytes of {text}")
        if len(body) > length:
            raise invalid(f"Invalid Content-Range: {text} does not match the {len(body)} bytes sent")
        computed = tree_hash(body)
        self._check_checksum(params.get("checksum"), computed)
        ctx.files.put(part_key(ctx.account, ctx.region, upload.id, start), body)
        part_id = f"{upload.id}:{start:016d}"
        part = ctx.scope.get(PART, part_id)
        doc = {"Start": start, "End": end, "TreeHash": computed}
        if part is None:   # uploading a part again replaces it
            ctx.scope.add(PART, part_id, parent=upload.id, doc=doc)
        else:
            part.doc = doc
            ctx.scope.save(part)
        return {"checksum": computed}

    @operation("CompleteMultipartUpload")
    def complete_multipart_upload(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        upload = self._child(ctx, UPLOAD, vault, params["uploadId"])
        size_text, checksum = params.get("archiveSize"), params.get("checksum")
        if size_text is None:
            raise missing("Required parameter missing: x-amz-archive-size")
        if checksum is None:
            raise missing("Required parameter missing: x-amz-sha256-tree-hash")
        if not size_text.strip().isdigit():
            raise invalid(f"Invalid x-amz-archive-size: {size_text}")
        size = int(size_text)
        if upload.state == COMPLETED and upload.doc["Archive"]["Size"] == size \
                and upload.doc["Archive"]["TreeHash"] == checksum.lower():
            # A retried completion answers with the archive the first one created.
            archive_id = upload.doc["Archive"]["Id"]
            return {"location": self._location(ctx, vault.id, "archives", archive_id),
                    "checksum": upload.doc["Archive"]["TreeHash"], "archiveId": archive_id}
        if upload.state != IN_PROGRESS:
            raise ctx.errors.not_found(UPLOAD, upload.id, ctx.scope)
        parts = sorted(ctx.scope.children(PART, upload.id), key=lambda p: p.doc["Start"])
        part_size, position = upload.doc["PartSize"], 0
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part.doc["Start"] != position or (not last and part.doc["End"] - part.doc["Start"] + 1 != part_size):
                raise invalid(f"The uploaded parts do not cover the archive without gaps: a part is missing at "
                              f"byte {position}")
            position = part.doc["End"] + 1
        if position != size or not parts:
            raise invalid(f"Invalid x-amz-archive-size: {size_text}; the uploaded parts hold {position} bytes")
        # Parts are 1 MiB times a power of two, so each part's tree is a subtree of the archive's: the
        # archive's tree hash combines the parts' (as Glacier's multipart checksums are built).
        computed = combine([bytes.fromhex(p.doc["TreeHash"]) for p in parts]).hex()
        self._check_checksum(checksum, computed)
        body = Joined([ctx.files.stream(part_key(ctx.account, ctx.region, upload.id, p.doc["Start"])) for p in parts])
        try:
            archive = self._store_archive(ctx, vault, body, computed, upload.doc.get("Description"))
        finally:
            body.close()
        self._drop_parts(ctx, upload)
        upload.state, upload.next_due_us = COMPLETED, ctx.now_us + ENDED_UPLOAD_KEPT * US
        upload.doc["Archive"] = {"Id": archive.id, "Size": size, "TreeHash": computed}
        ctx.scope.save(upload)
        return {"location": self._location(ctx, vault.id, "archives", archive.id), "checksum": computed,
                "archiveId": archive.id}

    def _drop_parts(self, ctx: Context, upload: Resource) -> None:
        for part in ctx.scope.children(PART, upload.id):
            ctx.files.delete(part_key(ctx.account, ctx.region, upload.id, part.doc["Start"]))
            ctx.scope.delete(part)

    @operation("AbortMultipartUpload")
    def abort_multipart_upload(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        upload = self._child(ctx, UPLOAD, vault, params["uploadId"])
        if upload.state == ABORTED:
            return {}   # aborting again succeeds
        if upload.state != IN_PROGRESS:
            raise ctx.errors.not_found(UPLOAD, upload.id, ctx.scope)
        self._drop_parts(ctx, upload)
        upload.state, upload.next_due_us = ABORTED, ctx.now_us + ENDED_UPLOAD_KEPT * US
        ctx.scope.save(upload)
        return {}

    def _upload_description(self, ctx: Context, upload: Resource) -> dict:
        return {"MultipartUploadId": upload.id, "VaultARN": self._arn(ctx, upload.parent),
                "ArchiveDescription": upload.doc.get("Description"), "PartSizeInBytes": upload.doc["PartSize"],
                "CreationDate": iso_millis(upload.created_us)}

    @operation("ListMultipartUploads")
    def list_multipart_uploads(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        page = ctx.scope.page(UPLOAD, limit=parse_limit(params.get("limit"), 50, 50), token=params.get("marker"),
                              parent=vault.id, states=[IN_PROGRESS], invalid_token=_invalid_marker(params))
        return _with_marker({"UploadsList": [self._upload_description(ctx, u) for u in page.items]},
                              page.next_token)

    @operation("ListParts")
    def list_parts(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        upload = self._open_upload(ctx, vault, params["uploadId"])
        page = ctx.scope.page(PART, limit=parse_limit(params.get("limit"), 50, 50), token=params.get("marker"),
                              parent=upload.id, by="id", invalid_token=_invalid_marker(params))
        out = self._upload_description(ctx, upload)
        out["Parts"] = [{"RangeInBytes": f"{p.doc['Start']}-{p.doc['End']}", "SHA256TreeHash": p.doc["TreeHash"]}
                        for p in page.items]
        return _with_marker(out, page.next_token)

    # -- jobs --------------------------------------------------------------------------------------------------

    @operation("InitiateJob")
    def initiate_job(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        spec = params.get("jobParameters") or {}
        job_type = spec.get("Type")
        if job_type is None:
            raise missing("Required parameter missing: Type")
        if job_type not in JOB_TYPES:
            raise invalid(f"Invalid job type: {job_type}. Valid types are {', '.join(JOB_TYPES)}.")
        check_description(spec.get("Description"), "job description")
        check_sns_topic(spec.get("SNSTopic"))
        job_id = random_id(92)
        doc = {k: spec[k] for k in ("Description", "SNSTopic") if spec.get(k) is not None}
        if job_type == "archive-retrieval":
            self._archive_retrieval(ctx, vault, spec, doc)
        elif job_type == "select":
            self._select(ctx, vault, spec, doc, job_id)
        else:
            self._inventory_retrieval(ctx, vault, spec, doc)
        job = jobs.new_job(ctx.scope, vault.id, job_id, doc)
        if doc["Action"] == jobs.ARCHIVE_RETRIEVAL and doc["Tier"] == "Standard":
            settings = self._settings(ctx)
            start, end = doc["Range"]
            policies.admit_retrieval(ctx.scope, settings.doc, job_id, end - start + 1, ctx.now_us, job.next_due_us)
            ctx.scope.save(settings)
        out = {"location": self._location(ctx, vault.id, "jobs", job_id), "jobId": job_id}
        if doc["Action"] == jobs.SELECT:
            # The placeholder AWS writes at once: it proves the location writable and describes the job.
            bucket = doc["OutputLocation"]["S3"]["BucketName"]
            try:
                ctx.objects.put(bucket, f"{doc['JobOutputPath']}job.txt", orjson.dumps(jobs.describe(job)),
                                content_type="application/json")
            except ObjectError as error:
                raise invalid(f"The output location s3://{bucket}/{doc['JobOutputPath']} cannot be written: "
                              f"{error.message}") from None
            out["jobOutputPath"] = doc["JobOutputPath"]
        ctx.scope.insert(job)
        return out

    def _select(self, ctx: Context, vault: Resource, spec: dict, doc: dict, job_id: str) -> None:
        archive_id = spec.get("ArchiveId")
        if archive_id is None:
            raise missing("Required parameter missing: ArchiveId. It is required for select jobs.")
        archive = self._archive(ctx, vault, archive_id)
        if spec.get("RetrievalByteRange") is not None:
            raise invalid("RetrievalByteRange cannot be specified for a select job: it queries the whole archive.")
        tier = spec.get("Tier") or jobs.DEFAULT_TIER
        if tier not in jobs.TIERS:
            raise invalid(f"Invalid tier: {tier}. Valid tiers are {', '.join(jobs.TIERS)}.")
        parameters = spec.get("SelectParameters")
        if not parameters:
            raise missing("Required parameter missing: SelectParameters")
        for member in ("ExpressionType", "Expression"):
            if not parameters.get(member):
                raise missing(f"Required parameter missing: SelectParameters.{member}")
        try:
            select.parse(parameters["Expression"])
            for serialization in ("InputSerialization", "OutputSerialization"):
                select.check_csv_settings((parameters.get(serialization) or {}).get("csv") or {})
        except select.SelectError as error:
            raise invalid(str(error)) from None
        location = (spec.get("OutputLocation") or {}).get("S3") or {}
        bucket = location.get("BucketName")
        if not bucket:
            raise missing("Required parameter missing: OutputLocation.S3.BucketName")
        if not ctx.objects.bucket_exists(bucket):
            raise invalid(f"The output location's bucket does not exist: {bucket}")
        if ctx.objects.head_bucket(bucket).region != ctx.region:
            raise invalid(f"The output location's bucket {bucket} is not in {ctx.region}, the vault's region.")
        prefix = (location.get("Prefix") or "").strip("/")
        path = f"{prefix}/{job_id}/" if prefix else f"{job_id}/"
        if len(f"s3://{bucket}/{path}".encode()) > 512:
            raise invalid("The output location is longer than 512 bytes.")
        doc.update({"Action": jobs.SELECT, "ArchiveId": archive.id, "ArchiveSize": archive.doc["Size"], "Tier": tier,
                    "SelectParameters": parameters, "OutputLocation": spec["OutputLocation"], "JobOutputPath": path})

    def _archive_retrieval(self, ctx: Context, vault: Resource, spec: dict, doc: dict) -> None:
        archive_id = spec.get("ArchiveId")
        if archive_id is None:
            raise missing("Required parameter missing: ArchiveId. It is required for archive-retrieval jobs.")
        archive = self._archive(ctx, vault, archive_id)
        tier = spec.get("Tier") or jobs.DEFAULT_TIER
        if tier not in jobs.TIERS:
            raise invalid(f"Invalid tier: {tier}. Valid tiers are {', '.join(jobs.TIERS)}.")
        size = archive.doc["Size"]
        start, end = 0, size - 1
        wanted = spec.get("RetrievalByteRange")
        if wanted is not None:
            match = _BYTE_RANGE.fullmatch(wanted.strip())
            if match is None:
                raise invalid(f"Invalid RetrievalByteRange: {wanted}")
            start, end = int(match.group(1)), int(match.group(2))
            if not (start <= end < size) or not is_megabyte_aligned(size, start, end):
                raise invalid(f"Invalid RetrievalByteRange: {wanted}. The range must lie within the archive of "
                              f"{size} bytes and be megabyte aligned: its start divisible by 1 MB and its end plus "
                              "1 divisible by 1 MB or equal to the archive size.")
        range_hash = None
        if is_tree_hash_aligned(size, start, end):
            whole = start == 0 and end == size - 1
            if whole:
                range_hash = archive.doc["TreeHash"]
            else:
                retrieved = ctx.files.stream(archive_key(ctx.account, ctx.region, archive.id), start, end)
                try:
                    range_hash = tree_hash(retrieved)
                finally:
                    retrieved.close()
        doc.update({"Action": jobs.ARCHIVE_RETRIEVAL, "ArchiveId": archive.id, "ArchiveSize": size,
                    "ArchiveTreeHash": archive.doc["TreeHash"], "Range": [start, end], "RangeTreeHash": range_hash,
                    "Tier": tier, "ArchiveDescription": archive.doc.get("Description")})

    def _inventory_retrieval(self, ctx: Context, vault: Resource, spec: dict, doc: dict) -> None:
        for member in ("ArchiveId", "RetrievalByteRange"):
            if spec.get(member) is not None:
                raise invalid(f"{member} cannot be specified for an inventory-retrieval job.")
        fmt = spec.get("Format") or "JSON"
        if fmt not in INVENTORY_FORMATS:
            raise invalid(f"Invalid format: {fmt}. Valid formats are {', '.join(INVENTORY_FORMATS)}.")
        given = spec.get("InventoryRetrievalParameters") or {}
        wanted = {"Format": fmt}
        for member in ("StartDate", "EndDate"):
            if given.get(member) is not None:
                wanted[member] = given[member]
                wanted[member[:-4] + "Us"] = parse_date(given[member], member)
        if "StartUs" in wanted and "EndUs" in wanted and wanted["StartUs"] >= wanted["EndUs"]:
            raise invalid("Invalid date range: StartDate must be before EndDate.")
        if given.get("Limit") is not None:
            limit = given["Limit"].strip()
            if not limit.isdigit() or int(limit) < 1:
                raise invalid(f"Invalid inventory retrieval limit: {given['Limit']}")
            wanted["Limit"], wanted["LimitCount"] = given["Limit"], int(limit)
        if given.get("Marker") is not None:
            after = inventory.decode_marker(given["Marker"])
            if after is None:
                raise invalid(f"Invalid inventory retrieval marker: {given['Marker']}")
            wanted["After"] = after
        # Inventory jobs read the vault's last inventory; for a vault that never had one "an error is returned"
        # (Developer Guide, "Downloading a Vault Inventory Using the AWS SDK for Java"). Which code and message
        # are not documented; ResourceNotFoundException (404) with this message is jobyard's choice.
        if not (vault.doc.get("Inventory") or {}).get("Key"):
            raise not_found(f"The vault has no inventory yet: {self._arn(ctx, vault.id)}. Its first inventory "
                            "is taken about a day after the first upload.")
        doc.update({"Action": jobs.INVENTORY_RETRIEVAL, "Inventory": wanted})

    @operation("DescribeJob")
    def describe_job(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        return jobs.describe(self._child(ctx, JOB, vault, params["jobId"]))

    @operation("ListJobs")
    def list_jobs(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        states = set(JOB_STATES)
        code = params.get("statuscode")
        if code is not None:
            if code not in JOB_STATES:
                raise invalid(f"The job status code is not valid: {code}")
            states &= {code}
        completed = params.get("completed")
        if completed is not None:
            if completed.lower() not in ("true", "false"):
                raise invalid(f"The value of completed is not valid: {completed}. Valid values are true and false.")
            states &= {SUCCEEDED, FAILED} if completed.lower() == "true" else {IN_PROGRESS}
        page = ctx.scope.page(JOB, limit=parse_limit(params.get("limit"), 50, 50), token=params.get("marker"),
                              parent=vault.id, states=None if len(states) == len(JOB_STATES) else sorted(states),
                              invalid_token=_invalid_marker(params))
        return _with_marker({"JobList": [jobs.describe(j) for j in page.items]}, page.next_token)

    @operation("GetJobOutput")
    def get_job_output(self, ctx: Context, params: dict) -> dict:
        vault = self._vault(ctx, params)
        job = self._child(ctx, JOB, vault, params["jobId"])
        doc = job.doc
        if doc["Action"] == jobs.SELECT:
            location = doc["OutputLocation"]["S3"]
            raise invalid(f"A select job has no output to download: its results are written to "
                          f"s3://{location['BucketName']}/{doc['JobOutputPath']}")
        if job.state != SUCCEEDED:
            raise invalid(f"The job is not currently available for download: {job.id}")
        archive_job = doc["Action"] == jobs.ARCHIVE_RETRIEVAL
        if archive_job:
            key, (offset, last) = archive_key(ctx.account, ctx.region, doc["ArchiveId"]), doc["Range"]
            total, content_type = last - offset + 1, "application/octet-stream"
        else:
            key, offset = output_key(ctx.account, ctx.region, job.id), 0
            total = doc["OutputSize"]
            content_type = "text/csv" if doc["Inventory"]["Format"] == "CSV" else "application/json"
        out = {"status": 200, "acceptRanges": "bytes", "contentType": content_type}
        first, end = 0, total - 1
        wanted = _download_range(params.get("range"), total)
        if wanted is not None:
            first, end = wanted
            out["status"] = 206
            out["contentRange"] = f"bytes {first}-{end}/{total}"
        out["body"] = ctx.files.stream(key, offset + first, offset + end) if total else b""
        if archive_job:
            out["archiveDescription"] = doc.get("ArchiveDescription")
            # A checksum only for data whose retrieved range and downloaded range are both tree-hash aligned.
            if doc.get("RangeTreeHash") and is_tree_hash_aligned(doc["ArchiveSize"], offset + first, offset + end):
                out["checksum"] = doc["RangeTreeHash"] if (first, end) == (0, total - 1) else tree_hash(out["body"])
        return out


def _download_range(text: str | None, total: int) -> tuple[int, int] | None:
    """The byte range a GetJobOutput ``Range`` header asks for, relative to the job's output.

    AWS ignores a malformed Range and returns everything; a start past the end is refused.
    """
    if text is None:
        return None
    match = _DOWNLOAD_RANGE.fullmatch(text.strip())
    if match is None or not (match.group(1) or match.group(2)):
        return None
    if not match.group(1):   # the last N bytes
        count = int(match.group(2))
        return (max(0, total - count), total - 1) if count else None
    first = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else total - 1
    if end < first:
        return None
    if first >= total:
        raise invalid(f"The start of the range is larger than size of retrieved data: {text}")
    return first, min(end, total - 1)


def _forget(ctx: Context, resource: Resource) -> None:
    """The transition of ended uploads: they are dropped when their time is up (as are archive tombstones
    that an earlier jobyard stored with a due time)."""
    ctx.scope.delete(resource)
    resource.next_due_us = None


def _one_month_later(us: int) -> int:
    """A provisioned capacity unit expires one calendar month after purchase, on the last day of the next
    month when that month is shorter (bought August 31, expires September 30)."""
    start = to_datetime(us)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    day = min(start.day, monthrange(year, month)[1])
    return from_datetime(start.replace(year=year, month=month, day=day))
