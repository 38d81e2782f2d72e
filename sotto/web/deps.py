"""Request dependencies, so route signatures read like prose."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from sotto.accounts import service as accounts
from sotto.accounts.models import Practice, Role, User, WebSession
from sotto.runtime import Runtime
from sotto.web.security import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, CsrfError, check_origin, verify_csrf

SESSION_COOKIE = "sotto_session"
# Marks a browser where an account completed sign-in, for the failed-attempt limits only.
KNOWN_BROWSER_COOKIE = "sotto_device"


class NotSignedIn(Exception):
    """No complete signed-in session: pages redirect to sign-in."""


class Forbidden(Exception):
    """Signed in, but this role may not use the page."""


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_db(request: Request, runtime: RuntimeDep) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent.

    Every request may write (signed-in pages touch the session's last-seen time), so each
    takes a write transaction; on SQLite that queues requests for the write lock rather
    than failing one when another commits between its read and its write.
    """
    session = runtime.sessions()
    try:
        yield session
        session.commit()
        if request.method not in SAFE_METHODS:
            runtime.jobs_enqueued()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": the commit must happen before the response leaves, or a browser that
# follows a redirect at once can arrive before the change it depends on.
DbSession = Annotated[Session, Depends(get_db, scope="function")]


async def csrf_protect(request: Request, runtime: RuntimeDep) -> None:
    """Every state-changing request must carry the form's CSRF token (or the header, for scripts)."""
    if request.method in SAFE_METHODS:
        return
    check_origin(request, runtime.settings.public_url)
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    verify_csrf(request, runtime.keystore, submitted)


CsrfProtected = Depends(csrf_protect)


@dataclass(frozen=True)
class SignedIn:
    user: User
    web_session: WebSession
    practice: Practice


@dataclass(frozen=True)
class PageUser:
    """Who is signed in, as the page layout needs it."""

    id: str
    role: str
    display_name: str


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _session_from_cookie(request: Request, runtime: Runtime, db: Session) -> tuple[WebSession, User] | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return accounts.find_web_session(db, settings=runtime.settings, token=token)


def pending_sign_in(request: Request, runtime: RuntimeDep, db: DbSession) -> tuple[WebSession, User] | None:
    """A session that passed the password but not yet the second factor."""
    found = _session_from_cookie(request, runtime, db)
    if found is None or found[0].second_factor_at is not None:
        return None
    return found


def current_signed_in(request: Request, runtime: RuntimeDep, db: DbSession) -> SignedIn:
    found = _session_from_cookie(request, runtime, db)
    if found is None or found[0].second_factor_at is None:
        # Keep the removal of an idle or expired session: the exception would roll it back.
        db.commit()
        raise NotSignedIn
    ws, user = found
    practice = db.get(Practice, user.practice_id)
    assert practice is not None
    # Pages read this after the request's transaction has ended (error pages included),
    # so they get plain values rather than a database row.
    request.state.user = PageUser(id=user.id, role=user.role, display_name=user.display_name)
    return SignedIn(user, ws, practice)


CurrentUser = Annotated[SignedIn, Depends(current_signed_in)]


def _require(role: Role):  # type: ignore[no-untyped-def]
    def dependency(signed_in: CurrentUser) -> SignedIn:
        if signed_in.user.role != role:
            raise Forbidden
        return signed_in

    return dependency


CurrentTherapist = Annotated[SignedIn, Depends(_require(Role.THERAPIST))]
CurrentAdmin = Annotated[SignedIn, Depends(_require(Role.ADMIN))]

__all__ = [
    "CsrfError",
    "CsrfProtected",
    "CurrentAdmin",
    "CurrentTherapist",
    "CurrentUser",
    "DbSession",
    "Forbidden",
    "NotSignedIn",
    "RuntimeDep",
]
