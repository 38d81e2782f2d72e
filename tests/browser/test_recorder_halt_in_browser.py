"""The Record page halted by a problem a retry cannot fix but a reload can (a stale page), in headless Chromium.

Halting stops capture but keeps the audio: the recorder's last chunk, made as capture stops, is
stored on the device with the rest, and the reloaded page sends all of it. (Stop keeps that last
chunk too: every test of test_recorder_in_browser compares the stored audio with all the chunks
produced. A withdrawal keeps nothing: see the withdrawal tests there.)
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from browser.recording_steps import (
    UPLOADS,
    Recorder,
    assert_stored_as_produced,
    recordings_of,
    session_recorded,
    stats,
    stored_audio,
    wait_until,
)
from browser.steps import TABLET
from playwright.sync_api import BrowserContext, Route, expect

from sotto.runtime import Runtime
from support.app import Person
from support.consenting import ConsentingClient

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_halted_recording_keeps_its_last_chunk_for_the_reloaded_page_to_send(
    runtime: Runtime, therapist: Person, client: ConsentingClient, open_context: Callable[..., BrowserContext]
) -> None:
    context = open_context(**TABLET)
    rec = Recorder(context, therapist, client)
    page = rec.page
    rec.start()
    rec.wait_saved()
    session_id = stats(page)["session"]
    [produced] = rec.chunks.microphone()

    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    context.route(UPLOADS, hold)
    wait_until("the next chunk sent", lambda: held, page)
    # Half way through the next chunk, the server's answer: the CSRF check's refusal, an HTML
    # page rather than the upload routes' JSON (the page is out of date).
    page.wait_for_timeout(1500)
    held[0].fulfill(status=403, content_type="text/html", body="<h1>This page is out of date</h1>")
    expect(page.locator("#recorder-stopped")).to_contain_text("Reload it; unsent audio is kept", timeout=8_000)
    assert stats(page)["phase"] == "halted"
    # The recorder's last chunk, made as capture stopped, is handed over and stored too.
    wait_until("the recorder's last chunk", produced.complete, page)
    made = len(produced.sizes)
    page.wait_for_timeout(500)
    assert len(produced.sizes) == made

    context.unroute(UPLOADS, hold)
    page.reload()
    expect(page.locator("#recorder-notice")).to_contain_text("The audio from before the interruption is saved")
    expect(page.get_by_role("button", name="Continue recording")).to_be_enabled()
    wait_until("the leftover upload to finish", lambda: stats(page)["uploads"][0]["complete"], page)
    [segment] = recordings_of(runtime, session_id)
    assert_stored_as_produced(stored_audio(runtime, segment.id), produced)

    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/sessions/{session_id}$"), timeout=20_000)
    session_recorded(runtime, page, session_id)
