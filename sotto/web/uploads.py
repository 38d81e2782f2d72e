"""Reading an uploaded file into memory only.

Starlette's form parser spools large parts to temporary files; uploads that must never
touch the disk (consent PDFs) are read here instead, with a hard size limit.
"""

from __future__ import annotations

from email import message_from_bytes
from email.message import Message
from urllib.parse import parse_qs

from fastapi import Request

from sotto.crypto.keystore import KeyStore
from sotto.web.security import CSRF_FIELD, CSRF_HEADER, check_origin, verify_csrf


class UploadError(ValueError):
    """The message is shown to the user."""


async def read_body(request: Request, *, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise UploadError(f"The file is larger than {limit // (1024 * 1024)} MB.")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form_with_file(request: Request, *, field: str, limit: int) -> tuple[dict[str, str], bytes | None]:
    """The text fields and the named file of a form (multipart or not), or a raw body sent by a script.

    The file is None when none was chosen; callers check the CSRF field before using either.
    """
    content_type = request.headers.get("content-type", "")
    body = await read_body(request, limit=limit)
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}, None
    if not content_type.startswith("multipart/form-data"):
        return {}, body or None
    parsed: Message = message_from_bytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not parsed.is_multipart():
        raise UploadError("The upload could not be read. Try again.")
    fields: dict[str, str] = {}
    data: bytes | None = None
    for part in parsed.get_payload():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if part.get_param("filename", header="content-disposition") is not None:
            if name == field:
                data = payload or None
        else:
            fields[name] = payload.decode("utf-8", "replace")
    return fields, data


async def read_protected_upload(
    request: Request, *, keystore: KeyStore, public_url: str, field: str, limit: int
) -> tuple[dict[str, str], bytes]:
    """An upload from one of our own forms: origin and CSRF token checked, file present, all in memory."""
    check_origin(request, public_url)
    fields, data = await read_form_with_file(request, field=field, limit=limit)
    verify_csrf(request, keystore, request.headers.get(CSRF_HEADER) or fields.get(CSRF_FIELD))
    if data is None:
        raise UploadError("Choose a file first.")
    return fields, data
