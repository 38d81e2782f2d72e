"""Reading an uploaded file into memory only.

Starlette's form parser spools large parts to temporary files; uploads that must never
touch the disk (consent PDFs) are read here instead, with a hard size limit.
"""

from __future__ import annotations

from email import message_from_bytes
from email.message import Message

from fastapi import Request


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


async def read_single_file(request: Request, *, field: str, limit: int) -> tuple[dict[str, str], bytes]:
    """The text fields and the one file of a multipart form, or a raw body sent by a script."""
    content_type = request.headers.get("content-type", "")
    body = await read_body(request, limit=limit)
    if not content_type.startswith("multipart/form-data"):
        if not body:
            raise UploadError("Choose a file first.")
        return {}, body
    parsed: Message = message_from_bytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    if not parsed.is_multipart():
        raise UploadError("The upload could not be read. Try again.")
    fields: dict[str, str] = {}
    data: bytes | None = None
    for part in parsed.get_payload():  # type: ignore[union-attr]
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if part.get_param("filename", header="content-disposition") is not None:
            if name == field:
                data = payload
        else:
            fields[name] = payload.decode("utf-8", "replace")
    if not data:
        raise UploadError("Choose a file first.")
    return fields, data
