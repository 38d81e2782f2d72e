"""Uploaded recordings are judged by their bytes: format, length, and whether they are whole.

Every recording here is synthesised and encoded in memory with PyAV; no audio is committed.
"""

from __future__ import annotations

import array
import functools
import io
import math
import os
import random
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest
from PIL import Image

from sotto.recording.audio import AudioProblem, probe_audio, sniff_format
from support.audio import RATE, encode, has_encoder

# --- making recordings --------------------------------------------------------------------


def _moov_first(mp4: bytes) -> bytes:
    """The same M4A with its index moved before the sound ("fast start"), as phones write it."""
    boxes, offset = [], 0
    while offset < len(mp4):
        (size,) = struct.unpack(">I", mp4[offset : offset + 4])
        boxes.append(mp4[offset : offset + size])
        offset += size
    moov = bytearray(next(box for box in boxes if box[4:8] == b"moov"))
    table = moov.find(b"stco")  # chunk offsets into the file: they move by the moov's size
    (count,) = struct.unpack(">I", moov[table + 8 : table + 12])
    for at in range(table + 12, table + 12 + 4 * count, 4):
        moov[at : at + 4] = struct.pack(">I", struct.unpack(">I", moov[at : at + 4])[0] + len(moov))
    rest = [box for box in boxes if box[4:8] != b"moov"]
    mdat = next(i for i, box in enumerate(rest) if box[4:8] == b"mdat")
    return b"".join([*rest[:mdat], bytes(moov), *rest[mdat:]])


_CLUSTER = b"\x1f\x43\xb6\x75"


def _with_open_cluster_sizes(webm: bytes) -> bytes:
    """The same live WebM with every Cluster's size left open too, as Chrome's MediaRecorder writes it."""

    def element(at: int) -> tuple[int, int]:  # (where its data starts, its size)
        id_length = 9 - webm[at].bit_length()
        size_length = 9 - webm[at + id_length].bit_length()
        size = int.from_bytes(webm[at + id_length : at + id_length + size_length], "big")
        return at + id_length + size_length, size & ((1 << (7 * size_length)) - 1)

    data_at, size = element(0)  # the EBML header
    segment_data_at, _ = element(data_at + size)  # the Segment, already of open size
    out, at = bytearray(webm[:segment_data_at]), segment_data_at
    while at < len(webm):
        data_at, size = element(at)
        if webm[at : at + 4] == _CLUSTER:
            out += _CLUSTER + b"\x01\xff\xff\xff\xff\xff\xff\xff" + webm[data_at : data_at + size]
        else:
            out += webm[at : data_at + size]
        at = data_at + size
    return bytes(out)


@dataclass(frozen=True)
class Variant:
    name: str
    format: str  # what sniff_format must say
    channels: int
    make: Callable[[float], bytes] = field(repr=False)


def _maker(muxer: str, codec: str, channels: int, **options: Any) -> Callable[[float], bytes]:
    return lambda seconds: encode(muxer, codec, seconds=seconds, channels=channels, **options)


def _variants() -> list[Variant]:
    found = []
    for channels, tag in ((1, "mono"), (2, "stereo")):
        found += [
            Variant(f"wav-{tag}", "wav", channels, _maker("wav", "pcm_s16le", channels)),
            Variant(f"flac-{tag}", "flac", channels, _maker("flac", "flac", channels)),
            Variant(f"mp3-{tag}", "mp3", channels, _maker("mp3", "libmp3lame", channels)),
            Variant(f"m4a-{tag}", "m4a", channels, _maker("ipod", "aac", channels)),
            Variant(f"ogg-opus-{tag}", "ogg", channels, _maker("ogg", "libopus", channels)),
            Variant(f"webm-opus-{tag}", "webm", channels, _maker("webm", "libopus", channels)),
        ]
    m4a, live_webm = _maker("ipod", "aac", 1), _maker("webm", "libopus", 1, live=True)
    found += [
        # FFmpeg's own Vorbis encoder is experimental and stereo only (the wheel has no libvorbis).
        Variant("ogg-vorbis-stereo", "ogg", 2, _maker("ogg", "vorbis", 2, codec_options={"strict": "experimental"})),
        Variant(
            "mp3-without-xing-header",
            "mp3",
            1,
            _maker("mp3", "libmp3lame", 1, muxer_options={"write_xing": "0"}),
        ),
        Variant("m4a-moov-first", "m4a", 1, lambda seconds: _moov_first(m4a(seconds))),
        Variant(
            "m4a-fragmented", "m4a", 1, _maker("ipod", "aac", 1, muxer_options={"movflags": "frag_keyframe+empty_moov"})
        ),
        Variant("webm-live", "webm", 1, live_webm),
        Variant("webm-live-open-clusters", "webm", 1, lambda seconds: _with_open_cluster_sizes(live_webm(seconds))),
    ]
    return found


VARIANTS = _variants()
by_name = pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])


@functools.cache
def _recording(variant: Variant, seconds: float = 3.0) -> bytes:
    return variant.make(seconds)


class ChunkyReader(io.RawIOBase):
    """A seekable reader that hands out at most a few hundred bytes at a time and logs each read,
    like the decrypting reader over encrypted chunks does in production."""

    def __init__(self, data: bytes, most: int = 777) -> None:
        self._data, self._most, self._pos = data, most, 0
        self.reads: list[tuple[int, int]] = []

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._data)}[whence]
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        chunk = self._data[self._pos : self._pos + min(len(view), self._most)]
        view[: len(chunk)] = chunk
        self.reads.append((self._pos, self._pos + len(chunk)))
        self._pos += len(chunk)
        return len(chunk)


def _problem(data: bytes, *, max_seconds: float = 3600) -> AudioProblem:
    with pytest.raises(AudioProblem) as raised:
        probe_audio(io.BytesIO(data), max_seconds=max_seconds)
    return raised.value


# --- accepted recordings ----------------------------------------------------------------------


@by_name
def test_each_accepted_format_is_sniffed_and_measured_from_its_decoded_sound(variant: Variant) -> None:
    data = _recording(variant)

    assert sniff_format(data[:4096]) == variant.format
    info = probe_audio(ChunkyReader(data), max_seconds=3600)

    assert info.format == variant.format
    assert info.duration_seconds == pytest.approx(3.0, abs=0.1)
    assert info.channels == variant.channels
    assert info.sample_rate == RATE
    assert info.codec in {"pcm_s16le", "flac", "mp3", "aac", "opus", "vorbis"}


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "wav"),
        (b"fLaC\x00\x00\x00\x22", "flac"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3"),
        (b"\x00\x00\x00\x1cftypM4A \x00\x00\x02\x00M4A isom", "m4a"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "m4a"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", None),  # an iPhone photo
        (b"OggS\x00\x02", "ogg"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", "webm"),
        (b"\x1a\x45\xdf\xa3", "webm"),  # DocType not in the head yet
        (b"\xff\xfb\x90\x44" + bytes(413) + b"\xff\xfb\x90\x44", "mp3"),  # two MPEG-1 layer III frames
        (b"\xff\xfb\x90\x44" + bytes(413) + b"\x00\x00\x00\x00", None),  # one "frame" is chance
        (b"\xff\xf1\x50\x80", None),  # ADTS AAC: the same sync, but layer bits say it is not MPEG audio
        (b"\xff\xd8\xff\xe0", None),  # JPEG
        (b"", None),
    ],
)
def test_sniff_reads_magic_numbers_only(head: bytes, expected: str | None) -> None:
    assert sniff_format(head) == expected


# --- refused recordings -----------------------------------------------------------------------


def test_empty_file_is_refused_as_empty() -> None:
    problem = _problem(b"")
    assert (problem.kind, str(problem)) == ("empty", "The file is empty.")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(out, format="PNG")
    return out.getvalue()


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(out, format="JPEG")
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "session notes")
    return out.getvalue()


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 40, "PDF document"),
        (_png, "PNG image"),
        (_jpeg, "JPEG photo"),
        (_zip, "ZIP archive"),
        # What a renamed "session.wav" that is really notes holds: only the bytes count.
        (lambda: b"Session notes, 12 March.\nClient arrived on time.\n" * 50, "text file"),
        (lambda: b"<!DOCTYPE html><html><body>Upload</body></html>", "web page"),
        (lambda: random.Random(3).randbytes(50_000), None),
    ],
    ids=["pdf", "png", "jpeg", "zip", "text", "html", "random-bytes"],
)
def test_files_that_are_not_audio_are_named_when_recognisable(make: Callable[[], bytes], named: str | None) -> None:
    problem = _problem(make())

    assert problem.kind == "not_audio"
    assert str(problem).startswith("This file is not a recording Sotto can read")
    if named:
        assert f"it looks like a {named}" in str(problem) or f"it looks like an {named}" in str(problem)


@pytest.mark.parametrize(("muxer", "codec"), [("aiff", "pcm_s16be"), ("adts", "aac")])
def test_other_sound_formats_are_refused_as_unsupported_and_named(muxer: str, codec: str) -> None:
    data = encode(muxer, codec, seconds=1.0, channels=1)

    problem = _problem(data)

    assert problem.kind == "unsupported"
    assert "is not one Sotto accepts" in str(problem)
    assert "WAV, FLAC, MP3, M4A, Ogg or WebM" in str(problem)


@by_name
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_cut_off_recording_is_refused_as_truncated(variant: Variant, keep: float) -> None:
    data = _recording(variant)

    problem = _problem(data[: int(len(data) * keep)])

    assert problem.kind == "truncated"
    assert "cut off" in str(problem)


# WAV holds no checksums (damaged samples are noise, not errors), and a live WebM declares no
# length, so the demuxer's skip to the next cluster goes unnoticed. Everything else is caught.
UNCHECKABLE_DAMAGE = {"wav-mono", "wav-stereo", "webm-live", "webm-live-open-clusters"}


@by_name
def test_recording_damaged_in_the_middle_is_refused_as_truncated(variant: Variant) -> None:
    data = bytearray(_recording(variant))
    middle = len(data) // 2
    data[middle : middle + 2000] = bytes(2000)  # a hole, as a faulty disk or transfer leaves

    if variant.name in UNCHECKABLE_DAMAGE:
        assert probe_audio(io.BytesIO(bytes(data)), max_seconds=3600).duration_seconds > 2
        return
    problem = _problem(bytes(data))

    assert problem.kind == "truncated"
    assert "damaged" in str(problem)


def test_shortfall_message_says_how_much_of_the_recording_can_be_played() -> None:
    data = bytearray(_recording(next(v for v in VARIANTS if v.name == "ogg-opus-mono")))
    middle = len(data) // 2
    data[middle : middle + 2000] = bytes(2000)

    assert str(_problem(bytes(data))) == (
        "The recording is cut off or damaged: only 2 s of its 3 s can be played (was the upload interrupted?)."
    )


def test_headerless_mp3_cut_exactly_between_frames_is_a_shorter_recording() -> None:
    # Documented limit: with no Xing/Info header nothing says how long the file should be.
    variant = next(v for v in VARIANTS if v.name == "mp3-without-xing-header")
    data = _recording(variant)
    with av.open(io.BytesIO(data)) as container:
        frame_starts = [p.pos for p in container.demux(container.streams.audio[0]) if p.size]
    cut = frame_starts[len(frame_starts) // 2]

    info = probe_audio(io.BytesIO(data[:cut]), max_seconds=3600)

    assert info.duration_seconds == pytest.approx(1.5, abs=0.1)


@pytest.mark.parametrize(
    ("name", "refused"),
    [("webm-live", True), ("webm-live-open-clusters", False)],
    ids=["known-clusters", "open-clusters"],
)
def test_live_webm_cut_exactly_between_two_blocks(name: str, refused: bool) -> None:
    # A Cluster of known size (as Firefox and FFmpeg write them) still shows the cut. With
    # open sizes too (Chrome), nothing can: the recording is whole, only shorter (a documented limit).
    data = _recording(next(v for v in VARIANTS if v.name == name))
    with av.open(io.BytesIO(data)) as container:
        blocks = [(p.pos, p.size) for p in container.demux(container.streams.audio[0]) if p.size]
    data_at, size = blocks[len(blocks) // 2]
    cut = data_at + 4 + size  # track number (1 byte), timecode (2) and flags (1), then the frame
    assert data[cut] == 0xA3  # the next SimpleBlock starts right there

    if refused:
        assert _problem(data[:cut]).kind == "truncated"
    else:
        assert probe_audio(io.BytesIO(data[:cut]), max_seconds=3600).duration_seconds == pytest.approx(1.5, abs=0.1)


def _mp3_at(rate: int, seconds: float) -> bytes:
    """A mono MP3 tone sampled at `rate` (8 kHz telephone, 16 kHz dictation), with its Info header."""
    if not has_encoder("libmp3lame"):
        pytest.skip("PyAV's FFmpeg has no libmp3lame encoder")
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate)
        stream.layout = "mono"
        total = int(seconds * rate)
        for start in range(0, total, 1024):
            count = min(1024, total - start)
            tone = array.array(
                "h", (int(9000 * math.sin(2 * math.pi * 300 * (start + i) / rate)) for i in range(count))
            )
            frame = av.AudioFrame(format="s16", layout="mono", samples=count)
            frame.planes[0].update(tone.tobytes())
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


@pytest.mark.parametrize("rate", [8000, 11025, 12000, 16000, 22050])
def test_mp3_at_a_low_sample_rate_is_accepted_whole(rate: int) -> None:
    # The encoder's delay and padding are a larger share of a second at these rates; the
    # header's LAME tag says how many samples they are, and the decoder drops them.
    info = probe_audio(io.BytesIO(_mp3_at(rate, 10.7)), max_seconds=3600)
    assert info.duration_seconds == pytest.approx(10.7, abs=0.05)


def test_mp3_at_a_low_sample_rate_cut_off_is_still_refused() -> None:
    data = _mp3_at(8000, 10.0)
    assert _problem(data[: int(len(data) * 0.95)]).kind == "truncated"


def test_wav_whose_header_promises_more_than_it_holds_is_truncated_even_on_a_sample_boundary() -> None:
    data = _recording(VARIANTS[0])  # wav-mono: 2 bytes a sample
    problem = _problem(data[: len(data) - 2 * 4800])  # the last 0.1 s, cleanly
    assert problem.kind == "truncated"


def test_wav_with_no_samples_is_refused_as_empty() -> None:
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI", b"RIFF", 36, b"WAVE", b"fmt ", 16, 1, 1, RATE, RATE * 2, 2, 16, b"data", 0
    )
    problem = _problem(header)
    assert (problem.kind, str(problem)) == ("empty", "The recording is empty: it contains no sound.")


def _tiny_video(muxer: str, codec: str) -> bytes:
    if not has_encoder(codec):
        pytest.skip(f"PyAV's FFmpeg has no {codec} encoder")
    out = io.BytesIO()
    with av.open(out, mode="w", format=muxer) as container:
        stream = container.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for index in range(5):
            frame = av.VideoFrame(64, 64, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([40 * index % 256]) * plane.buffer_size)
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


@pytest.mark.parametrize(("muxer", "codec", "sniffed"), [("webm", "libvpx", "webm"), ("mp4", "mpeg4", "m4a")])
def test_video_without_sound_is_refused_as_having_no_audio_stream(muxer: str, codec: str, sniffed: str) -> None:
    data = _tiny_video(muxer, codec)
    assert sniff_format(data[:4096]) == sniffed

    problem = _problem(data)

    assert problem.kind == "no_audio_stream"
    assert "no sound" in str(problem)


def _unknown_codec(data: bytes, name: str) -> bytes:
    if name == "webm-opus-mono":  # Matroska's CodecID
        assert data.count(b"A_OPUS") == 1
        return data.replace(b"A_OPUS", b"A_ZZZZ")
    at = data.index(b"fmt ") + 8  # WAV's format tag: 1 is PCM
    return data[:at] + struct.pack("<H", 0x1234) + data[at + 2 :]


@pytest.mark.parametrize("name", ["webm-opus-mono", "wav-mono"])
def test_sound_in_a_codec_sotto_cannot_decode_is_refused_as_unsupported(name: str) -> None:
    # A whole, undamaged file whose container is accepted but whose sound is in a codec FFmpeg
    # does not know: saying "damaged" would send the therapist to upload it again, in vain.
    data = _unknown_codec(_recording(next(v for v in VARIANTS if v.name == name)), name)
    problem = _problem(data)
    assert problem.kind == "unsupported"
    assert "damaged" not in str(problem) and "WAV, FLAC, MP3, M4A, Ogg or WebM" in str(problem)


def test_file_over_the_size_limit_is_refused_before_it_is_read() -> None:
    data = _recording(VARIANTS[0])
    with pytest.raises(AudioProblem) as raised:
        probe_audio(io.BytesIO(data), max_seconds=3600, max_bytes=100_000)
    assert raised.value.kind == "too_large"
    assert str(raised.value) == "The file is 0.3 MB; the limit is 0.1 MB."


def test_unseekable_source_is_a_programming_error() -> None:
    class Stream(io.RawIOBase):
        def readable(self) -> bool:
            return True

    with pytest.raises(TypeError):
        probe_audio(Stream(), max_seconds=10)


# --- too long -----------------------------------------------------------------------------------

LONG: dict[str, dict[str, Any]] = {  # high bit rates, so that where reading stopped shows clearly in the bytes
    "wav-mono": {},
    "flac-mono": {},
    "mp3-mono": {},
    "m4a-mono": {},
    "ogg-opus-stereo": {"bit_rate": 256_000},
    "ogg-vorbis-stereo": {},
    "webm-opus-stereo": {"bit_rate": 256_000},
    "webm-live": {"bit_rate": 256_000},
}


@pytest.mark.parametrize("name", list(LONG))
def test_recording_over_the_length_limit_is_refused_without_decoding_it_all(name: str) -> None:
    data = _long_recording(name)
    early, full = ChunkyReader(data, most=64 * 1024), ChunkyReader(data, most=64 * 1024)

    with pytest.raises(AudioProblem) as raised:
        probe_audio(early, max_seconds=10)
    assert probe_audio(full, max_seconds=60).duration_seconds == pytest.approx(20, abs=0.1)

    assert raised.value.kind == "too_long"
    assert str(raised.value).endswith("the limit of 10 s.") or str(raised.value).endswith("the limit is 10 s.")
    # Decoding stopped near the 10-second mark: nothing between 60% and 75% of the file was
    # read (the head and the end may be: that is where containers declare their lengths).
    untouched = (int(len(data) * 0.60), int(len(data) * 0.75))
    assert not [(start, end) for start, end in early.reads if start < untouched[1] and end > untouched[0]]
    assert sum(end - start for start, end in early.reads) < 0.8 * sum(end - start for start, end in full.reads)


@functools.cache
def _long_recording(name: str) -> bytes:
    variant = next(v for v in VARIANTS if v.name == name)
    if not LONG[name]:
        return variant.make(20.0)
    return encode(
        "webm" if "webm" in name else "ogg",
        "libopus",
        seconds=20.0,
        channels=variant.channels,
        live=name == "webm-live",
        **LONG[name],
    )


def test_too_long_message_gives_the_length_when_the_file_declares_it() -> None:
    problem = _problem(_long_recording("wav-mono"), max_seconds=10)
    assert str(problem) == "The recording is 20 s long; the limit is 10 s."


# --- nothing on disk ----------------------------------------------------------------------------


def test_probing_writes_no_file_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _private_temp_dir: Path
) -> None:
    # Every test already has its own empty temp directory (tests/support/app.py).
    temp_dir, work_dir = _private_temp_dir, tmp_path / "cwd"
    work_dir.mkdir()
    monkeypatch.chdir(work_dir)

    for variant in VARIANTS:
        data = _recording(variant)
        probe_audio(ChunkyReader(data), max_seconds=3600)
        with pytest.raises(AudioProblem):
            probe_audio(io.BytesIO(data[: len(data) // 2]), max_seconds=3600)

    assert os.listdir(temp_dir) == []
    assert os.listdir(work_dir) == []
