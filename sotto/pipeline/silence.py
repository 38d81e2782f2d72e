"""Retained audio: a copy of the session in which every removed identifier and passage is silent.

When a practice keeps audio, the original recording is destroyed and this copy is kept
instead (DESIGN.md, invariant 5). Two steps:

* `silenced_intervals` turns the transcript's removals (``Transcript.spans``, each with the
  time it covers, ``t0``/``t1``) into merged stretches of the session to silence, each
  widened by a pad for word-timing error. A span whose time is unknown silences its whole
  segment: an unknown time never means "leave it audible".
* `write_silenced_audio` silences those stretches on **every** channel and encodes all
  channels together as one Ogg/Opus file, streamed to a write-only, non-seekable output.

Every channel is silenced, not only the one whose segment held the span: the therapist's
microphone hears the call audio faintly (and the call hears the room), so the same words are
on the other channel too, only quieter. Silencing both costs the other speaker a moment of
overlap at most.

Nothing is written to disk and the audio is never copied whole: it is silenced and encoded a
block at a time, so an hour of two-channel audio needs a few megabytes beyond the decoded
audio itself. Opus runs at 48 kHz; PyAV's encoder resamples the 16 kHz signal on the way in
and the file records the delay it adds (pre-skip), so the decoded copy lines up with the
session to the sample.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from typing import Any, Protocol, TypeVar

import av
import numpy as np

from sotto.pipeline.types import Audio, Transcript

DEFAULT_PAD_SECONDS = 0.35
# A raised-cosine fade this long outside each silenced stretch: a cut straight to zero clicks.
FADE_SECONDS = 0.010
# Stretches closer than this are joined: what lies between them would be all fade, and a blip.
JOIN_SECONDS = 2 * FADE_SECONDS
OPUS_RATE = 48_000  # Opus's own rate; the Ogg header records it
BLOCK_SECONDS = 10  # how much audio is silenced and handed to the encoder at a time
# Opus carries one or two channels in Ogg without a surround mapping; more (up to eight) would
# be stored as 5.1 or 7.1, where one channel becomes a low-bandwidth LFE and speech there is lost.
_LAYOUTS = {1: "mono", 2: "stereo"}
_MIN_BITRATE, _MAX_BITRATE = 6_000, 510_000

_Time = TypeVar("_Time", int, float)


class Output(Protocol):
    """Where retained audio goes: anything with ``write`` (a ``BinaryIO``, an encrypting writer)."""

    def write(self, data: bytes, /) -> object: ...


def silenced_intervals(transcript: Transcript, *, pad: float = DEFAULT_PAD_SECONDS) -> list[tuple[float, float]]:
    """The stretches of the session to silence, in seconds: sorted and apart (stretches that
    overlap or lie within 20 ms of each other are joined), each span's time widened by `pad` on
    both sides, the padding clamped to ``[0, transcript.duration]``.

    A span without a time (``t0`` or ``t1`` None) silences its whole segment, and one whose
    segment is unknown silences the whole session, so a missing time never leaves words audible.
    """
    if not pad >= 0.0:  # also refuses NaN
        raise ValueError(f"pad must be zero or more seconds, got {pad}")
    duration = transcript.duration
    stretches: list[tuple[float, float]] = []
    for span in transcript.spans:
        if span.t0 is not None and span.t1 is not None:
            start, end = sorted((span.t0, span.t1))
        elif 0 <= span.segment < len(transcript.segments):
            segment = transcript.segments[span.segment]
            start, end = segment.start, segment.end
        else:
            start, end = 0.0, duration
        if math.isnan(start) or math.isnan(end):
            start, end = 0.0, duration
        # The pad stops at the session's ends; the span itself never does, even past a duration
        # that disagrees with it (the writer stops at the audio's real end).
        low, high = max(start - pad, 0.0), min(end + pad, max(duration, end))
        if high > low:
            stretches.append((low, high))
    return _merge(stretches, JOIN_SECONDS)


def _merge(stretches: list[tuple[_Time, _Time]], join: _Time) -> list[tuple[_Time, _Time]]:
    """Sorted stretches, any two less than `join` apart made one."""
    merged: list[tuple[_Time, _Time]] = []
    for start, end in sorted(stretches):
        if merged and start < merged[-1][1] + join:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def write_silenced_audio(
    audio: Audio, intervals: Iterable[tuple[float, float]], out: Output, *, bitrate: int = 32_000
) -> float:
    """Write the session as one Ogg/Opus file (all channels together) with every interval silent
    on every channel, and return the seconds written.

    Inside each interval the signal is exactly zero before encoding; a 10 ms fade just outside
    it avoids a click. `out` only needs ``write``: it is never sought, told, flushed or closed
    (the caller finishes it, e.g. an encrypting writer adding its tag). `audio` is not changed.
    """
    channels = len(audio.channels)
    if channels not in _LAYOUTS:
        raise ValueError(f"retained audio holds one or two channels, this session has {channels}")
    if not _MIN_BITRATE <= bitrate <= _MAX_BITRATE:
        raise ValueError(f"an Opus bitrate is {_MIN_BITRATE}..{_MAX_BITRATE} bit/s, got {bitrate}")
    rate = audio.sample_rate
    length = max(len(signal) for signal in audio.channels)
    if length == 0:
        raise ValueError("there is no audio to write")
    silent = _to_samples(intervals, rate, length)
    sink = _WriteOnly(out)
    try:
        with av.open(sink, mode="w", format="ogg") as container:
            _encode(container, audio.channels, rate, silent, bitrate=bitrate)
    except av.FFmpegError:
        if sink.failure is not None:  # PyAV reports the output's own error as its callback failing
            raise sink.failure from None
        raise
    return length / rate


def _encode(
    container: Any, signals: list[np.ndarray], rate: int, silent: list[tuple[int, int]], *, bitrate: int
) -> None:
    """Silence and encode the session a block at a time into an open Ogg container."""
    layout = _LAYOUTS[len(signals)]
    length = max(len(signal) for signal in signals)
    ramp = _fade_in(max(round(FADE_SECONDS * rate), 1))
    stream = container.add_stream("libopus", rate=OPUS_RATE)
    stream.layout = layout
    stream.bit_rate = bitrate
    stream.codec_context.options = {"application": "voip"}  # tuned for speech
    first = 0  # the first silenced stretch that can still reach the current block
    for at in range(0, length, BLOCK_SECONDS * rate):
        samples = _block(signals, at, min(at + BLOCK_SECONDS * rate, length))
        while first < len(silent) and silent[first][1] + len(ramp) <= at:
            first += 1
        _silence(samples, at, silent[first:], ramp)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, at, Fraction(1, rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _to_samples(intervals: Iterable[tuple[float, float]], rate: int, length: int) -> list[tuple[int, int]]:
    """Intervals in seconds as merged sample ranges, widened outward to whole samples."""
    ranges = []
    for start, end in intervals:
        if math.isnan(start) or math.isnan(end):
            raise ValueError("an interval to silence has no time (NaN)")
        low, high = (min(max(t, 0.0), length / rate) for t in sorted((start, end)))
        first, last = math.floor(low * rate), min(math.ceil(high * rate), length)
        if last > first:
            ranges.append((first, last))
    return _merge(ranges, round(JOIN_SECONDS * rate))


def _block(signals: list[np.ndarray], at: int, end: int) -> np.ndarray:
    """Samples ``at:end`` of every channel as one (channels, samples) float32 array, a new copy;
    a channel shorter than the others is treated as silent past its end."""
    samples = np.zeros((len(signals), end - at), dtype=np.float32)
    for row, signal in zip(samples, signals, strict=True):
        part = signal[at:end]
        row[: len(part)] = part
    return samples


def _silence(samples: np.ndarray, at: int, stretches: list[tuple[int, int]], ramp: np.ndarray) -> None:
    """Silence, in place, the stretches that reach this block (which starts at sample `at`):
    zero inside each, a fade out before it and a fade in after it."""
    end, fade = at + samples.shape[1], len(ramp)
    for start, stop in stretches:
        if start - fade >= end:
            break
        _scale(samples, at, start - fade, ramp[::-1])
        _scale(samples, at, stop, ramp)
        samples[:, max(start, at) - at : max(min(stop, end) - at, 0)] = 0.0


def _scale(samples: np.ndarray, at: int, first: int, gains: np.ndarray) -> None:
    """Multiply session samples ``first : first + len(gains)`` by `gains`, where they fall in this block."""
    low, high = max(first, at), min(first + len(gains), at + samples.shape[1])
    if high > low:
        samples[:, low - at : high - at] *= gains[low - first : high - first]


def _fade_in(samples: int) -> np.ndarray:
    """A raised-cosine rise over `samples`, ending at exactly 1 and never reaching 0."""
    return (0.5 - 0.5 * np.cos(np.pi * np.arange(1, samples + 1) / samples)).astype(np.float32)


class _WriteOnly:
    """`out` seen through ``write`` alone. PyAV seeks a file that has ``seek`` and ``tell`` and
    closes one that has ``close``; the output here must be neither sought nor closed."""

    def __init__(self, out: Output) -> None:
        self._out = out
        self.failure: Exception | None = None

    def write(self, data: bytes) -> int:
        if self.failure is not None:
            raise self.failure  # once failed, PyAV's closing flush must not write past the gap
        try:
            self._write(data)
        except Exception as exc:
            self.failure = exc
            raise
        return len(data)

    def _write(self, data: bytes) -> None:
        rest = data
        while rest:
            written = self._out.write(rest)
            if not isinstance(written, int) or written >= len(rest):
                break  # took it all (a writer that returns None is taken at its word, as PyAV does)
            if written <= 0:
                raise OSError("the output for retained audio accepted no data")
            rest = rest[written:]  # a raw stream may take part of it
