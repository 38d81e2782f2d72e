"""Rendering pages: one Jinja2 environment, with what every page needs in its context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from sotto import clock
from sotto.web.security import csrf_token_for

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.autoescape = True


def _utc(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def _day(value: Any) -> str:
    return value.strftime("%-d %B %Y") if value else "—"


TEMPLATES.env.filters["utc"] = _utc
TEMPLATES.env.filters["day"] = _day


def render(request: Request, name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    runtime = request.app.state.runtime
    cookie = request.scope.get("state", {}).get("csrf_cookie", "")
    context.setdefault("user", getattr(request.state, "user", None))
    context["idle_limit"] = idle_limit(request)
    context["csrf_field"] = Markup('<input type="hidden" name="csrf_token" value="{}">').format(
        csrf_token_for(runtime.keystore, cookie)
    )
    context["csrf_token"] = csrf_token_for(runtime.keystore, cookie)
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


def idle_limit(request: Request) -> str:
    """How long without activity signs a user out, in words ("30 minutes"): the server's setting
    (``SOTTO_SESSION_IDLE_MINUTES``)."""
    return clock.duration_words(request.app.state.runtime.settings.session_idle_minutes * 60)


def not_found(request: Request) -> HTMLResponse:
    """The one answer for anything missing or not this user's: it never says which."""
    return render(
        request,
        "message.html",
        status_code=404,
        title="Not found",
        message="There is nothing here, or it belongs to someone else.",
    )
