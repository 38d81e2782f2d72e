"""A live Sotto (uvicorn in a thread, worker threads on) and headless Chromium for browser tests.

Browser tests run on SQLite only: ``settings`` is overridden here without ``database_url``,
so they are not parametrized. ``runtime``, ``practice`` and ``therapist`` from
``support.app`` build on these settings. The Record page's tests open their contexts in a
Chromium whose microphone is fake (``open_context``), for a ``client`` who signed the consent.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import uvicorn
from browser.recording_steps import speech_wav
from browser.steps import DESKTOP, PHONE, Mailbox
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from sotto.app import create_app
from sotto.config import Settings
from sotto.runtime import Runtime
from support.app import Person, make_settings
from support.consenting import ConsentingClient, consenting_client
from support.smtp import LoopbackSmtpServer, free_loopback_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]

expect.set_options(timeout=10_000)


@pytest.fixture
def server_port() -> int:
    return free_loopback_port()


@pytest.fixture
def base_url(server_port: int) -> str:
    return f"http://127.0.0.1:{server_port}"


@pytest.fixture
def settings(
    request: pytest.FixtureRequest, tmp_path: Path, smtp_server: LoopbackSmtpServer, base_url: str
) -> Settings:
    """SQLite, real SMTP on loopback, and the live server's own address in e-mailed links.

    The live server's workers leave recorded sessions unprocessed (as a web node does where
    separate workers process them): these tests look at the recordings themselves, which
    processing would destroy; tests/pipeline covers processing. A test may change other
    settings by parametrizing this fixture indirectly.
    """
    return make_settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'data' / 'sotto.db'}",
        smtp_server.port,
        public_url=base_url,
        worker_processing=False,
        **getattr(request, "param", {}),
    )


@pytest.fixture
def live_server(runtime: Runtime, server_port: int, base_url: str) -> Iterator[str]:
    """Sotto served by uvicorn on 127.0.0.1 in a background thread, with its worker threads running."""
    app = create_app(runtime, run_workers=True)
    # log_config=None: leave the process's logging as `sotto serve` leaves it, for the tests after these.
    config = uvicorn.Config(app, host="127.0.0.1", port=server_port, log_level="warning", log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="sotto-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        urllib.request.urlopen(f"{base_url}/login", timeout=5).close()  # noqa: S310 - our own loopback server
    except urllib.error.URLError as exc:
        raise RuntimeError(f"the live server does not answer: {exc}") from exc
    yield base_url
    server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def _contexts(browser: Browser, live_server: str) -> Iterator[Callable[..., BrowserContext]]:
    """A fixture's body: opens contexts of ``browser`` on the live server, and closes them all at the end."""
    contexts: list[BrowserContext] = []

    def opened(**options: object) -> BrowserContext:
        context = browser.new_context(base_url=live_server, **options)  # type: ignore[arg-type]
        contexts.append(context)
        return context

    yield opened
    for context in contexts:
        context.close()


@pytest.fixture
def new_context(browser: Browser, live_server: str) -> Iterator[Callable[..., BrowserContext]]:
    """Opens browser contexts on the live server: one per person, each with its own cookies."""
    yield from _contexts(browser, live_server)


@pytest.fixture
def therapist_page(new_context: Callable[..., BrowserContext]) -> Page:
    """The therapist at a desk: a 1280 px wide window."""
    return new_context(**DESKTOP).new_page()


@pytest.fixture
def client_page(new_context: Callable[..., BrowserContext]) -> Page:
    """The client's own phone: a separate context, touch screen, 390 px wide."""
    return new_context(**PHONE).new_page()


@pytest.fixture
def mailbox(smtp_server: LoopbackSmtpServer, live_server: str) -> Mailbox:
    return Mailbox(smtp_server, live_server)


@pytest.fixture(scope="module")
def media_browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Chromium whose microphone (and shared screen) is fake: our speech, looped, and no prompts."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    wav = speech_wav(tmp_path_factory.mktemp("fake-microphone") / "speech.wav")
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *MEDIA_ARGS, f"--use-file-for-fake-audio-capture={wav}"]
    )
    yield browser
    browser.close()


@pytest.fixture
def open_context(media_browser: Browser, live_server: str) -> Iterator[Callable[..., BrowserContext]]:
    """Opens contexts on the live server in the Chromium with the fake microphone."""
    yield from _contexts(media_browser, live_server)


@pytest.fixture
def client(runtime: Runtime, therapist: Person) -> ConsentingClient:
    """A client who signed the consent form.

    Made off this thread: sealing the PDF runs an event loop, which cannot start where sync
    Playwright's loop is running.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(consenting_client, runtime, therapist.user, pseudonym="Client Wren").result(timeout=60)
