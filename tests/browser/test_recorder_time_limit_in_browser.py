"""The Record page at the longest a recording may last (SOTTO_MAX_RECORDING_HOURS), in headless Chromium.

The page stops itself just before the limit, as Stop would (its last chunk included), and says
why; audio that reaches the server after the limit anyway is refused, the server ends the
session with what arrived in time, and the page says that too. The limit is set to seconds here
(a float setting), or the server's clock is moved.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from browser.recording_steps import (
    DURATION_TOLERANCE_S,
    Recorder,
    assert_stored_as_produced,
    decode_webm,
    recordings_of,
    session_recorded,
    stats,
    stored_audio,
    stored_chunks,
    wait_until,
)
from browser.steps import TABLET
from playwright.sync_api import BrowserContext, expect

from sotto import clock
from sotto.recording.service import time_limit_message
from sotto.runtime import Runtime
from support.app import Person
from support.consenting import ConsentingClient

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The page stops 5 s before the limit: at 8.5 s, half way through the third 3-second chunk.
SHORT_LIMIT_S = 13.5


@pytest.mark.parametrize("settings", [{"max_recording_hours": SHORT_LIMIT_S / 3600}], indirect=True)
def test_the_recorder_stops_itself_before_the_time_limit_and_keeps_all_it_recorded(
    runtime: Runtime, therapist: Person, client: ConsentingClient, open_context: Callable[..., BrowserContext]
) -> None:
    rec = Recorder(open_context(**TABLET), therapist, client)
    page = rec.page
    expect(page.locator("#recorder-limit")).to_contain_text("at most 14 seconds from its start")
    rec.start()
    session_id = stats(page)["session"]

    stopped = page.locator("#recorder-stopped")
    expect(stopped).to_contain_text(time_limit_message(SHORT_LIMIT_S / 3600), timeout=SHORT_LIMIT_S * 1000)
    recorded = time.monotonic() - rec.started
    expect(stopped.get_by_role("link", name="Open the session")).to_have_attribute("href", f"/sessions/{session_id}")
    assert stats(page)["phase"] == "ended"
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_disabled()

    [mic] = recordings_of(runtime, session_id)
    assert mic.complete
    [produced] = rec.chunks.microphone()
    wait_until("every chunk's bytes", produced.complete, page)
    # Everything the browser recorded is kept, the last partial chunk (made on stopping) too.
    data = stored_audio(runtime, mic.id)
    assert_stored_as_produced(data, produced)
    audio = decode_webm(data)
    assert audio.seconds < SHORT_LIMIT_S
    assert abs(audio.seconds - recorded) <= DURATION_TOLERANCE_S, (audio, recorded)
    assert stored_chunks(page) == 0
    session_recorded(runtime, page, session_id)
    assert rec.script_problems() == [], "\n".join(rec.script_problems())


LIMIT = timedelta(minutes=15)  # shorter than the sign-in's idle time, which moving the clock would also pass


@pytest.mark.parametrize("settings", [{"max_recording_hours": LIMIT / timedelta(hours=1)}], indirect=True)
def test_audio_past_the_time_limit_is_refused_and_the_session_keeps_what_came_before(
    runtime: Runtime, therapist: Person, client: ConsentingClient, open_context: Callable[..., BrowserContext]
) -> None:
    """A page that does not stop in time (its clock, a sleeping tablet) is stopped by the server."""
    rec = Recorder(open_context(**TABLET), therapist, client)
    page = rec.page
    patches: list[tuple[float, int]] = []
    page.on("response", lambda r: patches.append((time.monotonic(), r.status)) if r.request.method == "PATCH" else None)
    rec.start()
    rec.wait_saved()
    session_id = stats(page)["session"]
    [saved] = stats(page)["uploads"]

    clock.advance(LIMIT)
    stopped = page.locator("#recorder-stopped")
    expect(stopped).to_contain_text(time_limit_message(LIMIT / timedelta(hours=1)), timeout=8_000)
    expect(stopped.get_by_role("link", name="Open the session")).to_have_attribute("href", f"/sessions/{session_id}")
    expect(rec.state).to_have_text(re.compile("time limit"))
    assert stats(page)["phase"] == "ended"

    [mic] = recordings_of(runtime, session_id)
    assert mic.complete and mic.received_bytes >= saved["acked"] > 0
    [produced] = rec.chunks.microphone()
    wait_until("every chunk's bytes", produced.complete, page)
    assert stored_audio(runtime, mic.id) == produced.data()[: mic.received_bytes]
    # What the server will never take is not left on the device, and nothing more is sent.
    wait_until("the refused audio deleted from the device", lambda: stored_chunks(page) == 0, page)
    refused = [at for at, status in patches if status == 403]
    assert len(refused) == 1, patches
    assert all(at <= refused[0] for at, _ in patches), f"the page kept sending after the refusal: {patches}"
    session_recorded(runtime, page, session_id)
    assert rec.script_problems() == [], "\n".join(rec.script_problems())
