"""The "decode" stage: recordings to 16 kHz float32, one signal per channel, in memory only.

A session may arrive as several recordings. Each is an `AudioSource`: a readable, seekable
file object (in production a decrypting reader; nothing is ever written to disk) and where
it belongs:

* ``channel=None``: the recording's own channels become session channels 0, 1, ... (a stereo
  file from the recorder: therapist microphone left, call audio right). A file whose
  channels carry the same signal counts as one channel.
* ``channel=k``: the recording is mixed down to mono and feeds session channel k
  (0 = therapist microphone, 1 = call audio).
* ``start``: where the recording begins in the session, in seconds, when known (the time
  a recorder restarted); the gap before it is silence. Without it, a recording follows
  straight after the previous one on the same channel, so the segments of a restarted
  recording are given in order.

All channels are then padded with silence to the same length, and the stretches where a
channel only echoes another (`sotto.pipeline.crosstalk`) are silenced. A channel left with no
recording (the microphone's was unusable, the call's was not) is silence, so that every other
channel keeps its number, and with it its speaker.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, BinaryIO

import av
import numpy as np

from sotto.pipeline.crosstalk import suppress_crosstalk
from sotto.pipeline.stages import PipelineError, ReportFraction, Work, register_stage
from sotto.pipeline.types import Audio
from sotto.recording.audio import (
    ACCEPTED,
    HEAD_BYTES,
    UNKNOWN_CODEC,
    CutOff,
    recording_parts,
    sniff_format,
)

SAMPLE_RATE = 16_000
MAX_CHANNELS = 8
# Two recordings placed on one channel may overlap this much (clock jitter between restarts);
# the later one then starts where the earlier ended. More than this is a mistake in the input.
OVERLAP_TOLERANCE_SECONDS = 1.0
# Channels this correlated are one microphone stored twice (or panned); a therapist's microphone
# that picks up the call faintly correlates far less (about 0.1 at -26 dB).
_SAME_SIGNAL_CORRELATION = 0.95

# PyAV's demuxer for each format `sniff_format` recognises (as sotto.recording.audio uses them).
_DEMUXERS = {"wav": "wav", "flac": "flac", "mp3": "mp3", "m4a": "mp4", "ogg": "ogg", "webm": "matroska"}

_OUT_FRAME = 10 * SAMPLE_RATE
_DAMAGED = "The recording is damaged or cut off: part of it cannot be read."


@dataclass(frozen=True)
class AudioSource:
    """One recording of a session and where it belongs (see the module's description)."""

    file: BinaryIO
    channel: int | None = None
    start: float | None = None


def decode_sources(
    sources: Sequence[AudioSource], *, max_seconds: float, report: ReportFraction | None = None
) -> Audio:
    """Decode and place every recording of a session, or raise PipelineError saying why not."""
    if not sources:
        raise PipelineError("empty", "No recording was given.")
    placed: dict[int, list[tuple[int, np.ndarray]]] = {}
    ends: dict[int, int] = {}
    limit = int(max_seconds * SAMPLE_RATE)
    for index, source in enumerate(sources):

        def part(fraction: float, index: int = index) -> None:
            if report is not None:
                report((index + fraction) / len(sources))

        signals = decode_recording(source.file, mono=source.channel is not None, max_seconds=max_seconds, report=part)
        targets = [source.channel] if source.channel is not None else list(range(len(signals)))
        for channel, signal in zip(targets, signals, strict=True):
            if not 0 <= channel < MAX_CHANNELS:
                raise ValueError(f"channel {channel} is outside 0..{MAX_CHANNELS - 1}")
            cursor = ends.get(channel, 0)
            at = cursor if source.start is None else round(source.start * SAMPLE_RATE)
            if at < cursor:
                if cursor - at > OVERLAP_TOLERANCE_SECONDS * SAMPLE_RATE:
                    raise PipelineError(
                        "overlap",
                        f"Two recordings for channel {channel} overlap by {(cursor - at) / SAMPLE_RATE:.1f} s.",
                    )
                at = cursor
            placed.setdefault(channel, []).append((at, signal))
            ends[channel] = at + len(signal)
            if ends[channel] > limit:
                raise _too_long(max_seconds)
    length = max(ends.values())
    out = []
    for channel in range(max(placed) + 1):
        pieces = placed.pop(channel, [])
        if len(pieces) == 1 and pieces[0][0] == 0 and len(pieces[0][1]) == length:
            out.append(pieces[0][1])  # the usual case, one recording: no copy
            continue
        signal = np.zeros(length, dtype=np.float32)
        while pieces:  # pop as we go: each piece is freed once copied
            at, piece = pieces.pop(0)
            signal[at : at + len(piece)] = piece
        out.append(signal)
    if report is not None:
        report(1.0)
    return Audio(sample_rate=SAMPLE_RATE, channels=out, duration=length / SAMPLE_RATE)


def decode_recording(
    file: BinaryIO, *, mono: bool, max_seconds: float, report: ReportFraction | None = None
) -> list[np.ndarray]:
    """One recording as 16 kHz float32 signals: one per channel, or one mixed down with `mono`.

    A recording joined from several (a chained Ogg, MP3s each with its own ID3 tag) is decoded
    part by part, each from its own container, and the parts follow one another.
    """
    if not file.seekable():
        raise TypeError("decode_recording needs a seekable file object")
    size = file.seek(0, io.SEEK_END)
    file.seek(0)
    head = file.read(HEAD_BYTES)
    if not head:
        raise PipelineError("empty", "The file is empty.")
    kind = sniff_format(head)
    if kind is None:
        raise PipelineError("not_audio", f"This is not a recording Sotto can read ({ACCEPTED} are accepted).")
    try:
        files = recording_parts(kind, file, size)
    except CutOff:
        raise PipelineError("damaged", _DAMAGED) from None
    with ExitStack() as opened:
        parts = [_open_part(opened, kind, part) for part in files]
        durations = [container.duration for container, _ in parts if container.duration]
        expected = sum(durations) / 1_000_000 if durations else None
        signals = _decode_stream(_frames(parts), mono=mono, max_seconds=max_seconds, expected=expected, report=report)
    if not signals or not len(signals[0]):
        raise PipelineError("empty", "The recording is empty: it contains no sound.")
    if len(signals) > 1 and _all_the_same(signals):
        signals = [_mix(signals)]
    return signals


def _open_part(opened: ExitStack, kind: str, file: BinaryIO) -> tuple[Any, Any]:
    """(Container, audio stream) of one whole recording, closed with `opened`."""
    file.seek(0)
    try:
        container = opened.enter_context(av.open(file, mode="r", format=_DEMUXERS[kind], metadata_errors="replace"))
    except av.FFmpegError:
        raise PipelineError("damaged", _DAMAGED) from None
    if not container.streams.audio:
        raise PipelineError("no_audio_stream", "This file has no sound in it.")
    stream = container.streams.audio[0]
    if stream.codec_context is None:  # FFmpeg has no decoder for this sound
        raise PipelineError("unsupported", UNKNOWN_CODEC)
    return container, stream


def _frames(parts: list[tuple[Any, Any]]) -> Iterator[Any]:
    """The decoded frames of each part in turn, with None before each part after the first."""
    for index, (container, stream) in enumerate(parts):
        if index:
            yield None
        yield from container.decode(stream)


def _decode_stream(
    frames: Iterator[Any],
    *,
    mono: bool,
    max_seconds: float,
    expected: float | None,
    report: ReportFraction | None,
) -> list[np.ndarray]:
    limit = int(max_seconds * SAMPLE_RATE)
    try:
        first = next((frame for frame in frames if frame is not None), None)
        if first is None:
            return []
        channels = 1 if mono else first.layout.nb_channels
        if channels > MAX_CHANNELS:
            raise PipelineError("unsupported", f"Recordings with more than {MAX_CHANNELS} channels are not supported.")
        layout = "mono" if channels == 1 else first.layout
        # Ten-second output frames: far fewer trips through Python than one per packet. Packed
        # ("flt"), not planar: PyAV counts the planes of an 8-channel planar frame by reading
        # past the end of FFmpeg's 8 plane pointers, and crashes the process.
        resampler = av.AudioResampler(format="flt", layout=layout, rate=SAMPLE_RATE, frame_size=_OUT_FRAME)
        # Sized from the container's own estimate, so an hour is not copied as it grows; but
        # never past the limit, since a damaged header may claim any length at all.
        buffer = _Buffer(channels, int((min(expected or 600.0, max_seconds) + 1.0) * SAMPLE_RATE))
        for out in resampler.resample(first):
            buffer.append(out.to_ndarray())
        given: tuple[str, str, int] | None = (first.format.name, first.layout.name, first.sample_rate)
        for frame in frames:  # the hot loop: a packet is 20-60 ms, so keep it lean
            if frame is None:  # the next part of a joined recording, with timestamps of its own
                given = None
                continue
            if (frame.format.name, frame.layout.name, frame.sample_rate) != given:
                # A new part, or a stream that changed its rate or channels midway (two MP3s joined
                # without tags): a resampler takes one kind of input, in one run of timestamps, so
                # finish this one and go on with a new one.
                for out in resampler.resample(None):
                    buffer.append(out.to_ndarray())
                resampler = av.AudioResampler(format="flt", layout=layout, rate=SAMPLE_RATE, frame_size=_OUT_FRAME)
                given = (frame.format.name, frame.layout.name, frame.sample_rate)
            for out in resampler.resample(frame):
                buffer.append(out.to_ndarray())
                if buffer.size > limit:
                    raise _too_long(max_seconds)
                if report is not None and expected:
                    report(min(buffer.size / SAMPLE_RATE / expected, 1.0))
        for out in resampler.resample(None):
            buffer.append(out.to_ndarray())
    except av.FFmpegError:
        raise PipelineError("damaged", _DAMAGED) from None
    if buffer.size > limit:
        raise _too_long(max_seconds)
    return buffer.channels()


class _Buffer:
    """Decoded samples, one row per channel, grown (doubling) only when the estimate fell short."""

    def __init__(self, channels: int, capacity: int) -> None:
        self.data = np.empty((channels, max(capacity, 1)), dtype=np.float32)
        self.size = 0

    def append(self, packed: np.ndarray) -> None:  # packed float: (1, samples * channels), interleaved
        block = packed.reshape(-1, self.data.shape[0]).T
        count = block.shape[1]
        if self.size + count > self.data.shape[1]:
            grown = np.empty((self.data.shape[0], max(2 * self.data.shape[1], self.size + count)), dtype=np.float32)
            grown[:, : self.size] = self.data[:, : self.size]
            self.data = grown
        written = self.data[:, self.size : self.size + count]
        written[:] = block
        if not np.isfinite(written).all():
            # A damaged float recording: a sample that is not a number would cost the transcript
            # of everything around it (and slow Whisper a hundredfold), so it is silence instead.
            np.nan_to_num(written, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        self.size += count

    def channels(self) -> list[np.ndarray]:
        if self.size < self.data.shape[1] * 0.9:  # a poor estimate: give back the slack
            self.data = self.data[:, : self.size].copy()
        return [row[: self.size] for row in self.data]


def _all_the_same(signals: list[np.ndarray]) -> bool:
    """Whether every channel carries the same sound (a mono recording stored as stereo)."""
    first = signals[0]
    block = 1 << 20  # a block at a time: no second copy of an hour of audio
    for other in signals[1:]:
        cross = own = theirs = 0.0
        for at in range(0, len(first), block):
            a = first[at : at + block].astype(np.float64)
            b = other[at : at + block].astype(np.float64)
            cross += float(np.dot(a, b))
            own += float(np.dot(a, a))
            theirs += float(np.dot(b, b))
        if own == 0.0 and theirs == 0.0:
            continue
        if cross / (np.sqrt(own * theirs) + 1e-12) < _SAME_SIGNAL_CORRELATION:
            return False
    return True


def _mix(signals: list[np.ndarray]) -> np.ndarray:
    mixed = signals[0]
    for other in signals[1:]:
        mixed += other
    mixed /= np.float32(len(signals))
    return mixed


def _too_long(max_seconds: float) -> PipelineError:
    hours = max_seconds / 3600
    return PipelineError("too_long", f"The recording is longer than the limit of {hours:g} hours.")


@dataclass
class DecodeStage:
    """Decodes every recording of the session into `work.audio`."""

    max_seconds: float
    name: str = "decode"

    def run(self, work: Work, report: ReportFraction) -> None:
        audio = decode_sources(work.sources, max_seconds=self.max_seconds, report=report)
        echoed = suppress_crosstalk(audio.channels)
        if echoed:
            work.notes.append(f"decode: silenced another channel's echo in {echoed:.0%} of the session")
        work.audio = audio


def open_in_memory(data: bytes, *, channel: int | None = None, start: float | None = None) -> AudioSource:
    """A recording already held in memory, as an AudioSource (for tests and small uploads)."""
    return AudioSource(io.BytesIO(data), channel=channel, start=start)


register_stage("decode", lambda options: DecodeStage(max_seconds=options.max_seconds))
