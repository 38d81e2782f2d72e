"""Sign-in: the password, then the second factor, each limited in failed attempts.

Failed attempts count against the account, the address and (where the account signed in before)
the browser, in the database, so the limits hold across restarts and web processes. Services
take keyword arguments and a session and never commit.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from sotto import clock
from sotto.accounts import security
from sotto.accounts.models import LoginAttempt, User
from sotto.audit import service as audit
from sotto.config import Settings
from sotto.crypto.envelope import keyed_hash, new_token, open_sealed
from sotto.crypto.keystore import KeyStore

KNOWN_BROWSER_DAYS = 180


def _known_browser_mac(keystore: KeyStore, email: str, nonce: str) -> str:
    return keyed_hash(keystore, f"{email.strip().lower()}\n{nonce}", purpose="known-browser")


def remember_browser(keystore: KeyStore, *, user: User) -> str:
    """A cookie value marking a browser where ``user`` completed both factors.

    It grants no access; it only lets that browser be limited by its own failed attempts rather
    than the account's, so someone guessing elsewhere cannot keep the owner out.
    """
    nonce = new_token()
    return f"{nonce}.{_known_browser_mac(keystore, user.email, nonce)}"


def _known_browser_key(keystore: KeyStore, email: str, known_browser: str | None) -> str | None:
    nonce, _, mac = (known_browser or "").partition(".")
    if not nonce or len(known_browser or "") > 200:
        return None
    if not hmac.compare_digest(mac.encode(), _known_browser_mac(keystore, email, nonce).encode()):
        return None
    return "known:" + keyed_hash(keystore, nonce, purpose="sign-in-attempts")


def _attempt_keys(keystore: KeyStore, email: str, ip: str) -> tuple[str, str]:
    # Keyed hashes: a plain hash of an address could be reversed by guessing addresses.
    account = "acct:" + keyed_hash(keystore, email.strip().lower(), purpose="sign-in-attempts")
    address = "ip:" + keyed_hash(keystore, ip, purpose="sign-in-attempts")
    return account, address


def too_many_attempts(session: Session, *, key: str, limit: int, minutes: int) -> bool:
    """Whether ``key`` (a hashed account, address or form) was used ``limit`` times in the window."""
    since = clock.now() - timedelta(minutes=minutes)
    count = session.scalar(
        select(func.count()).select_from(LoginAttempt).where(LoginAttempt.key == key, LoginAttempt.at > since)
    )
    return (count or 0) >= limit


def note_attempt(session: Session, *, key: str) -> None:
    session.add(LoginAttempt(key=key[:80]))


def _one_attempt_at_a_time(session: Session, *, key: str) -> None:
    """Until this transaction ends, make other transactions checking ``key`` wait.

    Without it, overlapping guesses at one account (several web processes on PostgreSQL) would
    all count the failures before any of them is stored, and all get in under the limit. The
    lock is on the account key, not on a user row, so an unknown address waits the same way.
    SQLite needs nothing: a write transaction there already holds the whole database.
    """
    if session.get_bind().dialect.name == "postgresql":
        number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:number)"), {"number": number})


def sign_in_locked(
    session: Session, *, keystore: KeyStore, settings: Settings, email: str, ip: str, known_browser: str | None = None
) -> bool:
    """Whether sign-in for this account or from this address must wait; from here until the
    transaction ends, other attempts at the same account wait for this one.

    A browser where this account signed in before (``known_browser``, from ``remember_browser``)
    counts its own failures instead of the account's: the account's limit slows guessing from
    anywhere else, and the owner is not locked out by it.
    """
    account, address = _attempt_keys(keystore, email, ip)
    _one_attempt_at_a_time(session, key=account)
    window, limit = settings.login_lockout_minutes, settings.login_max_failures
    first = _known_browser_key(keystore, email, known_browser) or account
    return too_many_attempts(session, key=first, limit=limit, minutes=window) or too_many_attempts(
        session, key=address, limit=limit * 4, minutes=window
    )


def note_failed_sign_in(
    session: Session, *, keystore: KeyStore, email: str, ip: str, known_browser: str | None = None
) -> None:
    known = _known_browser_key(keystore, email, known_browser)
    for key in (*_attempt_keys(keystore, email, ip), *([known] if known else [])):
        note_attempt(session, key=key)


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    locked: bool = False


def check_password(
    session: Session,
    *,
    keystore: KeyStore,
    settings: Settings,
    email: str,
    password: str,
    ip: str,
    known_browser: str | None = None,
) -> SignInResult:
    """First factor. Failed attempts count against the account and the address, and against the
    browser when ``known_browser`` shows the account signed in there before (see ``sign_in_locked``)."""
    if sign_in_locked(session, keystore=keystore, settings=settings, email=email, ip=ip, known_browser=known_browser):
        audit.record(session, keystore=keystore, action="signin.locked", actor="anonymous")
        return SignInResult(None, locked=True)
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    ok = security.verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active or user.enrolled_at is None:
        note_failed_sign_in(session, keystore=keystore, email=email, ip=ip, known_browser=known_browser)
        audit.record(
            session,
            keystore=keystore,
            action="signin.failed",
            actor="anonymous",
            practice_id=user.practice_id if user else None,
            subject=f"user:{user.id}" if user else None,
            details={"factor": "password"},
        )
        return SignInResult(None)
    audit.record(
        session,
        keystore=keystore,
        action="signin.password_ok",
        actor=f"user:{user.id}",
        practice_id=user.practice_id,
        subject=f"user:{user.id}",
    )
    return SignInResult(user)


def check_second_factor(
    session: Session,
    *,
    keystore: KeyStore,
    settings: Settings,
    user: User,
    code: str,
    ip: str,
    known_browser: str | None = None,
) -> SignInResult:
    """Second factor. A code is accepted once, and failures count as for the password.

    The account is read again once ``sign_in_locked`` has made overlapping requests for it
    wait: one that carries the same code then sees the step this one stores.
    """
    if sign_in_locked(
        session, keystore=keystore, settings=settings, email=user.email, ip=ip, known_browser=known_browser
    ):
        audit.record(
            session,
            keystore=keystore,
            action="signin.locked",
            actor=f"user:{user.id}",
            practice_id=user.practice_id,
            subject=f"user:{user.id}",
        )
        return SignInResult(None, locked=True)
    session.refresh(user)
    assert user.totp_secret_sealed is not None
    secret = open_sealed(keystore, user.totp_secret_sealed, context=f"totp:{user.id}").decode()
    step = security.accept_totp(secret, code, last_step=user.totp_last_step)
    if step is None:
        note_failed_sign_in(session, keystore=keystore, email=user.email, ip=ip, known_browser=known_browser)
        audit.record(
            session,
            keystore=keystore,
            action="signin.failed",
            actor=f"user:{user.id}",
            practice_id=user.practice_id,
            subject=f"user:{user.id}",
            details={"factor": "totp"},
        )
        return SignInResult(None)
    user.totp_last_step = step
    audit.record(
        session,
        keystore=keystore,
        action="signin.succeeded",
        actor=f"user:{user.id}",
        practice_id=user.practice_id,
        subject=f"user:{user.id}",
    )
    return SignInResult(user)
