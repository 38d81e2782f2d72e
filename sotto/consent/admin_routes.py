"""The practice admin's consent pages: the form template and the seal certificate."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from sotto.consent import certificates, seal
from sotto.consent import service as consents
from sotto.consent import template as forms
from sotto.web.deps import CsrfProtected, CurrentAdmin, DbSession, RuntimeDep
from sotto.web.pages import render
from sotto.web.uploads import UploadError, read_protected_upload

router = APIRouter(dependencies=[CsrfProtected])
upload_router = APIRouter()  # checks CSRF itself, after reading the body into memory

MAX_PKCS12_BYTES = 256 * 1024


def _template_page(
    request: Request,
    runtime: RuntimeDep,
    db: DbSession,
    admin: CurrentAdmin,
    body: str | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    current = consents.current_template(db, practice_id=admin.practice.id)
    body = current.body if body is None else body
    preview = None
    # The editor still opens on a template that cannot be previewed; saving reports why.
    with contextlib.suppress(forms.TemplateError, ValueError):
        preview = forms.form_html(
            consents.preview_form(
                db,
                settings=runtime.settings,
                practice=admin.practice,
                therapist_name="(the therapist's name)",
                body=body,
            )
        )
    return render(
        request,
        "consent/admin_template.html",
        status_code=status_code,
        current=current,
        body=body,
        preview=preview,
        placeholders=sorted(forms.PLACEHOLDERS),
        **extra,
    )


@router.get("/admin/template")
def template_page(request: Request, runtime: RuntimeDep, db: DbSession, admin: CurrentAdmin) -> Response:
    return _template_page(request, runtime, db, admin)


@router.post("/admin/template")
def save_template(
    request: Request,
    runtime: RuntimeDep,
    db: DbSession,
    admin: CurrentAdmin,
    body: Annotated[str, Form()],
    action: Annotated[str, Form()] = "save",
) -> Response:
    try:
        forms.validate_template(body)
    except forms.TemplateError as exc:
        return _template_page(request, runtime, db, admin, body=body, status_code=400, error=str(exc))
    if action == "preview":
        return _template_page(request, runtime, db, admin, body=body)
    row = consents.save_template(db, keystore=runtime.keystore, admin=admin.user, body=body)
    return _template_page(request, runtime, db, admin, saved=row.version)


@router.post("/admin/template/reset")
def reset_template(runtime: RuntimeDep, db: DbSession, admin: CurrentAdmin) -> Response:
    consents.save_template(db, keystore=runtime.keystore, admin=admin.user, body=forms.DEFAULT_TEMPLATE)
    return RedirectResponse("/admin/template", status_code=303)


@router.get("/admin/seal")
def seal_page(request: Request, db: DbSession, admin: CurrentAdmin) -> Response:
    return render(
        request,
        "consent/admin_seal.html",
        certificates=certificates.practice_certificates(db, practice_id=admin.practice.id),
        seal_notice=certificates.expiry_notice(db, practice_id=admin.practice.id),
    )


@upload_router.post("/admin/seal")
async def install_seal(request: Request, runtime: RuntimeDep, db: DbSession, admin: CurrentAdmin) -> Response:
    try:
        fields, data = await read_protected_upload(
            request,
            keystore=runtime.keystore,
            public_url=runtime.settings.public_url,
            field="pkcs12",
            limit=MAX_PKCS12_BYTES,
        )
        password = fields.get("password", "")
        certificates.install_certificate(
            db,
            keystore=runtime.keystore,
            practice_id=admin.practice.id,
            pkcs12=data,
            password=password.encode() if password else None,
            actor=f"user:{admin.user.id}",
        )
    except (UploadError, seal.SealError) as exc:
        db.rollback()
        return render(
            request,
            "consent/admin_seal.html",
            status_code=400,
            error=str(exc),
            certificates=certificates.practice_certificates(db, practice_id=admin.practice.id),
        )
    return RedirectResponse("/admin/seal", status_code=303)
