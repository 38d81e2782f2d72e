"""The audit log's anchor: one entry known good, kept outside the database.

Why it exists. ``audit_head`` lives in the same database as the chain, so someone who can
write the database alone can delete the newest entries and set the head back to the last
remaining entry's number and hash (both are right there in that row, no key needed), and
the chain still verifies. The anchor is the number, hash and time of an entry known good,
kept by the key store (for the key file: a small file beside it), so the database cannot
vouch for itself. Verification requires the chain to hold the anchored entry with exactly
the anchored hash: a tail cut back past the anchor is noticed, and so is a tail cut and
then refilled by new appends (the refilled entry has another hash, since every hash covers
the time and the previous hash).

The anchor is sealed with an HMAC under the key store's ``audit-anchor`` key, distinct from
the chain's ``audit`` key, so an edited anchor is noticed and neither kind of hash can be
passed off as the other.

When it moves. Only forward, and only from a chain verified in a transaction of its own
(``sotto.audit.service.verify_and_anchor``), which sees committed entries only. It is
never written inside the transaction that appends: if that transaction then rolled back,
the anchor would be ahead of the database, a false alarm. The ``audit.anchor`` sweep and
``sotto audit verify`` move it; entries appended since it last moved are not covered yet,
so the sweep's period is how far back a tail can still be cut unnoticed.

What it cannot do.

- Someone who can write both the database and the key store (for the key file: its
  folder, created 0700 for the Sotto user) can roll both back together, or delete both.
  That is the remaining limit. For the key file it is little further loss: whoever can
  write that folder is in practice the Sotto user or root, who can read the key file and
  so could rebuild the whole chain anyway. The anchor is a defence against access to the
  database alone: a leaked database password, a compromised database host or replica,
  a hand-edited backup.
- A chain with entries and no anchor is reported intact, with a notice, not as tampered:
  nothing tells "never anchored" (an install from before anchors existed, a key store
  moved without its anchor file) from "anchor deleted". Keeping a marker in the database
  would not stop the one who can delete the file (above: they hold the keys), and a lost
  or unrestored anchor file would then raise an alarm that could only be cleared by
  moving the anchor backwards. The sweep writes a new anchor at its next run and logs a
  warning, so an unexpected one is seen.
- A database restored from a backup older than the anchor is reported as broken, rightly:
  entries written since were lost. The anchor does not move back by itself; an operator
  who accepts the loss moves the anchor file aside, and the next sweep anchors the
  restored log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime

from sotto.crypto.keystore import KeyStore, KeyStoreError

# What the key store keeps it under, and the purpose of the key that seals it.
ANCHOR_NAME = "audit"
SEAL_PURPOSE = "audit-anchor"
_FORMAT = 1
_HEX64 = re.compile(r"[0-9a-f]{64}")
# A compare-and-swap fails only when another process moved the anchor meanwhile.
_ATTEMPTS = 5


class AnchorError(RuntimeError):
    """The stored anchor cannot be trusted: unreadable, or its seal does not verify."""


@dataclass(frozen=True)
class Anchor:
    """An entry of the chain known good: its number, hash and the time it was written."""

    seq: int
    hash: str
    at: datetime


def stored_anchor(keystore: KeyStore) -> Anchor | None:
    """The anchor the key store holds, checked against its seal; None if there is none.

    Raises AnchorError if it is damaged or was edited.
    """
    return _unseal(keystore, keystore.read_anchor(ANCHOR_NAME))


def advance_anchor(keystore: KeyStore, *, to: Anchor) -> Anchor:
    """Make ``to`` the anchor unless the stored one is already that far; returns the anchor now stored.

    Never moves the anchor backwards, even when another process moved it past ``to``
    meanwhile. ``to`` must be an entry just verified in a transaction that had written
    nothing (see ``verify_and_anchor``). Raises AnchorError rather than overwrite a stored
    anchor that does not verify: that is evidence.
    """
    for _ in range(_ATTEMPTS):
        raw = keystore.read_anchor(ANCHOR_NAME)
        current = _unseal(keystore, raw)
        if current is not None and current.seq >= to.seq:
            return current
        if keystore.replace_anchor(ANCHOR_NAME, expected=raw, new=_seal(keystore, to)):
            return to
    raise KeyStoreError("the audit anchor kept changing while it was being moved; try again")


def _seal_mac(keystore: KeyStore, seq: int, digest: str, at: str) -> str:
    body = json.dumps([_FORMAT, seq, digest, at], separators=(",", ":"))
    return hmac.new(keystore.mac_key(SEAL_PURPOSE), body.encode(), hashlib.sha256).hexdigest()


def _seal(keystore: KeyStore, anchor: Anchor) -> bytes:
    at = anchor.at.isoformat(timespec="microseconds")
    record = {
        "format": _FORMAT,
        "seq": anchor.seq,
        "hash": anchor.hash,
        "at": at,
        "mac": _seal_mac(keystore, anchor.seq, anchor.hash, at),
    }
    return json.dumps(record, indent=1).encode() + b"\n"


def _unseal(keystore: KeyStore, raw: bytes | None) -> Anchor | None:
    if raw is None:
        return None
    damaged = AnchorError("the audit anchor kept with the keys is damaged or was edited (its seal does not verify)")
    try:
        record = json.loads(raw)
        seq, digest, at, mac = record["seq"], record["hash"], record["at"], record["mac"]
        well_formed = (
            record["format"] == _FORMAT
            and type(seq) is int
            and seq >= 1
            and isinstance(digest, str)
            and _HEX64.fullmatch(digest) is not None
            and isinstance(at, str)
            and isinstance(mac, str)
        )
        when = datetime.fromisoformat(at) if well_formed else None
    except (ValueError, KeyError, TypeError):
        raise damaged from None
    if when is None or when.tzinfo is None:
        raise damaged
    if not hmac.compare_digest(mac.encode(), _seal_mac(keystore, seq, digest, at).encode()):
        raise damaged
    return Anchor(seq=seq, hash=digest, at=when)
