"""The audit sweep: verify the chain and move its anchor outside the database forward."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sotto.audit import service
from sotto.jobs.service import periodic

if TYPE_CHECKING:
    from sotto.runtime import Runtime

log = logging.getLogger(__name__)

# How far back a tail can still be cut unnoticed: entries newer than the last sweep are not
# anchored yet. Each sweep walks the whole chain (about 1.3 s per 50,000 entries on SQLite),
# so this is a balance between that window and the work; `sotto audit verify` anchors too.
ANCHOR_EVERY = timedelta(minutes=10)


@periodic("audit.anchor", every=ANCHOR_EVERY)
def anchor_audit_log(runtime: Runtime) -> None:
    """Verify the whole chain; if intact, anchor its newest entry, else say so and leave the anchor."""
    # A read transaction: it must not hold SQLite's write lock for the walk, and having
    # written nothing it sees committed entries only (see verify_and_anchor).
    report = service.verify_and_anchor(runtime.read_sessions, keystore=runtime.keystore)
    if not report.ok:
        # Entry numbers and dates only: nothing from the entries themselves.
        log.error(
            "audit log BROKEN at entry %s: %s; its anchor is left where it was",
            report.first_broken_seq,
            report.problem,
        )
