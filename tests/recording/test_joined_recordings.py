"""Recordings joined end to end, each part whole with its own headers, are accepted and measured whole.

MP3 files joined byte for byte, each beginning with its own ID3 tag (as some recorders and
"join" tools write them), and chained Ogg (`cat a.ogg b.ogg`, RFC 3533 section 4). A part
cut off, or bytes after the last part, are still refused. Everything is made in memory.
"""

from __future__ import annotations

import io
import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from sotto.recording.audio import AudioProblem, probe_audio
from support.audio import ogg, tagged_mp3, with_cover_art

_PICTURE = random.Random(11).randbytes(40_000)  # a "cover photo": bytes that hold chance MPEG frame syncs

# Each joined recording as its two parts, two seconds each.
JOINED: dict[str, Callable[[], tuple[bytes, bytes]]] = {
    "mp3-tagged": lambda: (tagged_mp3(2.0, 1), tagged_mp3(2.0, 1)),
    "mp3-tagged-mono-then-stereo": lambda: (tagged_mp3(2.0, 1), tagged_mp3(2.0, 2)),
    "mp3-id3v1-then-cover-art": lambda: (tagged_mp3(2.0, 1, id3v1=True), with_cover_art(tagged_mp3(2.0, 1), _PICTURE)),
    "ogg-opus-mono-then-stereo": lambda: (ogg("opus", 2.0, 1), ogg("opus", 2.0, 2)),
    "ogg-opus-twice": lambda: (ogg("opus", 2.0, 1), ogg("opus", 2.0, 1)),  # FFmpeg follows this chain itself
    "ogg-opus-then-vorbis": lambda: (ogg("opus", 2.0, 2), ogg("vorbis", 2.0, 2)),
    "ogg-vorbis-then-opus": lambda: (ogg("vorbis", 2.0, 2), ogg("opus", 2.0, 1)),
}


def _problem(data: bytes) -> AudioProblem:
    with pytest.raises(AudioProblem) as raised:
        probe_audio(io.BytesIO(data), max_seconds=3600)
    return raised.value


@pytest.mark.parametrize("name", JOINED)
def test_recordings_joined_end_to_end_are_accepted_whole(name: str) -> None:
    first, second = JOINED[name]()

    info = probe_audio(io.BytesIO(first + second), max_seconds=3600)

    assert info.format == name.split("-")[0]
    assert info.duration_seconds == pytest.approx(4.0, abs=0.05)


def test_three_chained_ogg_links_are_accepted_whole() -> None:
    data = ogg("opus", 2.0, 2) + ogg("opus", 2.0, 1) + ogg("opus", 2.0, 2)
    assert probe_audio(io.BytesIO(data), max_seconds=3600).duration_seconds == pytest.approx(6.0, abs=0.05)


_GARBAGE = random.Random(5).randbytes(5000)


def _with_a_hole(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(2000) + data[middle + 2000 :]  # as a faulty disk or transfer leaves


DAMAGE: dict[str, Callable[[bytes, bytes], bytes]] = {
    "second-part-cut-off": lambda first, second: first + second[: len(second) // 2],
    "hole-in-the-second-part": lambda first, second: first + _with_a_hole(second),
    "first-part-cut-off": lambda first, second: first[: len(first) * 6 // 10] + second,
    "bytes-after-the-last-part": lambda first, second: first + second + _GARBAGE,
    "bytes-after-a-single-recording": lambda first, second: first + _GARBAGE,
}


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("name", ["mp3-tagged-mono-then-stereo", "ogg-opus-mono-then-stereo", "ogg-opus-twice"])
def test_a_joined_recording_with_a_part_cut_off_or_bytes_after_it_is_refused(name: str, damage: str) -> None:
    first, second = JOINED[name]()

    problem = _problem(DAMAGE[damage](first, second))

    assert problem.kind == "truncated"
    assert "cut off" in str(problem)


def test_the_length_limit_counts_every_part() -> None:
    data = ogg("opus", 2.0, 1) + ogg("opus", 2.0, 2)
    with pytest.raises(AudioProblem) as raised:
        probe_audio(io.BytesIO(data), max_seconds=3.0)
    assert raised.value.kind == "too_long"
    assert str(raised.value) == "The recording is 4 s long; the limit is 3 s."


def test_joined_recordings_are_checked_without_writing_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _private_temp_dir: Path
) -> None:
    # Each part is read through a view of the same bytes: no part is copied out, least of all to disk.
    work_dir = tmp_path / "cwd"
    work_dir.mkdir()
    monkeypatch.chdir(work_dir)

    for make in JOINED.values():
        probe_audio(io.BytesIO(b"".join(make())), max_seconds=3600)

    assert os.listdir(_private_temp_dir) == []
    assert os.listdir(work_dir) == []
