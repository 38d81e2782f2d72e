"""Pages for setting up the practice, enrolling, signing in and out, and managing users."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from sotto.accounts import security, signin
from sotto.accounts import service as accounts
from sotto.accounts.models import TOPIC_LABELS, US_STATES, Practice, Role, User, WebSession
from sotto.clients import service as clients
from sotto.consent import certificates
from sotto.consent import service as consent_service
from sotto.mail import service as mail
from sotto.web.deps import (
    KNOWN_BROWSER_COOKIE,
    SESSION_COOKIE,
    CsrfProtected,
    CurrentAdmin,
    CurrentUser,
    DbSession,
    RuntimeDep,
    SignedIn,
    client_ip,
    pending_sign_in,
)
from sotto.web.pages import render

router = APIRouter(dependencies=[CsrfProtected])


def _set_session_cookie(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/")


def _set_known_browser_cookie(response: Response, value: str, secure: bool) -> None:
    response.set_cookie(
        KNOWN_BROWSER_COOKIE,
        value,
        max_age=signin.KNOWN_BROWSER_DAYS * 24 * 3600,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )


def _link_gone(request: Request) -> Response:
    return render(
        request,
        "message.html",
        status_code=410,
        title="This link no longer works",
        message="The set-up link has been used or has expired. Ask your practice admin to send a new one "
        "from the People page (for the practice's first admin, whoever runs the server makes one with "
        "`sotto admin create-user`).",
    )


def _enrolment_page(
    request: Request,
    runtime: RuntimeDep,
    link_id: str,
    token: str,
    first_admin: bool,
    email: str,
    error: str | None = None,
    secret: str | None = None,
    form: dict | None = None,
    status_code: int = 200,
    resetting: bool = False,
) -> Response:
    secret = secret or security.new_totp_secret()
    uri = security.totp_uri(secret, account=email or "new account", issuer="Sotto")
    return render(
        request,
        "accounts/enrol.html",
        status_code=status_code,
        token=token,
        first_admin=first_admin,
        email=email,
        error=error,
        secret=secret,
        qr_svg=security.totp_qr_svg(uri),
        sealed_secret=accounts.seal_totp_secret(runtime.keystore, secret, link_id=link_id),
        states=US_STATES,
        form=form or {},
        min_password=security.MIN_PASSWORD_LENGTH,
        resetting=resetting,
    )


@router.get("/enrol/{token}")
def enrolment_form(token: str, request: Request, runtime: RuntimeDep, db: DbSession) -> Response:
    link = accounts.usable_enrolment(db, token)
    if link is None:
        return _link_gone(request)
    user = db.get(User, link.user_id) if link.user_id else None
    return _enrolment_page(
        request,
        runtime,
        link.id,
        token,
        user is None,
        user.email if user else "",
        resetting=user is not None and user.enrolled_at is not None,
    )


@router.post("/enrol/{token}")
def complete_enrolment(
    token: str,
    request: Request,
    runtime: RuntimeDep,
    db: DbSession,
    password: Annotated[str, Form()],
    password_again: Annotated[str, Form()],
    totp_code: Annotated[str, Form()],
    sealed_secret: Annotated[str, Form()],
    practice_name: Annotated[str, Form()] = "",
    us_state: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
) -> Response:
    link = accounts.usable_enrolment(db, token)
    if link is None:
        return _link_gone(request)
    first_admin = link.user_id is None
    user = db.get(User, link.user_id) if link.user_id else None
    shown_email = email if first_admin else (user.email if user else "")
    form = {"practice_name": practice_name, "us_state": us_state, "email": email, "display_name": display_name}
    secret = None
    try:
        secret = accounts.open_totp_secret(runtime.keystore, sealed_secret, link_id=link.id)
        if password != password_again:
            raise accounts.AccountError("The two passwords are not the same.")
        user = accounts.complete_enrolment(
            db,
            keystore=runtime.keystore,
            link=link,
            password=password,
            totp_secret=secret,
            totp_code=totp_code,
            new_practice=(practice_name, us_state) if first_admin else None,
            email=email if first_admin else None,
            display_name=display_name if first_admin else None,
        )
    except accounts.EnrolmentLinkGone:
        db.rollback()
        return _link_gone(request)
    except accounts.AccountError as exc:
        db.rollback()
        # The same secret again, so the authenticator the person already set up still matches.
        return _enrolment_page(
            request,
            runtime,
            link.id,
            token,
            first_admin,
            shown_email,
            error=str(exc),
            form=form,
            status_code=400,
            secret=secret,
            resetting=user is not None and user.enrolled_at is not None,
        )
    if first_admin:
        row = db.get(Practice, user.practice_id)
        assert row is not None
        certificates.ensure_seal_certificate(db, keystore=runtime.keystore, practice=row)
        consent_service.current_template(db, practice_id=row.id)
    return render(
        request,
        "message.html",
        title="You are set up",
        message="Your account is ready. Sign in with your e-mail address, your password and a code "
        "from your authenticator app.",
        link=("/login", "Sign in"),
    )


@router.get("/login")
def login_form(request: Request) -> Response:
    return render(request, "accounts/login.html")


@router.post("/login")
def login(
    request: Request,
    runtime: RuntimeDep,
    db: DbSession,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    result = signin.check_password(
        db,
        keystore=runtime.keystore,
        settings=runtime.settings,
        email=email,
        password=password,
        ip=client_ip(request),
        known_browser=request.cookies.get(KNOWN_BROWSER_COOKIE),
    )
    if result.user is None:
        message = (
            "Too many attempts. Wait a few minutes before trying again."
            if result.locked
            else "That e-mail address and password do not match an account."
        )
        return render(
            request, "accounts/login.html", status_code=429 if result.locked else 400, error=message, email=email
        )
    token = accounts.start_web_session(db, user=result.user)
    response = RedirectResponse("/login/code", status_code=303)
    _set_session_cookie(response, token, runtime.settings.secure_cookies)
    return response


PendingSignIn = Annotated[tuple[WebSession, User] | None, Depends(pending_sign_in)]


@router.get("/login/code")
def code_form(request: Request, pending: PendingSignIn) -> Response:
    if pending is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "accounts/code.html")


@router.post("/login/code")
def check_code(
    request: Request, runtime: RuntimeDep, db: DbSession, pending: PendingSignIn, code: Annotated[str, Form()]
) -> Response:
    if pending is None:
        return RedirectResponse("/login", status_code=303)
    ws, user = pending
    result = signin.check_second_factor(
        db,
        keystore=runtime.keystore,
        settings=runtime.settings,
        user=user,
        code=code,
        ip=client_ip(request),
        known_browser=request.cookies.get(KNOWN_BROWSER_COOKIE),
    )
    if result.user is None:
        if result.locked:
            db.delete(ws)
            response = render(
                request,
                "accounts/login.html",
                status_code=429,
                error="Too many attempts. Wait a few minutes before trying again.",
            )
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
        return render(
            request,
            "accounts/code.html",
            status_code=400,
            error="That code did not match. Enter the newest code from your authenticator app.",
        )
    token = accounts.upgrade_web_session(db, web_session=ws, user=user)
    signed_in = RedirectResponse("/", status_code=303)
    _set_session_cookie(signed_in, token, runtime.settings.secure_cookies)
    _set_known_browser_cookie(
        signed_in, signin.remember_browser(runtime.keystore, user=user), runtime.settings.secure_cookies
    )
    return signed_in


@router.post("/logout")
def logout(runtime: RuntimeDep, db: DbSession, signed_in: CurrentUser) -> Response:
    accounts.end_web_session(db, keystore=runtime.keystore, web_session=signed_in.web_session, user=signed_in.user)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _users_page(request: Request, db: DbSession, admin: SignedIn, status_code: int = 200, **extra: Any) -> Response:
    return render(
        request,
        "accounts/users.html",
        status_code=status_code,
        users=accounts.practice_users(db, practice_id=admin.practice.id),
        client_counts=clients.client_counts(db, practice_id=admin.practice.id),
        roles=[r.value for r in Role],
        me=admin.user.id,
        **extra,
    )


def _send_setup_link(runtime: RuntimeDep, db: DbSession, admin: SignedIn, user: User, token: str) -> str:
    """E-mail ``user`` their one-time set-up link (through the outbox, after commit); returns the link."""
    link = f"{runtime.settings.public_url}/enrol/{token}"
    if user.enrolled_at is None:
        subject = f"Your Sotto account at {admin.practice.name}"
        text = (
            f"{admin.user.display_name} created a Sotto account for you.\n\nSet your password and two-factor "
            f"sign-in here (the link works once, for 72 hours):\n{link}\n"
        )
    else:
        subject = f"A new set-up link for your Sotto account at {admin.practice.name}"
        text = (
            f"{admin.user.display_name} sent you a new set-up link for your Sotto account, for example "
            "because your authenticator was lost.\n\nYour current password and authenticator keep "
            "working until you use it. Using it sets a new password and a new authenticator, and signs "
            f"you out everywhere (the link works once, for 72 hours):\n{link}\n\nIf you did not ask "
            "for this, ignore this message and tell your practice admin.\n"
        )
    mail.queue_message(
        db,
        keystore=runtime.keystore,
        message=mail.compose(sender=runtime.settings.mail_from, to=user.email, subject=subject, text=text),
    )
    return link


@router.get("/admin/users")
def users_page(request: Request, db: DbSession, admin: CurrentAdmin) -> Response:
    return _users_page(request, db, admin)


@router.post("/admin/users")
def add_user(
    request: Request,
    runtime: RuntimeDep,
    db: DbSession,
    admin: CurrentAdmin,
    email: Annotated[str, Form()],
    display_name: Annotated[str, Form()],
    role: Annotated[str, Form()],
) -> Response:
    try:
        if role not in {r.value for r in Role}:
            raise accounts.AccountError("Choose a role.")
        user, token = accounts.create_user(
            db,
            keystore=runtime.keystore,
            practice_id=admin.practice.id,
            email=email,
            display_name=display_name,
            role=Role(role),
            actor=f"user:{admin.user.id}",
        )
    except accounts.AccountError as exc:
        db.rollback()
        return _users_page(request, db, admin, status_code=400, error=str(exc))
    link = _send_setup_link(runtime, db, admin, user, token)
    return _users_page(request, db, admin, created=(user, link))


def _account_change_refused(request: Request, db: DbSession, admin: SignedIn, exc: accounts.AccountError) -> Response:
    db.rollback()
    if isinstance(exc, accounts.UserNotFound):
        return render(request, "message.html", status_code=404, title="Not found", message=str(exc))
    return _users_page(request, db, admin, status_code=400, error=str(exc))


@router.post("/admin/users/{user_id}/deactivate")
def deactivate_user(
    request: Request, runtime: RuntimeDep, db: DbSession, admin: CurrentAdmin, user_id: str
) -> Response:
    try:
        # Their invitations still waiting for a signature first (their rows before the audit log): a
        # consent signed after they left would be sealed in their name and mailed to them. Undone
        # with the rest if the deactivation is refused.
        cancelled = consent_service.cancel_invitations_of(
            db,
            keystore=runtime.keystore,
            practice_id=admin.practice.id,
            therapist_id=user_id,
            actor=f"user:{admin.user.id}",
        )
        user = accounts.deactivate_user(db, keystore=runtime.keystore, admin=admin.user, user_id=user_id)
    except accounts.AccountError as exc:
        return _account_change_refused(request, db, admin, exc)
    invitations = (
        f" {cancelled} consent request{'s' if cancelled != 1 else ''} still waiting for a client's signature "
        f"{'were' if cancelled != 1 else 'was'} cancelled, so that nothing is signed in their name."
        if cancelled
        else ""
    )
    return _users_page(
        request,
        db,
        admin,
        done=f"{user.display_name} can no longer sign in, and was signed out everywhere. "
        "Nothing of theirs was deleted." + invitations,
    )


@router.post("/admin/users/{user_id}/reactivate")
def reactivate_user(
    request: Request, runtime: RuntimeDep, db: DbSession, admin: CurrentAdmin, user_id: str
) -> Response:
    try:
        user = accounts.reactivate_user(db, keystore=runtime.keystore, admin=admin.user, user_id=user_id)
    except accounts.AccountError as exc:
        return _account_change_refused(request, db, admin, exc)
    return _users_page(
        request,
        db,
        admin,
        done=f"{user.display_name} can sign in again with the password and authenticator they had.",
    )


@router.post("/admin/users/{user_id}/hand-over")
def hand_over_clients(
    request: Request,
    runtime: RuntimeDep,
    db: DbSession,
    admin: CurrentAdmin,
    user_id: str,
    to: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Give a departed therapist's clients, with their sessions, to an active colleague."""
    if confirm != "yes":
        return render(
            request,
            "message.html",
            status_code=400,
            title="Nothing was handed over",
            message="Tick the box to confirm the hand-over.",
            link=("/admin/users", "Back"),
        )
    try:
        done = clients.hand_over_clients(
            db, keystore=runtime.keystore, admin=admin.user, from_user_id=user_id, to_user_id=to
        )
    except accounts.AccountError as exc:
        return _account_change_refused(request, db, admin, exc)
    departed, successor = db.get(User, user_id), db.get(User, to)
    assert departed is not None and successor is not None
    renamed = "".join(
        f" {successor.display_name} already had a client called {old}, so this one is now {new}."
        for old, new in done.renamed.items()
    )
    return _users_page(
        request,
        db,
        admin,
        done=f"{done.moved} client{'s' if done.moved != 1 else ''} of {departed.display_name} "
        f"{'are' if done.moved != 1 else 'is'} now {successor.display_name}'s, with their sessions. A consent "
        f"that named {departed.display_name} has ended: {successor.display_name} sends the client a new "
        "form before recording." + renamed,
    )


@router.post("/admin/users/{user_id}/setup-link")
def send_setup_link(
    request: Request, runtime: RuntimeDep, db: DbSession, admin: CurrentAdmin, user_id: str
) -> Response:
    try:
        user, token = accounts.issue_setup_link(db, keystore=runtime.keystore, admin=admin.user, user_id=user_id)
    except accounts.AccountError as exc:
        return _account_change_refused(request, db, admin, exc)
    link = _send_setup_link(runtime, db, admin, user, token)
    if user.enrolled_at is None:
        # As when the account was created: nothing is set up yet, so the admin may pass the link on.
        return _users_page(request, db, admin, created=(user, link), reissued=True)
    # An enrolled account's link goes to its owner only: with it, the admin could take over the account.
    return _users_page(
        request,
        db,
        admin,
        done=f"A new set-up link is on its way to {user.display_name} by e-mail (valid 72 hours). Their "
        "current password and authenticator keep working until they use it.",
    )


def _practice_page(request: Request, admin: SignedIn, status_code: int = 200, **extra: Any) -> Response:
    return render(
        request,
        "accounts/practice.html",
        status_code=status_code,
        practice=admin.practice,
        states=US_STATES,
        topics=TOPIC_LABELS,
        **extra,
    )


@router.get("/admin/practice")
def practice_page(request: Request, admin: CurrentAdmin) -> Response:
    return _practice_page(request, admin)


@router.post("/admin/practice")
async def save_practice(request: Request, runtime: RuntimeDep, db: DbSession, admin: CurrentAdmin) -> Response:
    form = await request.form()

    def number(name: str) -> int | None:
        raw = str(form.get(name, "")).strip()
        if raw in ("", "never"):
            return None
        # isdigit() alone lets through what int() refuses: "²", or more than 4300 digits.
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
            raise accounts.AccountError("Enter whole numbers of days.")
        return int(raw)

    try:
        audio_days = number("audio_retention_days")
        consent_days = number("consent_valid_days")
        values = accounts.PracticeSettings(
            name=str(form.get("name", "")),
            us_state=str(form.get("us_state", "")),
            phi_removal=form.get("phi_removal") == "yes",
            topics_removed=tuple(str(t) for t in form.getlist("topics_removed")),
            topic_marker_names_category=form.get("topic_marker_names_category") == "yes",
            audio_retention_days=audio_days if audio_days is not None else 0,
            transcript_retention_days=number("transcript_retention_days"),
            consent_valid_days=consent_days if consent_days is not None else 0,
            client_deletion=str(form.get("client_deletion", "immediate")),
            request_response_days=number("request_response_days") or 0,
        )
        accounts.update_practice(db, keystore=runtime.keystore, admin=admin.user, values=values)
    except accounts.AccountError as exc:
        db.rollback()
        return _practice_page(request, admin, status_code=400, error=str(exc))
    return _practice_page(request, admin, saved=True)
