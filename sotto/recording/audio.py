"""What an uploaded recording is, judged by its content: its format, its length, and whether it is whole.

Everything is read from a seekable file object (in production a decrypting reader over
encrypted chunks) and decoded in memory: nothing here writes audio, or anything else, to disk.

The format is sniffed, and the file checked against what its own headers declare, by
`sotto.recording.audio_formats` (its description says what each check catches and what it
cannot); then the whole recording is decoded here, and the sound decoded must reach the
length declared. Any error while decoding counts as "truncated" too: damaged and cut off
look alike to a decoder. A file of several whole recordings joined end to end (a chained
Ogg, MP3s each with its own ID3 tag: `sotto.recording.audio_parts`) is checked part by part.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import BinaryIO, Literal

import av
import av.container

from sotto.recording.audio_formats import (
    ACCEPTED,
    HEAD_BYTES,
    SNIFF_BYTES,
    CutOff,
    check_live_matroska_end,
    check_structure,
    may_begin_audio,
    mpeg_frame,
    read_up_to,
    sniff_format,
)
from sotto.recording.audio_parts import recording_parts
from sotto.recording.not_audio import describe_non_audio

__all__ = [
    "ACCEPTED",
    "HEAD_BYTES",
    "SNIFF_BYTES",
    "UNKNOWN_CODEC",
    "AudioInfo",
    "AudioProblem",
    "CutOff",
    "ProblemKind",
    "may_begin_audio",
    "probe_audio",
    "recording_parts",
    "sniff_format",
]

ProblemKind = Literal["empty", "not_audio", "unsupported", "truncated", "too_long", "no_audio_stream", "too_large"]

# PyAV's demuxer for each sniffed format: the sniff decides, FFmpeg does not guess again.
_DEMUXERS = {"wav": "wav", "flac": "flac", "mp3": "mp3", "m4a": "mp4", "ogg": "ogg", "webm": "matroska"}

# How far the decoded sound may fall short of the declared length before it counts as cut
# off or damaged. Lossy decoders trim encoder delay and padding (up to ~50 ms); lossless ones
# must match to the sample, so there one lost frame (~0.1 s of FLAC) is caught.
_SHORTFALL_SECONDS = {"wav": 0.01, "flac": 0.01}
_LOSSY_SHORTFALL_SECONDS = 0.1

UNKNOWN_CODEC = (
    f"This recording's sound is encoded in a way Sotto cannot read. Please save or export it again as {ACCEPTED}."
)
_CUT_OFF = "The recording is cut off: it ends in the middle (was the upload interrupted?)."
_DAMAGED = "The recording is damaged or cut off: part of it cannot be read (was the upload interrupted?)."


@dataclass(frozen=True)
class AudioInfo:
    format: str  # as sniffed: "wav", "flac", "mp3", "m4a", "ogg" or "webm"
    codec: str  # FFmpeg's codec name, e.g. "pcm_s16le", "aac", "opus"
    duration_seconds: float  # measured from decoded samples
    channels: int
    sample_rate: int


class AudioProblem(ValueError):
    """An upload that Sotto refuses, with a message written for the therapist who sent it."""

    def __init__(self, kind: ProblemKind, message: str) -> None:
        super().__init__(message)
        self.kind: ProblemKind = kind
        self.message = message


def probe_audio(source: BinaryIO, *, max_seconds: float, max_bytes: int | None = None) -> AudioInfo:
    """Decode the whole recording from `source` and describe it, or raise AudioProblem saying why not.

    `source` must be readable and seekable; where it is left positioned is unspecified.
    Decoding stops as soon as the recording proves longer than `max_seconds`.
    """
    if not source.seekable():
        raise TypeError("probe_audio needs a seekable file object")
    size = source.seek(0, io.SEEK_END)
    if size == 0:
        raise AudioProblem("empty", "The file is empty.")
    if max_bytes is not None and size > max_bytes:
        raise AudioProblem("too_large", f"The file is {_format_bytes(size)}; the limit is {_format_bytes(max_bytes)}.")
    source.seek(0)
    head = read_up_to(source, HEAD_BYTES)
    kind = sniff_format(head)
    if kind is None:
        raise _unrecognised(source, head)

    # First as one recording: one far over the limit is refused before anything reads it through.
    refused: AudioProblem | None = None
    try:
        decoded, codec = _probe_part(kind, source, before=0.0, max_seconds=max_seconds)
    except AudioProblem as problem:
        if problem.kind != "truncated":
            raise  # too long, or sound FFmpeg cannot decode: as true of a first part as of the whole
        refused = problem
    # FFmpeg fails at a second part's headers, or may read on past damage to them, so several
    # recordings joined end to end (sotto.recording.audio_parts) are checked part by part.
    try:
        parts = recording_parts(kind, source, size)
    except CutOff:
        raise AudioProblem("truncated", _CUT_OFF) from None
    if len(parts) > 1:
        decoded, codec = _probe_joined(kind, parts, max_seconds=max_seconds)
    elif refused is not None:
        raise refused
    if decoded.samples == 0:
        raise AudioProblem("empty", "The recording is empty: it contains no sound.")
    return AudioInfo(
        format=kind,
        codec=codec,
        duration_seconds=decoded.seconds,
        channels=decoded.channels,
        sample_rate=decoded.sample_rate,
    )


def _probe_joined(kind: str, parts: list[BinaryIO], *, max_seconds: float) -> tuple[_Decoded, str]:
    """Each part of a joined recording checked on its own: what they decode to together, and
    the first part's codec."""
    total, codec = _Decoded(), ""
    for part in parts:
        decoded, part_codec = _probe_part(kind, part, before=total.seconds, max_seconds=max_seconds)
        total.seconds += decoded.seconds
        total.samples += decoded.samples
        total.channels, total.sample_rate = decoded.channels, decoded.sample_rate
        codec = codec or part_codec
    return total, codec


def _probe_part(kind: str, source: BinaryIO, *, before: float, max_seconds: float) -> tuple[_Decoded, str]:
    """Check one whole recording (a part of a joined one follows `before` seconds of sound):
    what it decodes to, and its codec's name."""
    size = source.seek(0, io.SEEK_END)
    source.seek(0)
    head = read_up_to(source, HEAD_BYTES)
    try:
        declared, open_ended = check_structure(kind, source, head, size)
    except CutOff:
        raise AudioProblem("truncated", _CUT_OFF) from None
    if declared is not None and before + declared > max_seconds:
        raise _too_long(before + declared, max_seconds)

    source.seek(0)
    try:
        container = av.open(source, mode="r", format=_DEMUXERS[kind], metadata_errors="replace")
    except av.FFmpegError:
        raise AudioProblem("truncated", _DAMAGED) from None
    with container:
        if not container.streams.audio:
            raise AudioProblem(
                "no_audio_stream", "This file has no sound in it (it looks like a video without an audio track)."
            )
        stream = container.streams.audio[0]
        if stream.codec_context is None:  # FFmpeg has no decoder for this sound
            raise AudioProblem("unsupported", UNKNOWN_CODEC)
        if kind in ("m4a", "ogg") and not open_ended and stream.duration and stream.time_base:
            # FFmpeg reads these exactly: mdhd's duration, or the granule position of the
            # last Ogg page (whose presence check_structure has made sure of).
            declared = float(stream.duration * stream.time_base)
            if before + declared > max_seconds:
                raise _too_long(before + declared, max_seconds)
        if kind == "flac":
            # FLAC frames carry a CRC; FFmpeg checks it only when asked, then drops a bad frame.
            stream.codec_context.options = {"err_detect": "crccheck+explode"}
        estimate = before + container.duration / 1_000_000 if container.duration else None
        decoded = _decode(container, stream, before=before, max_seconds=max_seconds, estimate=estimate)

    if declared is not None and declared - decoded.seconds > _SHORTFALL_SECONDS.get(kind, _LOSSY_SHORTFALL_SECONDS):
        raise AudioProblem(
            "truncated",
            f"The recording is cut off or damaged: only {_format_duration(before + decoded.seconds)} of its"
            f" {_format_duration(before + declared)} can be played (was the upload interrupted?).",
        )
    # Weaker evidence, used only where nothing declares the length: a partial last frame or
    # element. (A complete MP3 that merely ends in a partial frame loses under 30 ms: accepted.)
    if kind == "mp3" and declared is None and decoded.last_packet_head is not None:
        frame = mpeg_frame(decoded.last_packet_head)
        if frame is not None and decoded.last_packet_size < frame.length:
            raise AudioProblem("truncated", _CUT_OFF)
    if kind == "webm" and open_ended:
        try:
            check_live_matroska_end(source, size, head, decoded.last_packet_pos, decoded.last_packet_size)
        except CutOff:
            raise AudioProblem("truncated", _CUT_OFF) from None
    return decoded, stream.codec_context.codec.canonical_name


# --- decoding ---------------------------------------------------------------------------


@dataclass
class _Decoded:
    seconds: float = 0.0
    samples: int = 0
    channels: int = 0
    sample_rate: int = 0
    last_packet_pos: int | None = None  # where the last non-empty packet sits in the file
    last_packet_size: int = 0
    last_packet_head: bytes | None = None


def _decode(
    container: av.container.InputContainer,
    stream: av.AudioStream,
    *,
    before: float,
    max_seconds: float,
    estimate: float | None,
) -> _Decoded:
    decoded = _Decoded()
    try:
        for packet in container.demux(stream):
            if packet.size:
                decoded.last_packet_pos = packet.pos if packet.pos is not None and packet.pos >= 0 else None
                decoded.last_packet_size = packet.size
                decoded.last_packet_head = bytes(packet)[:4]
            for frame in packet.decode():
                # Frames are counted, never kept. Rate and layout come from the frames, since
                # some streams (HE-AAC) only reveal their true rate once decoded.
                decoded.samples += frame.samples
                decoded.seconds += frame.samples / frame.sample_rate
                decoded.sample_rate = frame.sample_rate
                decoded.channels = frame.layout.nb_channels
            if before + decoded.seconds > max_seconds:
                raise _too_long(estimate if estimate and estimate > max_seconds else None, max_seconds)
    except av.FFmpegError:
        raise AudioProblem("truncated", _DAMAGED) from None
    return decoded


def _too_long(seconds: float | None, max_seconds: float) -> AudioProblem:
    limit = _format_duration(max_seconds)
    if seconds is None:
        return AudioProblem("too_long", f"The recording is longer than the limit of {limit}.")
    return AudioProblem("too_long", f"The recording is {_format_duration(seconds)} long; the limit is {limit}.")


# --- what to tell the therapist -----------------------------------------------------------


def _unrecognised(source: BinaryIO, head: bytes) -> AudioProblem:
    what = describe_non_audio(head)
    if what is None:
        other = _other_audio_format(source)
        if other is not None:
            return AudioProblem(
                "unsupported", f"This recording's format ({other}) is not one Sotto accepts. Please use {ACCEPTED}."
            )
    looks_like = f" (it looks like {what})" if what else ""
    return AudioProblem("not_audio", f"This file is not a recording Sotto can read{looks_like}.")


def _other_audio_format(source: BinaryIO) -> str | None:
    """FFmpeg's name for a sound format that Sotto does not accept (AIFF, AMR, ADTS AAC…), if it is one."""
    source.seek(0)
    try:
        with av.open(source, mode="r", metadata_errors="replace") as container:
            if container.streams.audio:
                return str(container.format.long_name)
    except av.FFmpegError:
        pass
    return None


def _format_duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def _format_bytes(count: int) -> str:
    if count >= 1_000_000_000:
        return f"{count / 1_000_000_000:.1f} GB"
    return f"{max(count / 1_000_000, 0.1):.1f} MB"
