"""A backup proves itself (issue 21): what its manifest must say, and the checks a restore
makes before it commits anything.

The manifest carries, per table, its columns, row count and the sha256 of its COPY stream,
and the hash chain's head (position and global link). A restore

1. validates the manifest's shape before it touches the database (every member it names is
   in the archive, `created_at` is a time, the chain tables are there whenever events are);
2. checks each stream's digest and row count as it loads it, inside the restoring
   transaction;
3. recomputes, still inside that transaction, every stream link and the global chain of the
   loaded events and compares them with the loaded chain and with the manifest's head.

Any failure rolls the transaction back: nothing changed. What this does not prove: a forger
who rewrites events, chain and manifest together (the chain has no secret). Against that,
compare the chain head `ecovarejo backup` prints with the one `audit verify` reported on the
live system, or keep backups where they cannot be rewritten.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import psycopg

from infrastructure.store.event_log import global_link, link

FORMATS = ("ecovarejo-backup/1", "ecovarejo-backup/2")  # 2: digests and the chain head
EVENTS = "ecovarejo_events"
CHAIN_TABLES = ("ecovarejo_chain_links", "ecovarejo_chain_global")
MAX_MANIFEST_BYTES = 4 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(ValueError):
    """The manifest is not one `ecovarejo backup` writes; the message says what is wrong."""


def check_manifest(manifest: Any, members: set[str]) -> dict[str, Any]:
    """The manifest, if its shape is the one written by `backup` and every table it names
    is in the archive (`members`); else `ManifestError`."""
    if not isinstance(manifest, dict):
        raise ManifestError("its manifest is not a JSON object")
    if manifest.get("format") not in FORMATS:
        raise ManifestError(f"unknown backup format {manifest.get('format')!r}")
    created = manifest.get("created_at")
    try:
        datetime.fromisoformat(created) if isinstance(created, str) else None
    except ValueError:
        created = None
    if not isinstance(created, str):
        raise ManifestError("its manifest has no valid created_at")
    head = manifest.get("head")
    if not isinstance(head, int) or isinstance(head, bool) or head < 0:
        raise ManifestError("its manifest has no valid head")
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise ManifestError("its manifest does not describe the tables it holds")
    digests = manifest["format"] != FORMATS[0]
    for table, spec in tables.items():
        _check_table(table, spec, members, digests=digests)
    _check_chain(manifest, tables, digests=digests)
    return manifest


def _check_table(table: Any, spec: Any, members: set[str], *, digests: bool) -> None:
    if not (isinstance(table, str) and table.isidentifier()):
        raise ManifestError("its manifest names a table that is not a plain identifier")
    if not (
        isinstance(spec, dict)
        and isinstance(spec.get("rows"), int)
        and not isinstance(spec.get("rows"), bool)
        and spec["rows"] >= 0
        and isinstance(spec.get("columns"), list)
        and spec["columns"]
        and all(isinstance(c, str) and c.isidentifier() for c in spec["columns"])
    ):
        raise ManifestError(f"its manifest does not describe table {table}")
    if digests and not (isinstance(spec.get("sha256"), str) and _SHA256.match(spec["sha256"])):
        raise ManifestError(f"its manifest has no digest for table {table}")
    if f"tables/{table}.copy" not in members:
        raise ManifestError(f"table {table} is in its manifest but not in the archive")


def _check_chain(manifest: dict[str, Any], tables: dict[str, Any], *, digests: bool) -> None:
    """Events are restored only with the chain that proves them."""
    if tables.get(EVENTS, {}).get("rows", 0) == 0:
        return
    missing = [t for t in CHAIN_TABLES if t not in tables]
    if missing:
        raise ManifestError(
            f"it holds events but not the hash chain ({', '.join(missing)}): "
            "nothing proves its events are the ones written"
        )
    if not digests:
        return
    chain = manifest.get("chain")
    if not (
        isinstance(chain, dict)
        and isinstance(chain.get("position"), int)
        and not isinstance(chain.get("position"), bool)
        and 0 <= chain["position"] <= manifest["head"]
        and isinstance(chain.get("link"), str)
        and (chain["link"] == "" or _SHA256.match(chain["link"]))
    ):
        raise ManifestError("its manifest has no valid chain head")


def chain_head(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """The global chain's head in the caller's transaction: `{position, link}` (hex)."""
    row = conn.execute(
        "SELECT position, link FROM ecovarejo_chain_global ORDER BY position DESC LIMIT 1"
    ).fetchone()
    return (
        {"position": int(row[0]), "link": bytes(row[1]).hex()}
        if row
        else {
            "position": 0,
            "link": "",
        }
    )


def verify_loaded_chain(conn: psycopg.Connection[Any], expected: dict[str, Any] | None) -> str:
    """Recompute, in the caller's (restoring) transaction, the stream and global links of
    every chained event and compare them with the loaded chain and the manifest's head
    (`expected`, absent in format-1 backups). '' if they agree, else what is wrong."""
    head = chain_head(conn)
    if expected is not None and head != expected:
        return (
            f"its chain head (position {head['position']}) is not the one its manifest "
            f"records (position {expected['position']})"
        )
    count = conn.execute(
        "SELECT (SELECT count(*) FROM ecovarejo_events WHERE notification_id <= %(h)s), "
        "(SELECT count(*) FROM ecovarejo_chain_global)",
        {"h": head["position"]},
    ).fetchone()
    if count is None or count[0] != count[1]:
        return "its events and its global chain do not hold the same positions"
    streams: dict[Any, tuple[int, bytes]] = {}
    previous_global = b""
    with conn.cursor(name="backup_chain") as cursor:
        cursor.itersize = 5000
        cursor.execute(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, "
            "e.state, l.link, g.link FROM ecovarejo_events e "
            "LEFT JOIN ecovarejo_chain_links l USING (originator_id, originator_version) "
            "LEFT JOIN ecovarejo_chain_global g ON g.position = e.notification_id "
            "WHERE e.notification_id <= %s ORDER BY e.notification_id",
            (head["position"],),
        )
        for position, originator_id, version, topic, state, stored, stored_global in cursor:
            last = streams.get(originator_id)
            before = last[1] if last is not None and last[0] == version - 1 else b""
            expected_link = link(before, position, originator_id, version, topic, bytes(state))
            if stored is None or bytes(stored) != expected_link:
                return f"event {position} does not match its chain link"
            streams[originator_id] = (version, expected_link)
            previous_global = global_link(previous_global, expected_link)
            if stored_global is None or bytes(stored_global) != previous_global:
                return f"the global chain does not match its events at position {position}"
    return ""
