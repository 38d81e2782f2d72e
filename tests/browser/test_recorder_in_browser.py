"""The Record page in headless Chromium, with Chromium's fake microphone playing synthesized speech.

Each test records through the real page against a live server and then reads what the server
stored, decrypted in memory: the bytes must be exactly the chunks the browser's MediaRecorder
produced (``ChunkLog`` watches them from outside the app's code) and must decode to audio as
long as the time recorded, with no hole and no repeat. The therapist uses a tablet-sized
window; screenshots land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from browser.recording_steps import (
    DURATION_TOLERANCE_S,
    UPLOADS,
    Recorder,
    ask_for_browser_key,
    assert_stored_as_produced,
    browser_key,
    byte_chi_square,
    decode_webm,
    indexeddb_contents,
    last_whole_element_end,
    recordings_of,
    sealed_chunks,
    session_recorded,
    shannon_entropy,
    stats,
    stored_audio,
    stored_chunks,
    therapy_session,
    wait_until,
)
from browser.steps import DESKTOP, PHONE, TABLET, fits_width, screenshot, sign_in_through_pages, watch_for_errors
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from playwright.sync_api import APIResponse, BrowserContext, Route, expect
from sqlalchemy import select

from sotto.consent.models import Consent
from sotto.crypto.models import DataKey
from sotto.db import session_scope
from sotto.recording.models import TherapySession
from sotto.recording.service import AUDIO_PREFIX
from sotto.runtime import Runtime
from support.app import Person
from support.audio import recording
from support.consenting import ConsentingClient

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHRED_DEADLINE_S = 20.0


def assert_destroyed(runtime: Runtime, session_id: str) -> None:
    """The session is shredded: keys gone at once, chunk files gone once the delete job ran."""
    assert therapy_session(runtime, session_id).status == "shredded"
    recs = recordings_of(runtime, session_id)
    assert recs and all(r.data_key_id is None for r in recs)
    with session_scope(runtime.sessions) as session:
        assert session.scalars(select(DataKey).where(DataKey.purpose == "recording")).all() == []
    wait_until(
        "the chunk files to be deleted",
        lambda: all(runtime.blobs.names(f"{AUDIO_PREFIX}/{r.id}") == [] for r in recs),
        timeout=SHRED_DEADLINE_S,
    )


def test_recording_survives_a_lost_connection_without_gap_or_duplicate(
    runtime: Runtime, therapist: Person, client: ConsentingClient, open_context: Callable[..., BrowserContext]
) -> None:
    context = open_context(**TABLET)
    rec = Recorder(context, therapist, client)
    page = rec.page
    assert fits_width(page)
    screenshot(page, "record-tablet-idle")

    rec.start()
    rec.wait_saved()
    screenshot(page, "record-tablet-recording")

    context.set_offline(True)
    expect(rec.state).to_have_text("Offline — will resend when the connection is back")
    before = rec.chunks.chunks()
    wait_until("two chunks recorded while offline", lambda: rec.chunks.chunks() >= before + 2, page)
    assert stored_chunks(page) >= 2, "audio recorded offline is not kept on the device"
    screenshot(page, "record-tablet-offline")
    context.set_offline(False)
    rec.wait_saved()
    [upload] = stats(page)["uploads"]
    assert upload["produced"] == rec.chunks.microphone()[0].total, "the page's count differs from the browser's"
    # Only the newest chunk is still kept: its last few bytes begin the next element, which a
    # cut-off recording must not end with, so they are sent with the next chunk.
    assert upload["heldBack"] < 64 and stored_chunks(page) <= 1

    rec.record_until(12)
    session_id, seconds = rec.stop()

    [mic] = recordings_of(runtime, session_id)
    assert (mic.channel, mic.segment, mic.source, mic.complete) == (0, 0, "microphone", True)
    assert mic.media_type.startswith("audio/webm")
    data = stored_audio(runtime, mic.id)
    [produced] = rec.chunks.microphone()
    wait_until("every chunk's bytes", produced.complete, page)
    assert_stored_as_produced(data, produced)
    audio = decode_webm(data)
    assert abs(audio.seconds - seconds) <= DURATION_TOLERANCE_S, (audio, seconds)
    session_recorded(runtime, page, session_id)
    screenshot(page, "session-after-recording")
    assert rec.script_problems() == [], "\n".join(rec.script_problems())


WEBM_MARKS = (b"\x1a\x45\xdf\xa3", b"OpusHead", b"OpusTags", b"webm", b"\x1f\x43\xb6\x75")  # EBML, Opus, Cluster
RANDOM_CHI_SQUARE = 400  # random bytes: 255 ± 23, and above 400 about twice in 10⁸ tries


def test_unsent_audio_is_kept_encrypted_under_a_key_the_device_does_not_keep(
    runtime: Runtime, therapist: Person, client: ConsentingClient, open_context: Callable[..., BrowserContext]
) -> None:
    """What a shared or stolen device holds of audio not yet sent is ciphertext, under the session's
    key, which only the server keeps: no key of any kind is stored on the device, and once the
    session has ended the server gives the key to nobody."""
    context = open_context(**TABLET)
    rec = Recorder(context, therapist, client)
    page = rec.page
    rec.start()
    rec.wait_saved()
    session_id = stats(page)["session"]
    key = browser_key(runtime, session_id)
    assert key is not None and len(key) == 32

    context.set_offline(True)
    expect(rec.state).to_have_text("Offline — will resend when the connection is back")
    [produced] = rec.chunks.microphone()
    before = len(produced.sizes)
    wait_until(
        "two chunks recorded offline, read and kept on the device",
        lambda: len(produced.sizes) >= before + 2 and produced.complete() and stored_chunks(page) >= 2,
        page,
    )
    [upload] = stats(page)["uploads"]
    unsent = upload["produced"] - upload["acked"]
    assert unsent >= sum(produced.sizes[before : before + 2]) > 0
    held = indexeddb_contents(page)

    # No key is stored on the device: no CryptoKey, and not the key's bytes, hex or base64.
    assert held.counts["chunks"] >= 2
    assert held.keys == [], held.keys
    assert held.counts.get("keys", 0) == 0, held.counts
    assert held.holds(key) == [], "the session's key is stored on the device"
    # The chunks are sealed under the server's key, each with its own IV, bound to its place.
    chunks = sealed_chunks(page)
    assert len(chunks) == held.counts["chunks"] and len({c.iv for c in chunks}) == len(chunks)
    wait_until("every chunk's bytes", produced.complete, page)
    stream = produced.data()
    for c in chunks:
        bound = json.dumps(["sotto-recorder-chunk", session_id, c.url, c.offset], separators=(",", ":"))
        audio = AESGCM(key).decrypt(c.iv, c.sealed, bound.encode())
        assert audio == stream[c.offset : c.offset + len(audio)], f"chunk at {c.offset} is not the audio recorded there"
    # What is stored of the audio is all ciphertext: at least the unsent bytes, none of them WebM,
    # every large value with the byte histogram of random bytes.
    sealed = [(where, data) for where, data in held.bytes if len(data) >= 2048]
    assert sum(len(data) for _, data in sealed) >= unsent
    for where, data in held.bytes:
        assert not any(mark in data or mark.upper() in data for mark in WEBM_MARKS), f"WebM in {where}"
    for where, data in sealed:
        assert byte_chi_square(data) < RANDOM_CHI_SQUARE, (where, len(data), shannon_entropy(data))
    # Not one run of the audio the browser produced is there in the clear.
    runs = [
        chunk[at : at + 24]
        for chunk in produced.contents.values()
        for at in range(0, max(len(chunk) - 24, 1), max(len(chunk) // 8, 24))
    ]
    assert not any(run in data for run in runs for _, data in held.bytes), "plain audio is stored"
    # The histogram test does tell them apart: the plain audio of those same chunks fails it.
    assert byte_chi_square(produced.data()[-unsent:]) > 2 * RANDOM_CHI_SQUARE

    context.set_offline(False)
    rec.wait_saved()
    assert indexeddb_contents(page).keys == []
    rec.record_until(stats(page)["elapsedMs"] / 1000 + 3)
    stopped, seconds = rec.stop()
    assert stopped == session_id

    [mic] = recordings_of(runtime, session_id)
    wait_until("every chunk's bytes", produced.complete, page)
    data = stored_audio(runtime, mic.id)
    assert_stored_as_produced(data, produced)
    assert abs(decode_webm(data).seconds - seconds) <= DURATION_TOLERANCE_S
    # Everything is on the server: the chunks are gone from the device, and the key from the server.
    left = indexeddb_contents(page)
    assert (left.keys, left.bytes) == ([], []), left
    assert all(count == 0 for count in left.counts.values()), left.counts
    assert browser_key(runtime, session_id) is None
    assert ask_for_browser_key(page, session_id) == 410
    session_recorded(runtime, page, session_id)
    assert rec.script_problems() == [], "\n".join(rec.script_problems())


def test_an_answer_lost_on_the_way_back_does_not_duplicate_audio(
    runtime: Runtime, therapist: Person, client: ConsentingClient, open_context: Callable[..., BrowserContext]
) -> None:
    context = open_context(**TABLET)
    rec = Recorder(context, therapist, client)
    page = rec.page
    stored_but_unheard: list[int] = []

    def answer_lost(route: Route) -> None:
        """The server stores the chunk, but its answer never reaches the page."""
        if route.request.method != "PATCH" or len(stored_but_unheard) >= 2:
            route.continue_()
            return
        stored_but_unheard.append(route.fetch().status)
        route.abort("connectionreset")

    context.route(re.compile(r"/recordings/[0-9a-f]+$"), answer_lost)
    rec.start()
    wait_until("two answers lost", lambda: len(stored_but_unheard) == 2, page)
    rec.wait_saved()
    rec.record_until(9)
    session_id, seconds = rec.stop()

    assert stored_but_unheard == [204, 204]
    [mic] = recordings_of(runtime, session_id)
    [produced] = rec.chunks.microphone()
    wait_until("every chunk's bytes", produced.complete, page)
    data = stored_audio(runtime, mic.id)
    assert_stored_as_produced(data, produced)
    assert abs(decode_webm(data).seconds - seconds) <= DURATION_TOLERANCE_S
    session_recorded(runtime, page, session_id)


def test_reload_mid_recording_sends_the_unsent_audio_and_continues_the_session(
    runtime: Runtime, therapist: Person, client: ConsentingClient, open_context: Callable[..., BrowserContext]
) -> None:
    context = open_context(**TABLET)
    rec = Recorder(context, therapist, client)
    page = rec.page
    rec.start()
    rec.wait_saved()
    session_id = stats(page)["session"]

    # The uploads stop getting through (the page itself can still be loaded).
    def unreachable(route: Route) -> None:
        route.abort("internetdisconnected")

    uploads = re.compile(r"/recordings/[0-9a-zA-Z_-]+$")
    context.route(uploads, unreachable)
    first = rec.chunks.microphone()[0]
    before = len(first.sizes)
    # Reload just after a chunk was handed over, so that all the old page produced is known
    # here (the next chunk is 3 s away).
    wait_until("two chunks that cannot be sent", lambda: len(first.sizes) >= before + 2 and first.complete(), page)
    wait_until("the unsent chunks kept on the device", lambda: stored_chunks(page) >= 2, page)
    assert stats(page)["uploads"][0]["acked"] < first.total
    produced_before_reload = len(first.sizes)

    page.reload()
    notice = page.locator("#recorder-notice")
    expect(notice).to_contain_text("Unsent audio from an interrupted recording was found — sending it now")
    expect(page.get_by_role("button", name="Continue recording")).to_be_enabled()
    assert stats(page)["session"] == session_id
    assert stored_chunks(page) >= 2
    screenshot(page, "record-tablet-resumed")

    context.unroute(uploads, unreachable)
    context.set_offline(True)  # the connection comes back: the browser says "online"
    context.set_offline(False)
    expect(notice).to_contain_text("The audio from before the interruption is saved")
    wait_until("the leftover upload to finish", lambda: stats(page)["uploads"][0]["complete"], page)
    # The page deletes what it kept in its own IndexedDB transaction just after the last answer.
    wait_until("the sent chunks to be deleted from the device", lambda: stored_chunks(page) == 0, page)
    segment = recordings_of(runtime, session_id)[0]
    assert segment.complete
    # As the page unloads its tracks stop, and the recorder may hand over one last chunk: it
    # is kept only if it reached IndexedDB before the page was gone. All before it is kept.
    before_reload = first.first(produced_before_reload)
    unload_chunk_kept = segment.received_bytes > before_reload.total
    kept = first if unload_chunk_kept else before_reload
    assert_stored_as_produced(stored_audio(runtime, segment.id), kept, cut_off=not unload_chunk_kept)

    # Continuing records a second segment of the same session.
    rec.start()
    rec.wait_saved()
    rec.record_until(stats(page)["elapsedMs"] / 1000 + 4)
    assert rec.stop()[0] == session_id

    recs = recordings_of(runtime, session_id)
    assert [(r.channel, r.segment) for r in recs] == [(0, 0), (0, 1)]
    _, second = rec.chunks.microphone()
    for row, made, cut_off in ((recs[0], kept, not unload_chunk_kept), (recs[1], second, False)):
        data = stored_audio(runtime, row.id)
        assert_stored_as_produced(data, made, cut_off=cut_off)
        assert decode_webm(data).seconds > 3
    session_recorded(runtime, page, session_id)
    assert rec.script_problems() == [], "\n".join(rec.script_problems())


def interrupt_with_unsent_audio(rec: Recorder, *blocked: re.Pattern[str]) -> tuple[str, int]:
    """Records until two chunks could not be sent and are kept on the device, with ``blocked``
    addresses unreachable from now on; returns the session and how many chunks were produced."""
    page = rec.page
    rec.start()
    rec.wait_saved()
    for pattern in blocked:
        rec.context.route(pattern, lambda route: route.abort("internetdisconnected"))
    first = rec.chunks.microphone()[0]
    before = len(first.sizes)
    wait_until("two chunks that cannot be sent", lambda: len(first.sizes) >= before + 2 and first.complete(), page)
    wait_until("the unsent chunks kept on the device", lambda: stored_chunks(page) >= 2, page)
    return stats(page)["session"], len(first.sizes)


BROWSER_KEYS = re.compile(r"/sessions/[0-9a-zA-Z_-]+/browser-key$")
WAITING = re.compile(r"^Reconnect to resume: \d+ seconds of audio are waiting, encrypted, in this browser\.$")


def test_a_reload_while_offline_says_what_waits_and_sends_it_when_the_network_returns(
    runtime: Runtime, therapist: Person, client: ConsentingClient, open_context: Callable[..., BrowserContext]
) -> None:
    """After a reload the stored audio can be read only with the key from the server: while the
    server cannot be reached the page says so, keeps the audio sealed, and then sends all of it."""
    context = open_context(**TABLET)
    rec = Recorder(context, therapist, client)
    page = rec.page
    session_id, produced_before_reload = interrupt_with_unsent_audio(rec, UPLOADS, BROWSER_KEYS)

    page.reload()
    notice = page.locator("#recorder-notice")
    expect(notice).to_have_text(WAITING)
    assert stats(page)["session"] == session_id and stats(page)["uploads"] == []
    assert stored_chunks(page) >= 2
    held = indexeddb_contents(page)
    key = browser_key(runtime, session_id)
    assert key is not None and held.keys == [] and held.holds(key) == []
    screenshot(page, "record-tablet-waiting-for-the-key")

    context.unroute(UPLOADS)
    context.unroute(BROWSER_KEYS)
    context.set_offline(True)  # the connection comes back: the browser says "online"
    context.set_offline(False)
    expect(notice).to_contain_text("The audio from before the interruption is saved")
    wait_until("the leftover upload to finish", lambda: stats(page)["uploads"][0]["complete"], page)
    # The upload is marked complete first; its chunks are deleted from IndexedDB just after.
    wait_until("the sent chunks to be deleted from the device", lambda: stored_chunks(page) == 0, page)

    [segment] = recordings_of(runtime, session_id)
    first = rec.chunks.microphone()[0]
    before_reload = first.first(produced_before_reload)
    unload_chunk_kept = segment.received_bytes > before_reload.total
    kept = first if unload_chunk_kept else before_reload
    assert_stored_as_produced(stored_audio(runtime, segment.id), kept, cut_off=not unload_chunk_kept)
    assert rec.stop()[0] == session_id
    session_recorded(runtime, page, session_id)
    assert rec.script_problems() == [], "\n".join(rec.script_problems())


@pytest.mark.parametrize("elsewhere", ["ended", "deleted"])
def test_audio_left_for_a_session_whose_key_is_destroyed_is_deleted_and_the_page_says_why(
    runtime: Runtime,
    therapist: Person,
    client: ConsentingClient,
    open_context: Callable[..., BrowserContext],
    elsewhere: str,
) -> None:
    context = open_context(**TABLET)
    rec = Recorder(context, therapist, client)
    page = rec.page
    session_id, _ = interrupt_with_unsent_audio(rec, UPLOADS)
    # Meanwhile, in another tab, the session is ended (or deleted): its key is destroyed.
    other = context.new_page()
    other.goto(f"/sessions/{session_id}")
    token = other.locator("input[name=csrf_token]").first.input_value()
    if elsewhere == "ended":
        answer = other.request.post(f"/sessions/{session_id}/end", headers={"X-CSRF-Token": token})
    else:
        answer = other.request.post(
            f"/sessions/{session_id}/delete", form={"csrf_token": token, "confirm": "yes"}, max_redirects=0
        )
    assert answer.status in (200, 303), answer.status
    assert browser_key(runtime, session_id) is None
    other.close()

    page.reload()
    notice = page.locator("#recorder-notice")
    if elsewhere == "ended":
        expect(notice).to_have_text(
            re.compile(
                r"^That session had already ended, so \d+ seconds of audio this browser "
                r"still held could not be uploaded"
            )
        )
    else:
        expect(notice).to_contain_text("Nothing was lost that was not meant to be destroyed.")
    wait_until("the undecryptable audio deleted", lambda: stored_chunks(page) == 0, page)
    assert indexeddb_contents(page).bytes == []
    expect(page.get_by_role("button", name="Start recording")).to_be_enabled()
    assert stats(page)["session"] is None
    assert therapy_session(runtime, session_id).status == ("recorded" if elsewhere == "ended" else "shredded")
    assert rec.script_problems() == [], "\n".join(rec.script_problems())


def test_a_recording_left_by_a_closed_tab_keeps_what_was_sent_and_is_ended_from_the_clients_page(
    runtime: Runtime, therapist: Person, client: ConsentingClient, open_context: Callable[..., BrowserContext]
) -> None:
    tablet = Recorder(open_context(**TABLET), therapist, client)
    tablet.start()
    tablet.record_until(4)
    tablet.wait_saved()
    session_id = stats(tablet.page)["session"]
    [produced] = tablet.chunks.microphone()
    wait_until("every chunk's bytes", produced.complete, tablet.page)
    sent = last_whole_element_end(produced.data())
    tablet.context.close()  # the tab, and this browser's storage, are gone mid-recording

    # Later, on another device: the client's page offers the session left recording.
    laptop = Recorder(open_context(**DESKTOP), therapist, client)
    page = laptop.page
    page.goto(f"/clients/{client.client.id}")
    page.get_by_role("link", name="Continue or stop it").click()
    expect(page.get_by_role("button", name="Continue recording")).to_be_enabled()
    assert stats(page)["session"] == session_id
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/sessions/{session_id}$"), timeout=20_000)
    expect(page.locator("#session-status")).to_have_text("recorded")

    [segment] = recordings_of(runtime, session_id)
    stored = stored_audio(runtime, segment.id)
    assert len(stored) >= sent and stored == produced.data()[: len(stored)]
    assert decode_webm(stored).seconds > 2.5  # at least the first chunk's 3 s
    session_recorded(runtime, page, session_id)
    assert laptop.script_problems() == [], "\n".join(laptop.script_problems())


def test_withdrawal_on_the_clients_page_stops_the_recorder_and_destroys_the_session(
    runtime: Runtime, therapist: Person, client: ConsentingClient, open_context: Callable[..., BrowserContext]
) -> None:
    rec = Recorder(open_context(**TABLET), therapist, client)
    page = rec.page
    patches: list[tuple[float, int]] = []
    page.on("response", lambda r: patches.append((time.monotonic(), r.status)) if r.request.method == "PATCH" else None)
    rec.start()
    rec.wait_saved()
    session_id = stats(page)["session"]

    phone = open_context(**PHONE).new_page()
    phone.goto(f"/my/{client.my_token}")
    phone.get_by_role("button", name="Withdraw my consent").click()
    expect(phone.locator("#withdrawn-notice")).to_contain_text("Your consent is withdrawn")
    withdrawn_at = time.monotonic()

    stopped = page.locator("#recorder-stopped")
    expect(stopped).to_be_visible(timeout=8_000)  # the next chunk, at most 3 s later, is refused
    expect(stopped).to_contain_text("Recording stopped.")
    expect(rec.state).to_have_text(re.compile("^Stopped: "))
    assert time.monotonic() - withdrawn_at < 8
    assert stats(page)["phase"] == "refused"
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name="Start recording")).to_be_disabled()
    screenshot(page, "record-tablet-withdrawn-by-client")

    assert_destroyed(runtime, session_id)
    wait_until("the refused audio to be deleted from the device", lambda: stored_chunks(page) == 0, page)
    refused = [at for at, status in patches if status == 403]
    assert refused, patches
    assert all(at <= refused[0] for at, _ in patches), f"the page kept sending after the refusal: {patches}"
    assert rec.script_problems() == [], "\n".join(rec.script_problems())


def test_client_withdrew_button_stops_and_destroys_the_session(
    runtime: Runtime, therapist: Person, client: ConsentingClient, open_context: Callable[..., BrowserContext]
) -> None:
    rec = Recorder(open_context(**TABLET), therapist, client)
    page = rec.page
    rec.start()
    rec.wait_saved()
    session_id = stats(page)["session"]

    page.get_by_role("button", name="Client withdrew consent").click()  # confirm() is accepted
    stopped = page.locator("#recorder-stopped")
    expect(stopped).to_contain_text(
        "The client's withdrawal is recorded. Recording stopped and everything "
        "captured in this session has been destroyed."
    )
    assert stats(page)["phase"] == "withdrawn"
    screenshot(page, "record-tablet-withdrawn")

    assert_destroyed(runtime, session_id)
    with session_scope(runtime.sessions) as session:
        consent = session.get(Consent, client.consent.id)
        assert consent is not None and consent.status == "withdrawn"
    wait_until("the withdrawn session's audio to be deleted from the device", lambda: stored_chunks(page) == 0, page)
    page.reload()
    expect(page.locator("#refusal")).to_contain_text("withdrawn consent")
    assert rec.script_problems() == [], "\n".join(rec.script_problems())


def test_withdrawal_noted_while_recording_starts_again_keeps_the_microphone_off(
    runtime: Runtime, therapist: Person, client: ConsentingClient, open_context: Callable[..., BrowserContext]
) -> None:
    """The therapist's withdrawal control works while Continue recording is still starting (the
    browser asking for the microphone, the server slow to answer): capture must not begin after
    it, even when the server opened the new upload before it heard of the withdrawal."""
    rec = Recorder(open_context(**TABLET), therapist, client)
    page = rec.page
    rec.start()
    rec.wait_saved()
    session_id = stats(page)["session"]
    page.reload()
    expect(page.get_by_role("button", name="Continue recording")).to_be_enabled()

    # The server opens the new upload at once, but its answer reaches the page late; the
    # withdrawal reaches the server only after that answer (a slow or flaky connection).
    creating: list[tuple[Route, APIResponse]] = []
    withdrawing: list[Route] = []

    def answer_late(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        creating.append((route, route.fetch()))

    def hold(route: Route) -> None:
        withdrawing.append(route)

    rec.context.route(re.compile(r"/sessions/[0-9a-zA-Z_-]+/recordings$"), answer_late)
    rec.context.route(re.compile(r"/sessions/[0-9a-zA-Z_-]+/client-withdrew$"), hold)
    page.get_by_role("button", name="Continue recording").click()
    wait_until("the new upload opened on the server", lambda: creating, page)
    assert stats(page)["phase"] == "starting"
    page.get_by_role("button", name="Client withdrew consent").click()  # confirm() is accepted
    wait_until("the withdrawal sent", lambda: withdrawing, page)
    [(route, answer)] = creating
    route.fulfill(response=answer)
    page.wait_for_timeout(1000)
    withdrawing[0].continue_()

    expect(page.locator("#recorder-stopped")).to_contain_text("The client's withdrawal is recorded.")
    produced = rec.chunks.chunks()
    page.wait_for_timeout(7000)  # more than two of the recorder's 3 s timeslices
    assert rec.chunks.chunks() == produced, "the microphone is still being recorded after the withdrawal"
    assert stats(page)["phase"] == "withdrawn"
    assert_destroyed(runtime, session_id)
    assert stored_chunks(page) == 0


def test_telehealth_records_the_call_on_its_own_channel(
    runtime: Runtime, therapist: Person, client: ConsentingClient, open_context: Callable[..., BrowserContext]
) -> None:
    # Headless Chromium with --use-fake-ui-for-media-stream shares a fake screen whose sound
    # is a fake audio track, so getDisplayMedia works here as it does for a real call's tab.
    rec = Recorder(open_context(**TABLET), therapist, client)
    page = rec.page
    page.get_by_role("checkbox", name=re.compile("^Telehealth")).check()
    rec.start()
    expect(page.locator("#call-level")).to_be_visible()
    rec.wait_saved()
    assert sorted(u["source"] for u in stats(page)["uploads"]) == ["call", "microphone"]
    screenshot(page, "record-tablet-telehealth")
    rec.record_until(7)
    session_id, seconds = rec.stop()

    mic, call = recordings_of(runtime, session_id)
    assert (mic.channel, mic.source, call.channel, call.source) == (0, "microphone", 1, "call")
    [mic_made], [call_made] = rec.chunks.microphone(), rec.chunks.call()
    for row, made in ((mic, mic_made), (call, call_made)):
        wait_until("every chunk's bytes", made.complete, page)
        data = stored_audio(runtime, row.id)
        assert_stored_as_produced(data, made)
        assert abs(decode_webm(data).seconds - seconds) <= DURATION_TOLERANCE_S
    session_recorded(runtime, page, session_id)
    # Chromium's fake screen sharing reports the camera policy (camera=()) while it captures
    # a fake screen; a real tab or screen share is governed by display-capture instead.
    problems = [p for p in rec.script_problems() if "Permissions policy violation: camera" not in p]
    assert problems == [], "\n".join(problems)


def test_uploading_an_existing_recording(
    runtime: Runtime,
    therapist: Person,
    client: ConsentingClient,
    open_context: Callable[..., BrowserContext],
    tmp_path: Path,
) -> None:
    page = open_context(**DESKTOP).new_page()
    problems = watch_for_errors(page)
    sign_in_through_pages(page, therapist)
    page.goto(f"/clients/{client.client.id}/record#upload")
    wav = tmp_path / "session.wav"
    wav.write_bytes(recording("wav", seconds=40.0))  # 3.8 MB: more than one piece would be at 1 MB
    page.get_by_label("Recording file").set_input_files(str(wav))
    page.get_by_role("button", name="Upload", exact=True).click()
    progress = page.locator("#upload-progress")
    expect(progress).to_contain_text("Uploaded.")
    expect(page.locator("#upload-bar")).to_have_attribute("value", "100")
    screenshot(page, "record-desktop-uploaded")
    page.get_by_role("link", name="Open the session").click()
    expect(page.locator("#session-status")).to_have_text("recorded")
    session_id = page.url.rsplit("/", 1)[1]

    [upload] = recordings_of(runtime, session_id)
    assert (upload.source, upload.complete, upload.received_bytes) == ("upload", True, wav.stat().st_size)
    assert stored_audio(runtime, upload.id) == wav.read_bytes()
    session_recorded(runtime, page, session_id)
    assert abs((recordings_of(runtime, session_id)[0].duration_seconds or 0) - 40.0) < 0.1
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("settings", [{"max_chunk_mb": 2}], indirect=True)
def test_a_file_is_sent_in_pieces_the_server_accepts(
    runtime: Runtime,
    therapist: Person,
    client: ConsentingClient,
    open_context: Callable[..., BrowserContext],
    tmp_path: Path,
) -> None:
    """A practice behind a proxy that takes smaller requests lowers SOTTO_MAX_CHUNK_MB: the page's
    pieces follow it, instead of every file upload being refused as too large."""
    context = open_context(**DESKTOP)
    page = context.new_page()
    sign_in_through_pages(page, therapist)
    page.goto(f"/clients/{client.client.id}/record#upload")
    wav = tmp_path / "session.wav"
    wav.write_bytes(recording("wav", seconds=40.0))  # 3.8 MB
    sizes: list[int] = []
    context.route(
        re.compile(r"/recordings/[0-9a-zA-Z_-]+$"),
        lambda route: (sizes.append(len(route.request.post_data_buffer or b"")), route.continue_()),
    )
    page.get_by_label("Recording file").set_input_files(str(wav))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-progress")).to_contain_text("Uploaded.")
    assert len(sizes) == 2 and max(sizes) <= 2 * 1024 * 1024, sizes
    page.get_by_role("link", name="Open the session").click()
    session_id = page.url.rsplit("/", 1)[1]
    [upload] = recordings_of(runtime, session_id)
    assert stored_audio(runtime, upload.id) == wav.read_bytes()


def test_an_interrupted_file_upload_continues_when_the_same_file_is_chosen_again(
    runtime: Runtime,
    therapist: Person,
    client: ConsentingClient,
    open_context: Callable[..., BrowserContext],
    tmp_path: Path,
) -> None:
    context = open_context(**DESKTOP)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "leave this page?" while uploading
    sign_in_through_pages(page, therapist)
    page.goto(f"/clients/{client.client.id}/record")
    wav = tmp_path / "long-session.wav"
    wav.write_bytes(recording("wav", seconds=70.0))  # 6.7 MB: two pieces
    patches: list[str] = []

    def second_piece_lost(route: Route) -> None:
        if route.request.method == "PATCH":
            patches.append(route.request.headers["upload-offset"])
            if len(patches) > 1:
                route.abort("internetdisconnected")
                return
        route.continue_()

    uploads = re.compile(r"/recordings/[0-9a-f]+$")
    context.route(uploads, second_piece_lost)
    page.get_by_label("Recording file").set_input_files(str(wav))
    page.get_by_role("button", name="Upload", exact=True).click()
    piece = 5 * 1024 * 1024
    progress = page.locator("#upload-progress")
    expect(progress).to_contain_text(
        f"Offline — will continue when the connection is back ({100 * piece // wav.stat().st_size}% sent)"
    )
    page.reload()
    context.unroute(uploads, second_piece_lost)

    page.get_by_label("Recording file").set_input_files(str(wav))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(progress).to_contain_text("Uploaded.")
    page.get_by_role("link", name="Open the session").click()
    session_id = page.url.rsplit("/", 1)[1]
    assert patches[:2] == ["0", str(piece)]
    with session_scope(runtime.sessions) as session:
        assert len(session.scalars(select(TherapySession)).all()) == 1, "the second try started another session"
    [upload] = recordings_of(runtime, session_id)
    assert stored_audio(runtime, upload.id) == wav.read_bytes()
    session_recorded(runtime, page, session_id)
