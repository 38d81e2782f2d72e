"""Retained audio: removed words silenced on every channel, written as Ogg/Opus to a write-only stream."""

from __future__ import annotations

import base64
import io
import math
import sys
import tempfile
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from spoken_session import build_session, espeak_available, wav_bytes

from sotto.pipeline.decode import decode_recording, decode_sources, open_in_memory
from sotto.pipeline.redaction import PassThroughStandIn, PrivacyEngineRedactor
from sotto.pipeline.service import PipelineOptions, run_pipeline
from sotto.pipeline.silence import silenced_intervals, write_silenced_audio
from sotto.pipeline.types import Audio, Segment, Span, Transcript

RATE = 16_000
TOLERANCE = int(0.020 * RATE)
CHROMIUM = "/usr/bin/chromium"  # codec delay and edge smear allowed: 20 ms


# -- which stretches are silenced --------------------------------------------------------------


def span(segment: int, t0: float | None, t1: float | None, kind: str = "NAME") -> Span:
    return Span(segment, 0, 4, kind, "phi", "[Name 1]", t0=t0, t1=t1)


def transcript(*spans: Span, duration: float = 60.0) -> Transcript:
    return Transcript(
        duration=duration,
        segments=[
            Segment(1.0, 9.0, "…", speaker="therapist", channel=0),
            Segment(10.0, 20.0, "…", speaker="client", channel=1),
            Segment(55.0, 60.0, "…", speaker="client", channel=1),
        ],
        spans=list(spans),
    )


def rounded(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(round(a, 9), round(b, 9)) for a, b in intervals]


def test_each_span_is_padded_on_both_sides_and_listed_in_time_order() -> None:
    found = silenced_intervals(transcript(span(1, 14.0, 14.5), span(0, 2.0, 2.4)), pad=0.35)
    assert rounded(found) == [(1.65, 2.75), (13.65, 14.85)]


def test_overlapping_and_touching_spans_merge_into_one_stretch() -> None:
    spans = (span(1, 11.0, 11.5), span(1, 11.9, 12.2), span(1, 12.9, 13.0), span(1, 11.2, 11.3))
    assert rounded(silenced_intervals(transcript(*spans), pad=0.35)) == [(10.65, 13.35)]
    # stretches that touch, or all but touch (a gap under 20 ms would be all fade), are joined
    touching = (span(1, 12.0, 12.2), span(1, 12.6, 12.8), span(1, 13.219, 13.3))
    assert rounded(silenced_intervals(transcript(*touching), pad=0.2)) == [(11.8, 13.5)]
    apart = (span(1, 12.0, 12.2), span(1, 12.621, 12.8))
    assert rounded(silenced_intervals(transcript(*apart), pad=0.2)) == [(11.8, 12.4), (12.421, 13.0)]


def test_padding_stops_at_the_session_edges() -> None:
    found = silenced_intervals(transcript(span(0, 0.1, 0.3), span(2, 59.8, 60.0)), pad=0.35)
    assert rounded(found) == [(0.0, 0.65), (59.45, 60.0)]


def test_a_span_past_a_wrong_duration_is_kept_not_dropped() -> None:
    found = silenced_intervals(transcript(span(2, 61.0, 61.5), duration=60.0), pad=0.35)
    assert rounded(found) == [(60.65, 61.5)]


def test_a_span_without_a_time_silences_its_whole_segment() -> None:
    found = silenced_intervals(transcript(span(1, None, None), span(0, 3.0, None)), pad=0.35)
    assert rounded(found) == [(0.65, 9.35), (9.65, 20.35)]


def test_a_span_whose_segment_is_unknown_silences_the_whole_session() -> None:
    assert silenced_intervals(transcript(span(7, None, None)), pad=0.35) == [(0.0, 60.0)]


def test_a_span_with_reversed_times_is_still_silenced() -> None:
    assert rounded(silenced_intervals(transcript(span(1, 14.5, 14.0)), pad=0.0)) == [(14.0, 14.5)]


def test_no_spans_silence_nothing_and_a_negative_pad_is_refused() -> None:
    assert silenced_intervals(transcript(), pad=0.35) == []
    with pytest.raises(ValueError, match="pad"):
        silenced_intervals(transcript(span(1, 14.0, 14.5)), pad=-0.1)


def test_passages_and_identifiers_on_either_channel_are_all_silenced() -> None:
    spans = (span(0, 4.0, 5.0), Span(1, 0, 9, "trauma", "topic", "[a passage was removed]", t0=12.0, t1=18.0))
    assert silenced_intervals(transcript(*spans), pad=0.0) == [(4.0, 5.0), (12.0, 18.0)]


# -- the silenced, encoded session: measured on tones ------------------------------------------


class NoSeeking:
    """A write-only output that cannot go back, as an encrypting writer: seek, tell, read and close fail."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.writes = 0

    def write(self, chunk: Any) -> int:
        self.data += chunk
        self.writes += 1
        return len(chunk)

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def seek(self, *args: object) -> int:
        raise AssertionError("the writer sought")

    def tell(self) -> int:
        raise AssertionError("the writer asked for the position")

    def read(self, *args: object) -> bytes:
        raise AssertionError("the writer read back")

    def close(self) -> None:
        raise AssertionError("the writer closed the caller's output")


def tones(seconds: float, *frequencies: float) -> np.ndarray:
    """A sum of inharmonic tones (a unique correlation peak, unlike one pure tone), peak about 0.45."""
    t = np.arange(int(seconds * RATE)) / RATE
    signal = np.zeros(len(t), dtype=np.float32)
    for f in frequencies:
        signal += (0.15 * np.sin(2 * np.pi * f * t + f)).astype(np.float32)
    return signal


def rms(signal: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(signal, dtype=np.float64)))) if len(signal) else 0.0


def outside(intervals: list[tuple[float, float]], duration: float, margin: float) -> list[tuple[int, int]]:
    """Sample ranges at least `margin` seconds from every interval and the session's ends."""
    edges = [0.0, *[t for pair in intervals for t in pair], duration]
    pairs = zip(edges[::2], edges[1::2], strict=True)
    return [(int((a + margin) * RATE), int((b - margin) * RATE)) for a, b in pairs if b - a > 2 * margin]


INTERVALS = [(0.0, 0.4), (1.5, 1.62), (1.64, 1.9), (3.25, 5.0), (6.7, 7.1), (7.8, 8.0)]


@pytest.mark.parametrize("channels", [1, 2])
def test_decoded_copy_is_silent_inside_every_interval_and_unchanged_outside(channels: int) -> None:
    originals = [tones(8.0, 310, 737, 1290), tones(8.0, 220, 1010, 1870)][:channels]
    kept = [signal.copy() for signal in originals]
    out = NoSeeking()
    seconds = write_silenced_audio(Audio(RATE, originals, 8.0), INTERVALS, out)
    assert seconds == 8.0
    assert all(np.array_equal(a, b) for a, b in zip(originals, kept, strict=True)), "the input was changed"
    data = bytes(out.data)
    assert data.startswith(b"OggS") and out.writes > 1
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.codec_context.channels, stream.rate) == ("opus", channels, 48_000)

    decoded = decode_recording(io.BytesIO(data), mono=False, max_seconds=60)
    assert len(decoded) == channels
    for got, want in zip(decoded, originals, strict=True):
        assert abs(len(got) - len(want)) <= TOLERANCE
        for start, end in INTERVALS:
            whole = got[int(start * RATE) : int(end * RATE)]
            inner = got[int(start * RATE) + TOLERANCE : int(end * RATE) - TOLERANCE]
            assert rms(whole) < 1e-3, f"{start}-{end}: {rms(whole):.1e}"  # below -60 dBFS, edges included
            assert rms(inner) < 1e-4, f"{start}-{end}: {rms(inner):.1e}"  # below -80 dBFS, 20 ms in
        for low, high in outside(INTERVALS, 8.0, margin=0.030):
            assert rms(got[low:high]) == pytest.approx(rms(want[low:high]), rel=0.1)  # within 1 dB
        assert abs(lag(got, want, around=2.5)) <= TOLERANCE


def lag(got: np.ndarray, want: np.ndarray, *, around: float) -> int:
    """How many samples `got` runs late of `want` (cross-correlation over 0.5 s, searched ±30 ms)."""
    at, width, search = int(around * RATE), RATE // 2, int(0.030 * RATE)
    reference = want[at : at + width].astype(np.float64)
    scores = [float(np.dot(got[at + d : at + d + width], reference)) for d in range(-search, search + 1)]
    return int(np.argmax(scores)) - search


def test_silencing_is_block_wise_and_holds_no_copy_of_the_session() -> None:
    seconds = 90.0
    audio = Audio(RATE, [tones(seconds, 310, 737), tones(seconds, 220, 1010)], seconds)
    size = sum(signal.nbytes for signal in audio.channels)  # 11.5 MB
    intervals = [(5.0, 30.0), (44.0, 44.5), *[(50.0 + k * 0.3, 50.1 + k * 0.3) for k in range(60)]]

    class Counting:
        written = 0

        def write(self, chunk: Any) -> int:
            self.written += len(chunk)
            return len(chunk)

    out = Counting()
    tracemalloc.start()
    try:
        write_silenced_audio(audio, intervals, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < size / 4, f"peak {peak / 1e6:.1f} MB for {size / 1e6:.1f} MB of audio"
    assert 0.5 < out.written * 8 / seconds / 32_000 < 1.5  # about the asked bitrate (Opus varies it)


@contextmanager
def files_opened_for_writing() -> Iterator[list[str]]:
    """Every file Python opens for writing while inside (an audit hook; it cannot be removed, so it idles after)."""
    opened: list[str] = []
    active = [True]
    writing = ("w", "a", "x", "+")

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if active[0] and event == "open":
            path, mode, flags = args
            by_mode = isinstance(mode, str) and any(c in mode for c in writing)
            by_flags = isinstance(flags, int) and flags & 0o3 != 0  # O_WRONLY or O_RDWR
            if by_mode or by_flags:
                opened.append(str(path))

    sys.addaudithook(hook)
    try:
        yield opened
    finally:
        active[0] = False


def test_the_writer_never_seeks_and_writes_no_file(tmp_path: Path) -> None:
    temp = Path(tempfile.gettempdir())
    assert temp.is_relative_to(tmp_path), "the per-test temporary directory is not in place"
    audio = Audio(RATE, [tones(12.0, 310, 737), tones(12.0, 220, 1010)], 12.0)
    out = NoSeeking()  # any seek, tell, read or close fails the test
    with files_opened_for_writing() as opened:
        write_silenced_audio(audio, [(2.0, 3.0)], out)
    assert opened == []
    assert list(temp.iterdir()) == []
    assert len(out.data) > 0


def test_an_output_that_fails_raises_its_own_error_and_is_not_written_again() -> None:
    class Full:
        calls = 0

        def write(self, chunk: Any) -> int:
            self.calls += 1
            if self.calls > 2:
                raise OSError("the disk is full")
            return len(chunk)

    out = Full()
    with pytest.raises(OSError, match="disk is full"):
        write_silenced_audio(Audio(RATE, [tones(30.0, 310, 737)], 30.0), [], out)
    assert out.calls == 3


def test_more_channels_than_opus_stereo_and_bad_input_are_refused() -> None:
    signal = tones(1.0, 440)
    with pytest.raises(ValueError, match="channels"):
        write_silenced_audio(Audio(RATE, [signal] * 3, 1.0), [], NoSeeking())
    with pytest.raises(ValueError, match="NaN"):
        write_silenced_audio(Audio(RATE, [signal], 1.0), [(math.nan, 0.5)], NoSeeking())
    with pytest.raises(ValueError, match="no audio"):
        write_silenced_audio(Audio(RATE, [signal[:0]], 0.0), [], NoSeeking())


def test_intervals_past_the_end_or_before_the_start_are_clamped() -> None:
    out = NoSeeking()
    write_silenced_audio(Audio(RATE, [tones(2.0, 310, 737)], 2.0), [(-1.0, 0.5), (1.5, math.inf)], out)
    [got] = decode_recording(io.BytesIO(bytes(out.data)), mono=False, max_seconds=60)
    assert rms(got[TOLERANCE : int(0.5 * RATE) - TOLERANCE]) < 1e-4
    assert rms(got[int(1.5 * RATE) + TOLERANCE :]) < 1e-4
    assert rms(got[int(0.6 * RATE) : int(1.4 * RATE)]) > 0.1


# -- real speech: an invented name is no longer heard ------------------------------------------

# Invented for this test. The names are ones Whisper tiny.en spells back from espeak-ng's voice.
NAME_WORDS = {"marcus", "pembroke", "helen", "castellano"}
SCRIPT = (
    ("therapist", "Good afternoon. How did the rest of the week go for you?", False),
    ("client", "I finally called Marcus Pembroke and we talked for an hour about the garden.", False),
    ("therapist", "That sounds like a good step. What did the two of you decide?", False),
    ("client", "We agreed to plant tomatoes in the spring, and Helen Castellano will bring the seeds.", False),
)


def words_of(text: str) -> list[str]:
    return [w.strip(".,?!'\"").lower() for w in text.split() if w.strip(".,?!'\"")]


@pytest.mark.slow
def test_an_invented_name_is_not_heard_in_the_retained_audio() -> None:
    if not espeak_available():
        pytest.fail("espeak-ng is needed to synthesize the test session (apt-get install espeak-ng)")
    try:
        redactor = PrivacyEngineRedactor()
    except ImportError as exc:  # its language models belong to sotto.privacy's install
        pytest.skip(f"sotto.privacy cannot load: {exc}")
    spoken = build_session(SCRIPT)
    # Two channels as the recorder makes them: the therapist's microphone hears the call at -26 dB.
    recording = wav_bytes(spoken.split(bleed_db=-26.0))
    result = run_pipeline([open_in_memory(recording)], options=PipelineOptions(redactor=redactor))
    names = [s for s in result.transcript.spans if s.kind == "NAME"]
    assert len(names) >= 2, "the pipeline did not find both names to remove"
    intervals = silenced_intervals(result.transcript)

    audio = decode_sources([open_in_memory(recording)], max_seconds=60)
    out = NoSeeking()
    write_silenced_audio(audio, intervals, out)
    retained = bytes(out.data)

    # The name's stretch is silent on both channels, the bleed on the therapist's microphone included.
    kept = decode_recording(io.BytesIO(retained), mono=False, max_seconds=60)
    assert len(kept) == 2
    for name in names:
        assert name.t0 is not None and name.t1 is not None
        inside = slice(int(name.t0 * RATE), int(name.t1 * RATE))
        assert rms(audio.channels[0][inside]) > 1e-3  # the bleed is there to begin with
        assert max(rms(channel[inside]) for channel in kept) < 1e-4  # below -80 dBFS

    said = [w for turn in spoken.turns for w in words_of(turn.text)]
    others = [w for w in said if w not in NAME_WORDS]
    # The same check on the copy written without silencing hears the names: it can see a leak.
    unsilenced = NoSeeking()
    write_silenced_audio(audio, [], unsilenced)
    control = heard_words(bytes(unsilenced.data))
    assert len(NAME_WORDS & control) >= 2, f"the names are not heard even unsilenced: {sorted(control)}"

    got = heard_words(retained)
    assert NAME_WORDS.isdisjoint(got), f"a removed name is still heard: {sorted(got)}"
    near = [(w, n) for w in got for n in NAME_WORDS if len(n) > 5 and SequenceMatcher(None, w, n).ratio() >= 0.75]
    assert near == [], f"a removed name is still heard, misspelt: {near}"
    recall = sum(w in got for w in others) / len(others)
    assert recall > 0.75, f"only {recall:.0%} of the other words are heard: {sorted(got)}"


def heard_words(retained: bytes) -> set[str]:
    """The words Whisper hears in a retained copy, decoded and transcribed by the pipeline."""
    heard = run_pipeline([open_in_memory(retained)], options=PipelineOptions(redactor=PassThroughStandIn()))
    return {w for segment in heard.transcript.segments for w in words_of(segment.text)}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Headless Chromium, started outside any test's own temporary directory (whose path is too
    long for Chromium's socket), as tests/browser starts it."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium is missing at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.mark.browser
def test_chromium_decodes_the_retained_copy_with_its_silences(chromium: Any) -> None:
    """Chromium can play it: <audio> takes Ogg Opus, and Web Audio decodes the file to the same
    length and channels, silent where it should be."""
    out = NoSeeking()
    audio = Audio(RATE, [tones(4.0, 310, 737, 1290), tones(4.0, 220, 1010, 1870)], 4.0)
    write_silenced_audio(audio, [(1.0, 2.0)], out)
    script = """async (data) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const context = new OfflineAudioContext(2, 48000, 48000);
        const buffer = await context.decodeAudioData(bytes.buffer);
        const rms = (channel, from, to) => {
            const samples = buffer.getChannelData(channel).subarray(from * 48000, to * 48000);
            return Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
        };
        return {
            playable: new Audio().canPlayType('audio/ogg; codecs="opus"'),
            duration: buffer.duration,
            channels: buffer.numberOfChannels,
            inside: [0, 1].map((c) => rms(c, 1.02, 1.98)),
            outside: [0, 1].map((c) => rms(c, 2.5, 3.5)),
        };
    }"""
    page = chromium.new_page()
    try:
        found = page.evaluate(script, base64.b64encode(bytes(out.data)).decode())
    finally:
        page.close()
    assert found["playable"] == "probably"
    assert found["duration"] == pytest.approx(4.0, abs=0.020)
    assert found["channels"] == 2
    assert max(found["inside"]) < 1e-4
    assert min(found["outside"]) > 0.1
