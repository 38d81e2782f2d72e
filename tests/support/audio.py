"""Recordings made in memory for tests: a tone under light noise, encoded with PyAV."""

from __future__ import annotations

import array
import functools
import io
import math
import random
from fractions import Fraction
from typing import Any

import av
import pytest

RATE = 48_000


@functools.cache
def one_second(channels: int) -> bytes:
    """Interleaved s16 samples: a tone per channel (a whole number of cycles) under light noise."""
    noise = random.Random(7)
    samples = array.array("h")
    for i in range(RATE):
        for channel in range(channels):
            tone = 0.3 * math.sin(2 * math.pi * 440 * (channel + 1) * i / RATE)
            samples.append(int(32767 * (tone + 0.05 * (noise.random() * 2 - 1))))
    return samples.tobytes()


class WriteOnly(io.RawIOBase):
    """An output that cannot seek back, as a live recorder's is: headers keep their sizes open."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: Any) -> int:
        self.data += chunk
        return len(chunk)


def encode(
    muxer: str,
    codec: str,
    *,
    seconds: float,
    channels: int,
    muxer_options: dict[str, str] | None = None,
    codec_options: dict[str, str] | None = None,
    bit_rate: int | None = None,
    live: bool = False,
) -> bytes:
    if not has_encoder(codec):
        pytest.skip(f"PyAV's FFmpeg has no {codec} encoder")
    target: io.BytesIO | WriteOnly = WriteOnly() if live else io.BytesIO()
    with av.open(target, mode="w", format=muxer, options=muxer_options or {}) as output:
        stream = output.add_stream(codec, rate=RATE)
        stream.layout = "mono" if channels == 1 else "stereo"
        if codec_options:
            stream.codec_context.options = codec_options
        if bit_rate:
            stream.bit_rate = bit_rate
        looped, step = one_second(channels) * 2, 1024
        total = int(seconds * RATE)
        for start in range(0, total, step):
            count = min(step, total - start)
            offset = (start % RATE) * 2 * channels
            frame = av.AudioFrame(format="s16", layout=stream.layout.name, samples=count)
            frame.planes[0].update(looped[offset : offset + count * 2 * channels])
            frame.sample_rate, frame.pts, frame.time_base = RATE, start, Fraction(1, RATE)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return bytes(target.data) if isinstance(target, WriteOnly) else target.getvalue()


@functools.cache
def has_encoder(codec: str) -> bool:
    try:
        av.codec.Codec(codec, "w")
    except ValueError:  # UnknownCodecError
        return False
    return True


FORMATS = {
    "wav": ("wav", "pcm_s16le"),
    "flac": ("flac", "flac"),
    "mp3": ("mp3", "libmp3lame"),
    "m4a": ("ipod", "aac"),
    "ogg": ("ogg", "libopus"),
    "webm": ("webm", "libopus"),
}


def recording(fmt: str, *, seconds: float = 3.0, channels: int = 1) -> bytes:
    """A recording in one of the formats Sotto accepts."""
    muxer, codec = FORMATS[fmt]
    return encode(muxer, codec, seconds=seconds, channels=channels)


def unique_wav(seconds: float = 3.0, rate: int = 16000) -> bytes:
    """A valid mono WAV of random samples: bytes no other test or file can contain by chance."""
    import os
    import struct

    data = os.urandom(int(seconds * rate) * 2)
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(data),
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        rate,
        rate * 2,
        2,
        16,
        b"data",
        len(data),
    )
    return header + data


# --- recordings joined end to end -----------------------------------------------------------


def tagged_mp3(seconds: float, channels: int, *, id3v1: bool = False) -> bytes:
    """An MP3 as most encoders write it: an ID3v2 tag, an Info header, frames (and an ID3v1 tag)."""
    return encode(
        "mp3", "libmp3lame", seconds=seconds, channels=channels, muxer_options={"write_id3v1": "1"} if id3v1 else None
    )


def with_cover_art(mp3: bytes, picture: bytes) -> bytes:
    """The same MP3 under a large ID3v2.3 tag holding `picture`, as a tag with a cover photo does."""
    import struct

    tag_size = 10 + (mp3[6] << 21 | mp3[7] << 14 | mp3[8] << 7 | mp3[9]) if mp3[:3] == b"ID3" else 0
    body = b"\x00image/jpeg\x00\x03\x00" + picture
    frame = b"APIC" + struct.pack(">I", len(body)) + b"\x00\x00" + body
    size = bytes((len(frame) >> shift) & 0x7F for shift in (21, 14, 7, 0))  # "syncsafe": 7 bits a byte
    return b"ID3\x03\x00\x00" + size + frame + mp3[tag_size:]


def ogg(codec: str, seconds: float, channels: int) -> bytes:
    """One Ogg stream of Opus or Vorbis (FFmpeg's own Vorbis encoder: experimental, stereo only)."""
    options = {"strict": "experimental"} if codec == "vorbis" else None
    return encode(
        "ogg", "libopus" if codec == "opus" else codec, seconds=seconds, channels=channels, codec_options=options
    )
