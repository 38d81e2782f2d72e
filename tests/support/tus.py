"""A small tus client over FastAPI's TestClient, as the recorder script speaks it."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient
from httpx import Response

from support.app import form_token


class Tus:
    def __init__(self, web: TestClient) -> None:
        self.web = web
        self.csrf = form_token(web, "/")

    def headers(self, **extra: str) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf, "Tus-Resumable": "1.0.0", **extra}

    def start_session(self, client_id: str) -> Response:
        return self.web.post(f"/clients/{client_id}/sessions", headers=self.headers())

    def create(
        self, session_id: str, *, source: str = "microphone", length: int | None = None, filetype: str = "audio/webm"
    ) -> Response:
        meta = ",".join(
            f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in {"source": source, "filetype": filetype}.items()
        )
        extra = {"Upload-Metadata": meta}
        extra.update({"Upload-Length": str(length)} if length is not None else {"Upload-Defer-Length": "1"})
        return self.web.post(f"/sessions/{session_id}/recordings", headers=self.headers(**extra))

    def patch(self, url: str, offset: int, data: bytes, *, final_length: int | None = None) -> Response:
        extra = {"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
        if final_length is not None:
            extra["Upload-Length"] = str(final_length)
        return self.web.patch(url, content=data, headers=self.headers(**extra))

    def offset(self, url: str) -> int:
        r = self.web.head(url, headers=self.headers())
        assert r.status_code == 200, r.status_code
        return int(r.headers["Upload-Offset"])

    def end(self, session_id: str) -> Response:
        return self.web.post(f"/sessions/{session_id}/end", headers=self.headers())

    def upload_file(self, session_id: str, data: bytes, *, piece: int = 64 * 1024) -> tuple[str, Response]:
        created = self.create(session_id, source="upload", length=len(data), filetype="")
        assert created.status_code == 201, created.text
        url = created.headers["Location"]
        last: Response = created
        for start in range(0, len(data), piece):
            last = self.patch(url, start, data[start : start + piece])
            if last.status_code != 204:
                break
        return url, last
