"""The last line of defence: an unexpected error becomes a plain page and a log line without content.

Starlette's own error middleware would log the exception's message, which can quote what a
user typed; this middleware answers first and logs only the kind of error and where it arose.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from sqlalchemy.exc import DataError

from sotto.web.security import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("sotto.errors")

PAGE = b"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Something went wrong \xc2\xb7 Sotto</title>
<link rel="stylesheet" href="/static/sotto.css"></head><body><main class="narrow">
<h1>Something went wrong on our side</h1><div class="card"><p>Your request did not go through.
Please go back and try again in a moment. If it keeps happening, tell the practice admin: the
server log records when and where it happened.</p><a class="button" href="/">Home</a></div>
</main></body></html>"""

# What the database refuses to store as given (PostgreSQL takes no NUL character in text) was
# sent by the user, not broken on our side: nothing was saved, and they can correct it.
REFUSED = b"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Not saved \xc2\xb7 Sotto</title>
<link rel="stylesheet" href="/static/sotto.css"></head><body><main class="narrow">
<h1>That could not be saved</h1><div class="card"><p>What was sent holds something that cannot be
stored, such as an invisible control character. Nothing was saved. Please go back, check what
was typed and try again.</p><a class="button" href="/">Home</a></div>
</main></body></html>"""

_PACKAGE = str(Path(__file__).resolve().parents[1])


def where(exc: BaseException) -> str:
    """The innermost frame of Sotto's own code, as file:line (no values, no message)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(_PACKAGE)]
    frame = frames[-1] if frames else None
    return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}" if frame else "outside sotto"


class ErrorShield:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            route = getattr(scope.get("route"), "path", "?")
            refused = isinstance(exc, DataError)
            log.log(
                logging.WARNING if refused else logging.ERROR,
                "%s %s on %s %s at %s",
                "refused" if refused else "unhandled",
                type(exc).__name__,
                scope.get("method"),
                route,
                where(exc),
            )
            if started:
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 400 if refused else 500,
                    "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store")],
                }
            )
            await send({"type": "http.response.body", "body": REFUSED if refused else PAGE})
