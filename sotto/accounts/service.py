"""Practices, users, enrolment, server-side sessions and colleagues' access (sign-in: ``signin``).

Services take keyword arguments and a session and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sotto import clock
from sotto.accounts import security
from sotto.accounts.models import (
    ALL_PARTY_CONSENT_STATES,
    SENSITIVE_TOPICS,
    US_STATES,
    EnrolmentLink,
    LoginAttempt,
    Practice,
    Role,
    User,
    WebSession,
)
from sotto.audit import service as audit
from sotto.config import Settings
from sotto.crypto.envelope import new_token, open_sealed, seal, token_hash
from sotto.crypto.keystore import KeyStore
from sotto.mail.service import plain_address

ENROLMENT_TTL = timedelta(hours=72)
FIRST_ADMIN_TTL = timedelta(hours=24)


class AccountError(ValueError):
    """A request about an account that cannot be met; the message is shown to the user."""


class EnrolmentLinkGone(AccountError):
    """The enrolment link was used (by an overlapping request) or expired while the form was filled in."""


class UserNotFound(AccountError):
    """No such account in the admin's practice (pages answer 404, telling nothing of other practices)."""


# -- practices and users ------------------------------------------------------------


def has_any_user(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(User)) != 0


def create_practice(session: Session, *, name: str, us_state: str) -> Practice:
    name = name.strip()
    us_state = us_state.strip().upper()
    if not 1 <= len(name) <= 200:
        raise AccountError("Enter the practice's name.")
    if us_state not in US_STATES:
        raise AccountError("Choose the US state the practice is in.")
    practice = Practice(name=name, us_state=us_state)
    session.add(practice)
    session.flush()
    return practice


def all_party_consent(practice: Practice) -> bool:
    return practice.us_state in ALL_PARTY_CONSENT_STATES


def _normal_email(email: str) -> str:
    address = plain_address(email)
    if address is None:
        raise AccountError("Enter a valid e-mail address.")
    return address.lower()


def create_user(
    session: Session, *, keystore: KeyStore, practice_id: str, email: str, display_name: str, role: Role, actor: str
) -> tuple[User, str]:
    """Create an account that still has to be enrolled; returns it and its one-time enrolment token."""
    email = _normal_email(email)
    display_name = display_name.strip()
    if not 1 <= len(display_name) <= 200:
        raise AccountError("Enter the person's name as colleagues know it.")
    if session.scalar(select(User.id).where(User.email == email)):
        raise AccountError("An account with that e-mail address already exists.")
    user = User(practice_id=practice_id, email=email, display_name=display_name, role=Role(role).value)
    session.add(user)
    session.flush()
    token = new_token()
    session.add(EnrolmentLink(token_hash=token_hash(token), user_id=user.id, expires_at=clock.now() + ENROLMENT_TTL))
    audit.record(
        session,
        keystore=keystore,
        action="account.created",
        actor=actor,
        practice_id=practice_id,
        subject=f"user:{user.id}",
        details={"role": user.role},
    )
    return user, token


def issue_first_admin_link(session: Session) -> str | None:
    """On an empty database, a fresh one-time link to set up the practice and its first admin."""
    if has_any_user(session):
        return None
    session.execute(delete(EnrolmentLink).where(EnrolmentLink.user_id.is_(None)))
    token = new_token()
    session.add(EnrolmentLink(token_hash=token_hash(token), user_id=None, expires_at=clock.now() + FIRST_ADMIN_TTL))
    return token


def usable_enrolment(session: Session, token: str) -> EnrolmentLink | None:
    link = session.scalar(select(EnrolmentLink).where(EnrolmentLink.token_hash == token_hash(token)))
    if link is None or link.used_at is not None or link.expires_at <= clock.now():
        return None
    if link.user_id is None and has_any_user(session):
        return None
    if link.user_id is not None:
        user = session.get(User, link.user_id)
        if user is None or not user.active:
            return None
    return link


def seal_totp_secret(keystore: KeyStore, secret: str, *, link_id: str) -> str:
    """The TOTP secret being enrolled, encrypted for the form's hidden field."""
    return seal(keystore, secret.encode(), context=f"enrol:{link_id}").hex()


def open_totp_secret(keystore: KeyStore, sealed_hex: str, *, link_id: str) -> str:
    try:
        return open_sealed(keystore, bytes.fromhex(sealed_hex), context=f"enrol:{link_id}").decode()
    except Exception:
        raise AccountError("The set-up form was altered or is out of date. Reload the page and try again.") from None


def complete_enrolment(
    session: Session,
    *,
    keystore: KeyStore,
    link: EnrolmentLink,
    password: str,
    totp_secret: str,
    totp_code: str,
    new_practice: tuple[str, str] | None = None,
    email: str | None = None,
    display_name: str | None = None,
) -> User:
    """Set the password and second factor, proving the authenticator works; uses up the link.

    The first-admin link also creates the practice and the admin account.
    """
    # Read the link again under a row lock: two overlapping requests with the same link (two
    # web processes, or threads) would otherwise both find it unused and both enrol.
    session.refresh(link, with_for_update=True)
    if link.used_at is not None or link.expires_at <= clock.now() or (link.user_id is None and has_any_user(session)):
        raise EnrolmentLinkGone("This set-up link has already been used or has expired.")
    if link.user_id is None:
        if new_practice is None or email is None or display_name is None:
            raise AccountError("Fill in the practice and your own details.")
        practice = create_practice(session, name=new_practice[0], us_state=new_practice[1])
        user = User(
            practice_id=practice.id,
            email=_normal_email(email),
            display_name=display_name.strip(),
            role=Role.ADMIN.value,
        )
        if not 1 <= len(user.display_name) <= 200:
            raise AccountError("Enter your name as colleagues know it.")
        session.add(user)
        session.flush()
        audit.record(
            session,
            keystore=keystore,
            action="practice.created",
            actor=f"user:{user.id}",
            practice_id=practice.id,
            subject=f"practice:{practice.id}",
        )
    else:
        found = session.get(User, link.user_id)
        if found is None:
            raise AccountError("This account no longer exists.")
        if not found.active:
            # Deactivated while the form was open (deactivation retires links, but this one was read first).
            raise EnrolmentLinkGone("This set-up link has already been used or has expired.")
        user = found
    problem = security.password_problem(password, email=user.email)
    if problem:
        raise AccountError(problem)
    step = security.accept_totp(totp_secret, totp_code, last_step=0)
    if step is None:
        raise AccountError("That code did not match. Check the time on your phone and enter the newest code.")
    resetting = user.enrolled_at is not None
    user.password_hash = security.hash_password(password)
    user.totp_secret_sealed = seal(keystore, totp_secret.encode(), context=f"totp:{user.id}")
    user.totp_last_step = step
    user.enrolled_at = clock.now()
    link.used_at = clock.now()
    if resetting:
        # A new password and authenticator (a lost phone, a leaked password): whoever signed in
        # with the old ones is signed out everywhere.
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    audit.record(
        session,
        keystore=keystore,
        action="account.reset" if resetting else "account.enrolled",
        actor=f"user:{user.id}",
        practice_id=user.practice_id,
        subject=f"user:{user.id}",
    )
    return user


# -- web sessions -------------------------------------------------------------------


def start_web_session(session: Session, *, user: User) -> str:
    """A new session after the password step; returns the cookie token (stored only hashed)."""
    token = new_token()
    session.add(WebSession(token_hash=token_hash(token), user_id=user.id))
    return token


def upgrade_web_session(session: Session, *, web_session: WebSession, user: User) -> str:
    """Second factor passed: replace the session token (no fixation) and mark it complete."""
    token = new_token()
    web_session.token_hash = token_hash(token)
    web_session.second_factor_at = clock.now()
    web_session.last_seen_at = clock.now()
    return token


def find_web_session(session: Session, *, settings: Settings, token: str) -> tuple[WebSession, User] | None:
    """The live session for a cookie token, touched; None when unknown, idle too long or too old."""
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if ws is None:
        return None
    now = clock.now()
    idle = now - ws.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
    too_old = now - ws.created_at > timedelta(hours=settings.session_max_hours)
    user = session.get(User, ws.user_id)
    if idle or too_old or user is None or not user.active:
        session.delete(ws)
        return None
    ws.last_seen_at = now
    return ws, user


def end_web_session(session: Session, *, keystore: KeyStore, web_session: WebSession, user: User) -> None:
    session.delete(web_session)
    audit.record(
        session,
        keystore=keystore,
        action="signout",
        actor=f"user:{user.id}",
        practice_id=user.practice_id,
        subject=f"user:{user.id}",
    )


def purge_stale_sessions(session: Session, *, settings: Settings) -> None:
    idle_cutoff = clock.now() - timedelta(minutes=settings.session_idle_minutes)
    session.execute(delete(WebSession).where(WebSession.last_seen_at < idle_cutoff))
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < clock.now() - timedelta(days=1)))


def practice_users(session: Session, *, practice_id: str) -> list[User]:
    return list(session.scalars(select(User).where(User.practice_id == practice_id).order_by(User.display_name)))


def display_name(session: Session, *, user_id: str) -> str | None:
    """The name a colleague's account goes by, or None if there is no such account."""
    user = session.get(User, user_id)
    return user.display_name if user is not None else None


def active_admins(session: Session, *, practice_id: str) -> list[User]:
    """The practice's admins who can still sign in: who hears what concerns the practice as a whole."""
    return list(
        session.scalars(
            select(User)
            .where(User.practice_id == practice_id, User.role == Role.ADMIN.value, User.active.is_(True))
            .order_by(User.id)
        )
    )


# -- an admin managing colleagues' access ---------------------------------------------------


def _colleague_under_lock(session: Session, *, admin: User, user_id: str) -> User:
    """The account ``user_id`` in ``admin``'s practice, after locking the practice's row.

    The lock makes two admins changing accounts at once (several web processes on PostgreSQL)
    take turns, so two admins deactivating each other cannot leave the practice with none.
    Both rows are read again after it, as the other request may have changed them.
    """
    practice = session.get(Practice, admin.practice_id)
    assert practice is not None
    session.refresh(practice, with_for_update=True)
    session.refresh(admin)
    if admin.role != Role.ADMIN.value or not admin.active:
        raise AccountError("Only an active practice admin can change accounts.")
    user = session.get(User, user_id)
    if user is None or user.practice_id != admin.practice_id:
        raise UserNotFound("There is no such account in your practice.")
    session.refresh(user)
    return user


def _retire_enrolment_links(session: Session, *, user_id: str) -> None:
    session.execute(delete(EnrolmentLink).where(EnrolmentLink.user_id == user_id))


def deactivate_user(session: Session, *, keystore: KeyStore, admin: User, user_id: str) -> User:
    """End a colleague's access: they cannot sign in, their sessions end at once, their set-up links stop working.

    Nothing they made is deleted: their clients, consents and sessions stay, under the
    practice's retention rules, and come back with the account if it is reactivated.
    """
    user = _colleague_under_lock(session, admin=admin, user_id=user_id)
    if user.id == admin.id:
        raise AccountError("You cannot deactivate your own account. Ask another admin to do it.")
    if user.role == Role.ADMIN.value and user.active:
        other_admins = session.scalar(
            select(func.count())
            .select_from(User)
            .where(
                User.practice_id == admin.practice_id,
                User.role == Role.ADMIN.value,
                User.active.is_(True),
                User.id != user.id,
            )
        )
        if not other_admins:
            raise AccountError("This is the practice's last active admin, so the account stays active.")
    if not user.active:
        return user
    user.active = False
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    _retire_enrolment_links(session, user_id=user.id)
    audit.record(
        session,
        keystore=keystore,
        action="account.deactivated",
        actor=f"user:{admin.id}",
        practice_id=admin.practice_id,
        subject=f"user:{user.id}",
        details={"role": user.role},
    )
    return user


def hand_over_parties(session: Session, *, admin: User, from_user_id: str, to_user_id: str) -> tuple[User, User]:
    """The deactivated therapist whose clients ``admin`` hands over, and the active therapist taking them.

    Checked under the practice's lock, as deactivation and reactivation take it, so neither
    account changes while the clients move.
    """
    departed = _colleague_under_lock(session, admin=admin, user_id=from_user_id)
    if departed.role != Role.THERAPIST.value:
        raise AccountError("Only a therapist's clients can be handed over.")
    if departed.active:
        raise AccountError(f"Deactivate {departed.display_name}'s account before handing over their clients.")
    successor = session.get(User, to_user_id)
    if successor is not None:
        session.refresh(successor)
    if (
        successor is None
        or successor.practice_id != admin.practice_id
        or successor.role != Role.THERAPIST.value
        or not successor.active
        or successor.id == departed.id
    ):
        raise AccountError("Choose an active therapist of the practice to take the clients.")
    return departed, successor


def reactivate_user(session: Session, *, keystore: KeyStore, admin: User, user_id: str) -> User:
    """Give a deactivated colleague their access back, with the password and authenticator they had."""
    user = _colleague_under_lock(session, admin=admin, user_id=user_id)
    if user.active:
        return user
    user.active = True
    audit.record(
        session,
        keystore=keystore,
        action="account.reactivated",
        actor=f"user:{admin.id}",
        practice_id=admin.practice_id,
        subject=f"user:{user.id}",
        details={"role": user.role},
    )
    return user


def issue_setup_link(session: Session, *, keystore: KeyStore, admin: User, user_id: str) -> tuple[User, str]:
    """A new one-time set-up link for a colleague; every earlier link of theirs stops working.

    For an enrolled account nothing changes until the link is used: their password and
    authenticator keep working, and are replaced (and their sessions ended) only when they
    complete the new set-up, so a stray click cannot lock them out.
    """
    user = _colleague_under_lock(session, admin=admin, user_id=user_id)
    if not user.active:
        raise AccountError("This account is deactivated. Reactivate it before sending a set-up link.")
    _retire_enrolment_links(session, user_id=user.id)
    token = new_token()
    session.add(EnrolmentLink(token_hash=token_hash(token), user_id=user.id, expires_at=clock.now() + ENROLMENT_TTL))
    audit.record(
        session,
        keystore=keystore,
        action="account.setup_link_sent",
        actor=f"user:{admin.id}",
        practice_id=admin.practice_id,
        subject=f"user:{user.id}",
        details={"enrolled": user.enrolled_at is not None},
    )
    return user, token


@dataclass(frozen=True)
class PracticeSettings:
    """What an admin may change about the practice; the consent form quotes these values."""

    name: str
    us_state: str
    phi_removal: bool
    topics_removed: tuple[str, ...]
    topic_marker_names_category: bool
    audio_retention_days: int
    transcript_retention_days: int | None
    consent_valid_days: int
    client_deletion: str = "immediate"
    request_response_days: int = 30


def update_practice(session: Session, *, keystore: KeyStore, admin: User, values: PracticeSettings) -> Practice:
    """Apply new practice settings after checking each; raises AccountError with a plain message."""
    practice = session.get(Practice, admin.practice_id)
    assert practice is not None
    name = values.name.strip()
    if not 1 <= len(name) <= 200:
        raise AccountError("Enter the practice's name.")
    if values.us_state not in US_STATES:
        raise AccountError("Choose the US state the practice is in.")
    if set(values.topics_removed) - set(SENSITIVE_TOPICS):
        raise AccountError("Choose topics from the list.")
    if not 0 <= values.audio_retention_days <= 3650:
        raise AccountError("Keep raw audio for 0 to 3650 days.")
    if values.transcript_retention_days is not None and not 1 <= values.transcript_retention_days <= 3650:
        raise AccountError("Keep transcripts for 1 to 3650 days, or until deleted.")
    if not 30 <= values.consent_valid_days <= 1095:
        raise AccountError("A consent can last from 30 days to 3 years.")
    if values.client_deletion not in ("immediate", "request"):
        raise AccountError("Choose how a client's deletion request is handled.")
    if not 1 <= values.request_response_days <= 45:
        raise AccountError("Answer client requests within 1 to 45 days.")
    changed = {}
    for field_name, value in (
        ("name", name),
        ("us_state", values.us_state),
        ("phi_removal", values.phi_removal),
        ("topics_removed", [t for t in SENSITIVE_TOPICS if t in values.topics_removed]),
        ("topic_marker_names_category", values.topic_marker_names_category),
        ("audio_retention_days", values.audio_retention_days),
        ("transcript_retention_days", values.transcript_retention_days),
        ("consent_valid_days", values.consent_valid_days),
        ("client_deletion", values.client_deletion),
        ("request_response_days", values.request_response_days),
    ):
        if getattr(practice, field_name) != value:
            setattr(practice, field_name, value)
            changed[field_name] = value if field_name != "name" else True
    if changed:
        audit.record(
            session,
            keystore=keystore,
            action="practice.settings_changed",
            actor=f"user:{admin.id}",
            practice_id=practice.id,
            subject=f"practice:{practice.id}",
            details={"changed": changed},
        )
    return practice
