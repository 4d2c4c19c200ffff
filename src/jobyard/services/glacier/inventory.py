"""The vault inventory: taken about once a day while a vault changes, read by inventory-retrieval jobs.

AWS updates a vault's inventory roughly daily, starting on the day of the first upload, and only when
archives were added or removed since the last one; the first inventory appears half a day to a day after
the first upload. DescribeVault's counts and every inventory-retrieval job answer from that last inventory,
a point-in-time snapshot, never from the live vault. Here a change schedules the vault's next inventory
12-24 hours later and at least a day after the previous one; at that moment the vault's archives are
written to a snapshot file, which replaces the previous one.
"""

from __future__ import annotations

import base64
import binascii

import orjson

from ...clock import US
from ...context import Context
from ...lifecycle import draw_seconds
from ...store import Resource, TxFiles
from .common import DAY, DELETED, HOUR, iso_seconds, snapshot_key
from .errors import ARCHIVE

INVENTORY_DELAY = (12 * HOUR, 24 * HOUR)   # after the first change since the last inventory
INVENTORY_INTERVAL = DAY                   # at most one inventory a day

CSV_COLUMNS = ("ArchiveId", "ArchiveDescription", "CreationDate", "Size", "SHA256TreeHash")


def vault_changed(vault: Resource, now_us: int) -> None:
    """Record an archive added or removed: the vault needs a new inventory (and may not be deleted yet)."""
    vault.doc["Changed"] = True
    if vault.next_due_us is None:
        delay = draw_seconds(f"{vault.account}/{vault.region}/{vault.id}", f"inventory@{now_us}", *INVENTORY_DELAY)
        due = now_us + int(delay * US)
        last = (vault.doc.get("Inventory") or {}).get("Date")
        if last is not None:
            due = max(due, last + INVENTORY_INTERVAL * US)
        vault.next_due_us = due


def take(ctx: Context, vault: Resource) -> None:
    """The transition handler of vaults: write the inventory due now."""
    # In upload order; the last field (the row's sequence number) breaks ties between equal times.
    entries = [[a.id, a.doc.get("Description"), a.created_us, a.doc["Size"], a.doc["TreeHash"], a.seq]
               for a in ctx.scope.children(ARCHIVE, vault.id) if a.state != DELETED]
    key = snapshot_key(vault.account, vault.region, vault.id, ctx.now_us)
    ctx.files.put(key, orjson.dumps(entries))
    drop_snapshot(ctx.files, vault)
    vault.doc["Inventory"] = {"Date": ctx.now_us, "Count": len(entries), "Size": sum(e[3] for e in entries),
                              "Key": key}
    vault.doc["Changed"] = False
    vault.next_due_us = None


def drop_snapshot(files: TxFiles, vault: Resource) -> None:
    """Delete the vault's last snapshot; the bytes go when the transaction commits, so a transition replayed
    after a rollback still reads them."""
    inventory = vault.doc.get("Inventory") or {}
    # PreviousKey: a second snapshot that vaults written before deletes were transactional still hold.
    for key in (inventory.get("Key"), inventory.get("PreviousKey")):
        if key:
            files.delete(key)


def select(entries: list, start_us: int | None, end_us: int | None, after: list | None,
           limit: int | None) -> tuple[list, list | None]:
    """The entries an inventory job returns and, when ``limit`` cut them short, the position to go on from.

    Archives created on or after ``start_us`` and before ``end_us``, after the marker position
    ``[created_us, sequence]``, at most ``limit`` of them.
    """
    chosen = []
    for entry in entries:
        created = entry[2]
        if start_us is not None and created < start_us or end_us is not None and created >= end_us:
            continue
        if after is not None and (created, entry[5]) <= (after[0], after[1]):
            continue
        if limit is not None and len(chosen) == limit:
            last = chosen[-1]
            return chosen, [last[2], last[5]]
        chosen.append(entry)
    return chosen, None


def encode_marker(position: list) -> str:
    """The opaque marker of an inventory page: where the next inventory job goes on from. Forging one
    gains nothing (it only chooses where a listing of one's own vault starts), so it is plain."""
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


def decode_marker(marker: str) -> list | None:
    try:
        position = orjson.loads(base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        return None
    if isinstance(position, list) and len(position) == 2 and all(type(p) is int for p in position):
        return position
    return None


def render(entries: list, vault_arn: str, inventory_date_us: int, fmt: str) -> tuple[bytes, str]:
    """The inventory document in AWS's JSON (one line) or CSV layout, and its content type. Its dates are
    whole seconds, as in the inventories of the Glacier Developer Guide ("2012-03-20T17:03:43Z"), where the
    API's own answers give milliseconds."""
    if fmt == "CSV":
        lines = [",".join(CSV_COLUMNS)]
        for archive_id, description, created, size, tree_hash, _ in entries:
            fields = (archive_id, description or "", iso_seconds(created), str(size), tree_hash)
            lines.append(",".join(_csv_field(f) for f in fields))
        return ("\n".join(lines) + "\n").encode(), "text/csv"
    document = {
        "VaultARN": vault_arn,
        "InventoryDate": iso_seconds(inventory_date_us),
        "ArchiveList": [{"ArchiveId": archive_id, "ArchiveDescription": description or "",
                         "CreationDate": iso_seconds(created), "Size": size, "SHA256TreeHash": tree_hash}
                        for archive_id, description, created, size, tree_hash, _ in entries],
    }
    return orjson.dumps(document), "application/json"


def _csv_field(text: str) -> str:
    # AWS quotes a field holding a comma or a double quote and escapes quotes inside it with a backslash;
    # backslashes themselves stay as they are.
    if "," in text or '"' in text:
        return '"' + text.replace('"', '\\"') + '"'
    return text
