"""The therapist's pages: home, sending a form, a consent's record, verbal withdrawal, export, verify."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from sotto.accounts.models import Role, User
from sotto.accounts.service import all_party_consent
from sotto.audit import service as audit
from sotto.clients import service as clients
from sotto.clients.models import Client
from sotto.consent import certificates, fhir, seal
from sotto.consent import service as consents
from sotto.consent.models import USE_LABELS, USE_SHORT_LABELS, Consent, ConsentStatus, Use
from sotto.recording import requests as client_requests
from sotto.runtime import Runtime
from sotto.web.deps import CsrfProtected, CurrentTherapist, CurrentUser, DbSession, RuntimeDep
from sotto.web.pages import not_found, render
from sotto.web.uploads import UploadError, read_protected_upload

router = APIRouter(dependencies=[CsrfProtected])
upload_router = APIRouter()  # checks CSRF itself, after reading the body into memory


def _client_rows(db: Session, runtime: Runtime, therapist: User) -> list[tuple[Client, Consent | None]]:
    rows = [
        (client, consents.latest_consent(db, client_id=client.id))
        for client in clients.clients_of(db, therapist=therapist)
    ]
    consents.refresh_statuses(db, keystore=runtime.keystore, consents=[c for _, c in rows if c is not None])
    return rows


def _home(
    request: Request, db: Session, runtime: Runtime, signed_in: CurrentUser, status_code: int = 200, **extra: Any
) -> Response:
    user, practice = signed_in.user, signed_in.practice
    if user.role != Role.THERAPIST:
        notice = certificates.expiry_notice(db, practice_id=practice.id) if user.role == Role.ADMIN else None
        return render(request, "home_staff.html", practice=practice, seal_notice=notice)
    return render(
        request,
        "consent/home.html",
        status_code=status_code,
        practice=practice,
        rows=_client_rows(db, runtime, user),
        all_party=all_party_consent(practice),
        short_labels=USE_SHORT_LABELS,
        ttl_days=runtime.settings.invitation_ttl_days,
        requests=client_requests.requests_for_therapist(db, therapist=user),
        **extra,
    )


@router.get("/")
def home(request: Request, runtime: RuntimeDep, db: DbSession, signed_in: CurrentUser) -> Response:
    return _home(request, db, runtime, signed_in)


@router.get("/guide")
def talking_guide(request: Request, therapist: CurrentTherapist) -> Response:
    return render(
        request, "consent/guide.html", practice=therapist.practice, all_party=all_party_consent(therapist.practice)
    )


@router.post("/consents")
def send_form(
    request: Request,
    runtime: RuntimeDep,
    db: DbSession,
    therapist: CurrentTherapist,
    email: Annotated[str, Form()],
    pseudonym: Annotated[str, Form()] = "",
    client_id: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        if client_id:
            client = clients.client_of(db, therapist=therapist.user, client_id=client_id)
            if client is None:
                return not_found(request)
        else:
            client = clients.find_or_create_client(db, therapist=therapist.user, pseudonym=pseudonym)
        consents.send_invitation(
            db,
            keystore=runtime.keystore,
            settings=runtime.settings,
            therapist=therapist.user,
            client=client,
            email=email,
            note=note,
        )
    except (clients.ClientError, consents.ConsentError) as exc:
        db.rollback()
        return _home(
            request,
            db,
            runtime,
            therapist,
            status_code=400,
            error=str(exc),
            form={"pseudonym": pseudonym, "client_id": client_id, "note": note},
        )
    return RedirectResponse(f"/?sent={client.id}", status_code=303)


def _owned(db: Session, therapist: CurrentTherapist, consent_id: str) -> Consent | None:
    return consents.consent_of(db, therapist=therapist.user, consent_id=consent_id)


@router.get("/consents/verify")
def verify_form(request: Request, therapist: CurrentTherapist) -> Response:
    return render(request, "consent/verify.html", max_mb=request.app.state.runtime.settings.max_upload_mb)


@router.get("/consents/{consent_id}")
def consent_page(
    consent_id: str, request: Request, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist
) -> Response:
    consent = _owned(db, therapist, consent_id)
    if consent is None:
        return not_found(request)
    consents.refresh_status(db, keystore=runtime.keystore, consent=consent)
    client = clients.get_client(db, client_id=consent.client_id)
    return render(
        request,
        "consent/record.html",
        consent=consent,
        client=client,
        use_labels=USE_LABELS,
        uses=list(Use),
        events=audit.events_for(db, subject=f"consent:{consent.id}"),
    )


@router.post("/consents/{consent_id}/withdraw")
def record_verbal_withdrawal(
    consent_id: str,
    request: Request,
    runtime: RuntimeDep,
    db: DbSession,
    therapist: CurrentTherapist,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    consent = _owned(db, therapist, consent_id)
    if consent is None:
        return not_found(request)
    if confirm != "yes":
        return render(
            request,
            "message.html",
            status_code=400,
            title="Not recorded",
            message="Tick the box to confirm the client withdrew their consent.",
            link=(f"/consents/{consent.id}", "Back"),
        )
    consents.withdraw(db, keystore=runtime.keystore, consent=consent, by="therapist", actor=f"user:{therapist.user.id}")
    return RedirectResponse(f"/consents/{consent.id}", status_code=303)


@router.post("/consents/{consent_id}/cancel")
def cancel(
    consent_id: str, request: Request, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist
) -> Response:
    consent = _owned(db, therapist, consent_id)
    if consent is None:
        return not_found(request)
    try:
        consents.cancel_invitation(db, keystore=runtime.keystore, therapist=therapist.user, consent=consent)
    except consents.ConsentError as exc:
        return render(
            request,
            "message.html",
            status_code=409,
            title="Nothing to cancel",
            message=str(exc),
            link=(f"/consents/{consent.id}", "Back"),
        )
    return RedirectResponse(f"/consents/{consent.id}", status_code=303)


@router.get("/consents/{consent_id}/fhir.json")
def export_fhir(
    consent_id: str, request: Request, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist
) -> Response:
    consent = _owned(db, therapist, consent_id)
    if consent is None:
        return not_found(request)
    consents.refresh_status(db, keystore=runtime.keystore, consent=consent)
    client = clients.get_client(db, client_id=consent.client_id)
    assert client is not None
    bundle = fhir.consent_bundle(
        fhir.ConsentExport(
            consent_id=consent.id,
            practice_name=therapist.practice.name,
            client_pseudonym=client.pseudonym,
            therapist_name=therapist.user.display_name,
            status=consent.status,
            uses=dict(consent.uses),
            signed_at=consent.signed_at,
            withdrawn_at=consent.withdrawn_at,
            declined_at=consent.declined_at,
            consent_expires_at=consent.expires_at,
            template_version=consent.template_version,
            form_sha256=consent.form_sha256,
            pdf_sha256=consent.pdf_sha256,
            pdf_sha1=consent.pdf_sha1,
            base_url=runtime.settings.public_url,
        )
    )
    audit.record(
        db,
        keystore=runtime.keystore,
        action="consent.exported",
        actor=f"user:{therapist.user.id}",
        practice_id=consent.practice_id,
        subject=f"consent:{consent.id}",
        details={"format": "fhir-r4"},
    )
    return Response(
        json.dumps(bundle, indent=2),
        media_type="application/fhir+json",
        headers={"content-disposition": f'attachment; filename="consent-{consent.id[:8]}.fhir.json"'},
    )


@upload_router.post("/consents/verify")
async def verify_pdf(request: Request, runtime: RuntimeDep, db: DbSession, therapist: CurrentTherapist) -> Response:
    """Check a PDF against the therapist's records and the practice's seal; the file is not kept."""
    limit = runtime.settings.max_upload_mb * 1024 * 1024
    try:
        _, data = await read_protected_upload(
            request, keystore=runtime.keystore, public_url=runtime.settings.public_url, field="pdf", limit=limit
        )
    except UploadError as exc:
        return render(
            request, "consent/verify.html", status_code=400, error=str(exc), max_mb=runtime.settings.max_upload_mb
        )
    digest = hashlib.sha256(data).hexdigest()
    record = consents.consent_by_pdf_hash(db, therapist=therapist.user, pdf_sha256=digest)
    trusted = [c.certificate_pem for c in certificates.practice_certificates(db, practice_id=therapist.practice.id)]
    # pyHanko runs its own event loop, so it cannot run on this one.
    check = await run_in_threadpool(seal.check_seal, data, trusted)
    del data
    client = clients.get_client(db, client_id=record.client_id) if record else None
    audit.record(
        db,
        keystore=runtime.keystore,
        action="consent.pdf_verified",
        actor=f"user:{therapist.user.id}",
        practice_id=therapist.practice.id,
        subject=f"consent:{record.id}" if record else None,
        details={"matches_record": record is not None, "seal_intact": check.intact, "seal_trusted": check.trusted},
    )
    return render(
        request,
        "consent/verify.html",
        result=check,
        record=record,
        client=client,
        digest=digest,
        statuses=ConsentStatus,
        max_mb=runtime.settings.max_upload_mb,
    )
