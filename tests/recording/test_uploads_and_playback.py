"""Uploading existing recordings, playing them back, and what is never written in plaintext."""

from __future__ import annotations

import io
import itertools

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from sotto.audit.models import AuditEvent, DeletionReceipt
from sotto.db import session_scope
from sotto.recording.models import Recording
from sotto.runtime import Runtime
from support.app import Person, form_token, work_off
from support.audio import recording, unique_wav
from support.consenting import consenting_client
from support.recording import session_row, stored_audio, upload
from support.scan import distinctive_slices, stored_anywhere
from support.tus import Tus


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "m4a", "ogg", "webm"])
def test_each_accepted_format_uploads_and_is_checked(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person, fmt: str
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    _, session_id, url, status = upload(runtime, web, client.client.id, recording(fmt, seconds=2.0))
    assert status == 204
    assert session_row(runtime, session_id).status == "recorded"
    with session_scope(runtime.sessions) as session:
        rec = session.get(Recording, url.rsplit("/", 1)[1])
        assert rec is not None and rec.complete and rec.duration_seconds == pytest.approx(2.0, abs=0.15)


def test_empty_upload_is_refused_plainly(runtime: Runtime, web: TestClient, signed_in_therapist: Person) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]
    r = tus.create(session_id, source="upload", length=0)
    assert r.status_code == 400 and r.json()["error"] == "The file is empty."


def test_file_that_is_not_audio_is_refused_by_its_content(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    fake = b"%PDF-1.7\n" + b"pretending to be a recording " * 100
    _, _, url, status = upload(runtime, web, client.client.id, fake)
    assert status == 415
    with session_scope(runtime.sessions) as session:
        rec = session.get(Recording, url.rsplit("/", 1)[1])
        assert rec is not None and rec.received_bytes == 0


def _send_in_pieces(tus: Tus, session_id: str, data: bytes, sizes: list[int]) -> tuple[str, list[int]]:
    """Upload `data` in pieces of these sizes, then the rest at once; the status of each PATCH."""
    url = tus.create(session_id, source="upload", length=len(data), filetype="").headers["Location"]
    cuts = [sum(sizes[:k]) for k in range(len(sizes) + 1)] + [len(data)]
    statuses = []
    for start, end in itertools.pairwise(cuts):
        statuses.append(tus.patch(url, start, data[start:end]).status_code)
        if statuses[-1] != 204:
            break
    return url, statuses


def _received(runtime: Runtime, url: str) -> int:
    with session_scope(runtime.sessions) as session:
        rec = session.get(Recording, url.rsplit("/", 1)[1])
        assert rec is not None
        return rec.received_bytes


def test_an_upload_whose_first_pieces_are_tiny_is_accepted(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    # Fewer bytes than the format can be told from (a WAV needs 12): judged once enough arrived.
    client = consenting_client(runtime, signed_in_therapist.user)
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]
    data = recording("wav", seconds=2.0)

    url, statuses = _send_in_pieces(tus, session_id, data, [5, 3, 2])

    assert statuses == [204, 204, 204, 204]
    work_off(runtime, process=False)
    assert session_row(runtime, session_id).status == "recorded"
    assert stored_audio(runtime, url.rsplit("/", 1)[1]) == data


def _webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(out, format="WEBP")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "sizes", "refused_at", "kept"),
    [
        (_webp(), [4, 4, 4], 2, 8),  # "RIFF", a size, then "WEBP" where a WAV says "WAVE"
        (b"RIFF\x04\x00\x00\x00", [5], 1, 5),  # the whole file, shorter than any recording
        (b"%PDF-1.7\n" + b"notes " * 50, [5], 0, 0),  # "%PDF-" already begins no recording
    ],
    ids=["webp-image", "eight-bytes", "pdf"],
)
def test_a_file_that_is_not_audio_sent_in_tiny_pieces_is_refused_as_soon_as_its_bytes_show_it(
    runtime: Runtime,
    web: TestClient,
    signed_in_therapist: Person,
    data: bytes,
    sizes: list[int],
    refused_at: int,
    kept: int,
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]

    url, statuses = _send_in_pieces(tus, session_id, data, sizes)

    assert statuses == [204] * refused_at + [415]
    assert _received(runtime, url) == kept  # the refused piece is not stored
    r = tus.patch(url, kept, data[kept : kept + 100])
    assert r.status_code == 415
    assert r.json()["error"].startswith("This file is not a recording Sotto can read.")


def test_truncated_upload_is_explained_and_destroyed(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    whole = recording("flac", seconds=3.0)
    _, session_id, url, status = upload(runtime, web, client.client.id, whole[: len(whole) // 2])
    assert status == 204
    row = session_row(runtime, session_id)
    assert row.status == "failed" and row.problem and "cut off" in row.problem
    page = web.get(f"/clients/{client.client.id}")
    assert "cut off" in page.text
    assert runtime.blobs.names(f"audio/{url.rsplit('/', 1)[1]}") == []


def test_oversized_upload_is_refused_before_anything_is_stored(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]
    r = tus.create(session_id, source="upload", length=runtime.settings.max_recording_mb * 1024 * 1024 + 1)
    assert r.status_code == 413 and "larger than" in r.json()["error"]


def test_too_long_recording_is_refused(runtime: Runtime, web: TestClient, signed_in_therapist: Person) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    runtime.settings = runtime.settings.model_copy(update={"max_recording_hours": 1 / 3600})
    _, session_id, _, _ = upload(runtime, web, client.client.id, recording("wav", seconds=3.0))
    row = session_row(runtime, session_id)
    assert row.status == "failed" and row.problem and "limit" in row.problem


def test_playback_streams_byte_ranges_and_is_audited_once(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    data = recording("wav", seconds=2.0)
    _, _, url, _ = upload(runtime, web, client.client.id, data)
    audio = f"{url}/audio"
    whole = web.get(audio)
    assert whole.status_code == 200 and whole.content == data and whole.headers["accept-ranges"] == "bytes"
    part = web.get(audio, headers={"Range": "bytes=100-70099"})
    assert part.status_code == 206 and part.content == data[100:70100]
    assert part.headers["content-range"] == f"bytes 100-70099/{len(data)}"
    tail = web.get(audio, headers={"Range": "bytes=-500"})
    assert tail.content == data[-500:]
    assert web.get(audio, headers={"Range": f"bytes={len(data)}-"}).status_code == 416
    with session_scope(runtime.sessions) as session:
        plays = session.scalars(select(AuditEvent).where(AuditEvent.action == "recording.played")).all()
    assert len(plays) == 1  # the whole-file request; ranges within one playback are not re-audited


def test_no_plaintext_audio_reaches_disk_database_or_temp(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    data = unique_wav(seconds=3.0)
    upload(runtime, web, client.client.id, data)
    web.get(f"/clients/{client.client.id}")
    for needle in distinctive_slices(data[44:], count=8):
        assert stored_anywhere(runtime, needle) == []


def test_tampered_audio_is_refused_with_a_plain_message(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    _, _, url, _ = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
    recording_id = url.rsplit("/", 1)[1]
    first = f"audio/{recording_id}/00000000"
    blob = bytearray(runtime.blobs.get(first))
    blob[40] ^= 0x01
    runtime.blobs.put(first, bytes(blob))
    r = web.get(f"{url}/audio")
    assert r.status_code == 409 and "damaged" in r.text and "Traceback" not in r.text
    with session_scope(runtime.sessions) as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "recording.integrity_failed")).all()


def test_one_damaged_segment_does_not_cost_the_good_ones(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]
    good, damaged = recording("wav", seconds=1.0), recording("flac", seconds=2.0)
    urls = []
    for data in (good, damaged[: len(damaged) // 2]):  # the second segment was cut off
        url = tus.create(session_id).headers["Location"]
        assert tus.patch(url, 0, data).status_code == 204
        urls.append(url)
    tus.end(session_id)
    work_off(runtime, process=False)
    row = session_row(runtime, session_id)
    assert row.status == "recorded"
    with session_scope(runtime.sessions) as session:
        kept, lost = (session.get(Recording, u.rsplit("/", 1)[1]) for u in urls)
        assert kept is not None and lost is not None
        assert kept.data_key_id is not None and kept.duration_seconds == pytest.approx(1.0, abs=0.1)
        assert lost.data_key_id is None
        [receipt] = session.scalars(select(DeletionReceipt)).all()
        assert receipt.what == "an unusable part of the recording"


def review_page(web: TestClient, session_id: str) -> str:
    page = web.get(f"/sessions/{session_id}")
    assert page.status_code == 200
    return page.text


def test_a_client_who_refused_therapist_review_has_no_session_read_or_played(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    uses = {"therapist_review": False, "supervision": False, "ai_notes": True, "client_recap": True}
    client = consenting_client(runtime, signed_in_therapist.user, uses=uses)
    _, session_id, url, _ = upload(runtime, web, client.client.id, recording("wav", seconds=2.0))
    played = web.get(f"{url}/audio")  # the audio is there, waiting to be processed
    assert played.status_code == 403 and "does not allow you" in played.text
    assert "/audio" not in review_page(web, session_id)
    work_off(runtime)
    assert session_row(runtime, session_id).status == "processed"
    text = review_page(web, session_id)
    assert 'id="review-closed"' in text and 'id="transcript"' not in text
    with session_scope(runtime.sessions) as session:
        actions = {e.action for e in session.scalars(select(AuditEvent))}
    assert not actions & {"transcript.viewed", "recording.played"}


def test_unticking_therapist_review_closes_the_sessions_recorded_before(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    _, session_id, url, _ = upload(runtime, web, client.client.id, recording("wav", seconds=2.0))
    assert web.get(f"{url}/audio").status_code == 200
    work_off(runtime)
    assert 'id="transcript"' in review_page(web, session_id)
    with TestClient(web.app, base_url="http://testserver") as device:  # the client's phone
        page = f"/my/{client.my_token}"
        r = device.post(f"{page}/uses", data={"csrf_token": form_token(device, page), "use_client_recap": "yes"})
        assert r.status_code == 200
    text = review_page(web, session_id)
    assert 'id="review-closed"' in text and 'id="transcript"' not in text


def test_a_range_no_file_could_have_is_refused_plainly(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    _, _, url, _ = upload(runtime, web, client.client.id, recording("wav", seconds=1.0))
    r = web.get(f"{url}/audio", headers={"Range": "bytes=" + "9" * 5000 + "-"})
    assert r.status_code == 416


def test_audio_declared_as_a_web_page_is_served_as_bytes(
    runtime: Runtime, web: TestClient, signed_in_therapist: Person
) -> None:
    client = consenting_client(runtime, signed_in_therapist.user)
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]
    data = recording("wav", seconds=1.0)
    url = tus.create(session_id, source="upload", length=len(data), filetype="text/html").headers["Location"]
    assert tus.patch(url, 0, data).status_code == 204
    work_off(runtime, process=False)
    r = web.get(f"{url}/audio")
    assert r.status_code == 200 and r.content == data
    assert r.headers["content-type"] == "application/octet-stream"


def test_a_kept_copy_cannot_be_uploaded(runtime: Runtime, web: TestClient, signed_in_therapist: Person) -> None:
    """The redacted copy is the pipeline's to make; a request claiming to upload one is malformed, not a 500."""
    client = consenting_client(runtime, signed_in_therapist.user)
    tus = Tus(web)
    session_id = tus.start_session(client.client.id).json()["session"]
    r = tus.create(session_id, source="redacted", length=1000, filetype="audio/wav")
    assert r.status_code == 400 and "malformed" in r.text
