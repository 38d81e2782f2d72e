"""Housekeeping for accounts: forget idle sessions and old failed sign-in attempts."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sotto.accounts import service
from sotto.db import session_scope
from sotto.jobs.service import periodic

if TYPE_CHECKING:
    from sotto.runtime import Runtime


@periodic("accounts.purge_sessions", every=timedelta(minutes=10))
def purge_sessions(runtime: Runtime) -> None:
    with session_scope(runtime.sessions) as session:
        service.purge_stale_sessions(session, settings=runtime.settings)
