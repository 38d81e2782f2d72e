"""The client's signing pages, reached by the private link in the invitation: sign or decline."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from sotto.accounts.models import Practice, User
from sotto.accounts.service import all_party_consent
from sotto.consent import service as consents
from sotto.consent import signing
from sotto.consent import template as forms
from sotto.consent.models import USE_LABELS, Consent, Use
from sotto.web.deps import CsrfProtected, DbSession, RuntimeDep, client_ip
from sotto.web.pages import render

router = APIRouter(dependencies=[CsrfProtected])


def _problem(request: Request, exc: signing.LinkProblem) -> Response:
    return render(request, "client/message.html", status_code=410, title="This link cannot be used", message=str(exc))


def _sign_page(request: Request, db: DbSession, consent: Consent, status_code: int = 200, **extra: Any) -> Response:
    practice = db.get(Practice, consent.practice_id)
    therapist = db.get(User, consent.therapist_id)
    assert practice is not None and therapist is not None
    return render(
        request,
        "client/sign.html",
        status_code=status_code,
        consent=consent,
        practice=practice,
        therapist=therapist,
        form_html=forms.form_html(consent.form_text),
        uses=list(Use),
        use_labels=USE_LABELS,
        all_party=all_party_consent(practice),
        **extra,
    )


@router.get("/c/{token}")
def signing_page(token: str, request: Request, runtime: RuntimeDep, db: DbSession) -> Response:
    try:
        consent = signing.invitation_for_token(db, keystore=runtime.keystore, token=token)
    except signing.LinkProblem as exc:
        return _problem(request, exc)
    return _sign_page(request, db, consent, token=token, chosen={}, form={})


@router.post("/c/{token}/sign")
async def sign(
    token: str,
    request: Request,
    runtime: RuntimeDep,
    db: DbSession,
    typed_name: Annotated[str, Form()] = "",
    signature: Annotated[str, Form()] = "",
    agree_electronic: Annotated[str, Form()] = "",
) -> Response:
    form = await request.form()
    chosen = {use.value: form.get(f"use_{use.value}") == "yes" for use in Use}
    try:
        consent = signing.invitation_for_token(db, keystore=runtime.keystore, token=token)
    except signing.LinkProblem as exc:
        return _problem(request, exc)
    practice = db.get(Practice, consent.practice_id)
    assert practice is not None
    try:
        png = signing.check_signature_image(signature)
        signing.sign(
            db,
            keystore=runtime.keystore,
            consent=consent,
            practice=practice,
            agree_electronic=agree_electronic == "yes",
            uses=chosen,
            details=signing.SigningDetails(typed_name, png, client_ip(request), request.headers.get("user-agent", "")),
        )
    except signing.LinkProblem as exc:
        db.rollback()
        return _problem(request, exc)
    except consents.ConsentError as exc:
        db.rollback()
        return _sign_page(
            request,
            db,
            consent,
            status_code=400,
            token=token,
            error=str(exc),
            chosen=chosen,
            form={"typed_name": typed_name, "agree_electronic": agree_electronic == "yes"},
        )
    return render(
        request,
        "client/message.html",
        title="Thank you — your consent is signed",
        message="A copy of the signed form is on its way to your e-mail, with a private link where you "
        "can see what you agreed to or withdraw at any time. You can also simply tell your "
        "therapist.",
    )


@router.post("/c/{token}/decline")
def decline(
    token: str, request: Request, runtime: RuntimeDep, db: DbSession, reason: Annotated[str, Form()] = ""
) -> Response:
    try:
        consent = signing.invitation_for_token(db, keystore=runtime.keystore, token=token)
        signing.decline(db, keystore=runtime.keystore, settings=runtime.settings, consent=consent, reason=reason)
    except signing.LinkProblem as exc:
        db.rollback()
        return _problem(request, exc)
    return render(
        request,
        "client/message.html",
        title="You declined — that is completely fine",
        message="Your sessions will not be recorded, and your care continues exactly as before. "
        "You will not receive reminders about this. Your e-mail address has been erased "
        "from Sotto.",
    )
