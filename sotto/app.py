"""Wires the web application together: middleware, routers, error pages, static files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from sotto.accounts import routes as account_routes
from sotto.clients import routes as portal_routes
from sotto.consent import admin_routes, client_routes
from sotto.consent import routes as consent_routes
from sotto.recording import routes as recording_routes
from sotto.recording import upload_routes
from sotto.review import routes as review_routes
from sotto.runtime import Runtime
from sotto.web.deps import Forbidden, NotSignedIn
from sotto.web.errors import ErrorShield
from sotto.web.pages import idle_limit, render
from sotto.web.security import CsrfError, SecurityMiddleware

MAX_FORM_BYTES = 2 * 1024 * 1024


def create_app(runtime: Runtime, *, run_workers: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if run_workers:
            runtime.start_workers()
        yield
        runtime.close()

    app = FastAPI(
        title="Sotto",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.runtime = runtime
    upload_limit = runtime.settings.max_upload_mb * 1024 * 1024
    app.add_middleware(ErrorShield)
    app.add_middleware(
        SecurityMiddleware,
        secure_cookies=runtime.settings.secure_cookies,
        max_body_bytes=MAX_FORM_BYTES,
        large_body_paths={
            "/consents/verify": upload_limit,
            "/recordings/": runtime.settings.max_chunk_mb * 1024 * 1024,
            "/account/voice": review_routes.MAX_VOICE_SAMPLE_BYTES,
        },
    )
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static")
    for router in (
        account_routes.router,
        consent_routes.router,
        consent_routes.upload_router,
        client_routes.router,
        admin_routes.router,
        admin_routes.upload_router,
        recording_routes.router,
        upload_routes.router,
        review_routes.router,
        review_routes.upload_router,
        portal_routes.router,
    ):
        app.include_router(router)
    _error_pages(app)
    return app


def _error_pages(app: FastAPI) -> None:
    """Every error is a plain page; no stack trace ever reaches the browser."""

    @app.exception_handler(NotSignedIn)
    async def _signed_out(request: Request, exc: NotSignedIn) -> Response:
        if request.method == "GET":
            return RedirectResponse("/login", status_code=303)
        return render(
            request,
            "message.html",
            status_code=401,
            title="Please sign in again",
            message=f"You were signed out (after {idle_limit(request)} without activity, or on another tab). "
            "Nothing was changed.",
            link=("/login", "Sign in"),
        )

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return render(
            request,
            "message.html",
            status_code=403,
            title="Not available to your account",
            message="Your role in the practice does not include this page.",
            link=("/", "Home"),
        )

    @app.exception_handler(CsrfError)
    async def _csrf(request: Request, exc: CsrfError) -> Response:
        return render(
            request,
            "message.html",
            status_code=403,
            title="Please try again",
            message="This form was out of date or came from another site, so nothing was changed. "
            "Go back, reload the page and submit it again.",
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return render(
            request,
            "message.html",
            status_code=400,
            title="Something was missing",
            message="The form was incomplete, so nothing was changed. Go back and fill in every field.",
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Not allowed", 413: "Too large"}
        return render(
            request,
            "message.html",
            status_code=exc.status_code,
            title=titles.get(exc.status_code, "Something went wrong"),
            message="There is nothing here, or it belongs to someone else."
            if exc.status_code == 404
            else "That request could not be handled. Nothing was changed.",
        )
