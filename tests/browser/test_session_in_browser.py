"""The session page in headless Chromium while a real upload is processed by the live server's
workers: the stages advance on screen, then the redacted transcript appears, and the therapist
swaps the speakers in one click."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from browser.steps import DESKTOP, screenshot, sign_in_through_pages, watch_for_errors
from pipeline.spoken_session import build_session, espeak_available, wav_bytes
from playwright.sync_api import BrowserContext, expect

from sotto.config import Settings
from sotto.runtime import Runtime
from support.app import Person, make_settings
from support.consenting import consenting_client
from support.smtp import LoopbackSmtpServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAMES = ("Eleanor", "Gregory", "Denver")  # invented
SCRIPT = (
    ("therapist", "Good afternoon Eleanor. How have the last two weeks been?", False),
    ("client", "Busy. My brother Gregory drove up from Denver to stay with me for a few days.", False),
    ("therapist", "How was it to have him staying with you?", False),
    ("client", "Mostly good. We cooked together and talked about our parents a lot.", False),
    ("therapist", "What came up when you talked about your parents?", False),
    ("client", "That we both still want their approval, even now that we are grown up.", False),
)


@pytest.fixture
def settings(tmp_path: Path, smtp_server: LoopbackSmtpServer, base_url: str) -> Settings:
    """The live server's workers process sessions here, as `sotto serve` does."""
    return make_settings(
        tmp_path,
        f"sqlite:///{tmp_path / 'data' / 'sotto.db'}",
        smtp_server.port,
        public_url=base_url,
        worker_processing=True,
    )


def test_processing_shows_each_stage_then_the_redacted_transcript(
    runtime: Runtime, therapist: Person, new_context: Callable[..., BrowserContext], tmp_path: Path
) -> None:
    if not espeak_available():
        pytest.fail("espeak-ng is needed to synthesize the session (apt-get install espeak-ng)")
    client = consenting_client(runtime, therapist.user)
    wav = tmp_path / "session.wav"
    wav.write_bytes(wav_bytes([build_session(SCRIPT).mixed()]))

    page = new_context(**DESKTOP).new_page()
    problems = watch_for_errors(page)
    sign_in_through_pages(page, therapist)
    page.goto(f"/clients/{client.client.id}/record#upload")
    page.get_by_label("Recording file").set_input_files(str(wav))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-progress")).to_contain_text("Uploaded.")
    page.get_by_role("link", name="Open the session").click()

    stages = page.locator("#progress .stage")
    if page.locator("#progress").count():  # processing may already be done on a fast machine
        expect(stages).to_have_count(8)
        expect(page.locator("#progress .stage.running, #progress .stage.done").first).to_be_visible()
        screenshot(page, "session-processing")
    # progress.js reloads the page when processing ends.
    expect(page.locator("#transcript")).to_be_visible(timeout=180_000)
    expect(page.locator("#session-status")).to_have_text("processed")
    transcript = page.locator("ol.transcript")
    expect(transcript).to_contain_text("approval")
    expect(transcript).to_contain_text(re.compile(r"\[Name \d\]"))
    for name in NAMES:
        expect(page.locator("main")).not_to_contain_text(name)
    screenshot(page, "session-transcript")

    speakers = page.locator("ol.transcript .speaker")
    before = speakers.all_inner_texts()
    assert {"Therapist", "Client"} <= set(before)
    page.get_by_role("button", name="Swap Therapist and Client").click()
    swap = {"Therapist": "Client", "Client": "Therapist"}
    expect(speakers).to_have_text([swap.get(label, label) for label in before])

    first = page.locator("#segment-0")
    first.get_by_role("button").click()
    expect(page.locator("#segment-0 .speaker")).to_have_text(before[0])
    assert problems == [], "\n".join(problems)
