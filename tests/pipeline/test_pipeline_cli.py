"""`sotto process`: the transcript on standard output, a plain answer for every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from spoken_session import wav_bytes
from typer.testing import CliRunner

from sotto.cli import app
from sotto.pipeline.transcribe import bundled_model_dir
from support.audio import encode, recording

runner = CliRunner()


def process(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["process", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.slow
def test_process_prints_the_json_transcript_with_timings(shared_audio: Path) -> None:
    code, out, err = process(str(shared_audio / "jfk.flac"), "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["duration"] == pytest.approx(11.0, abs=0.1)
    assert answer["segments"] and set(answer["segments"][0]) == {"start", "end", "speaker", "text"}
    assert "ask not what your country can do for you" in " ".join(s["text"] for s in answer["segments"]).lower()
    assert {s["speaker"] for s in answer["segments"]} <= {"therapist", "client"}
    assert set(answer["removed"]) == {"phi", "topic"}
    assert set(answer["timings"]) >= {"check", "decode", "transcribe", "speakers", "redact"}


@pytest.mark.slow
def test_process_prints_text_lines_by_default(shared_audio: Path) -> None:
    code, out, _ = process(str(shared_audio / "stereo_diarization.wav"))
    assert code == 0
    lines = out.strip().splitlines()
    assert any(line.startswith("[00:00:0") and "therapist: " in line and "wizard" in line for line in lines)
    assert any("client: " in line and "horizon" in line.lower() for line in lines)


def test_a_file_that_is_not_audio_is_refused(tmp_path: Path) -> None:
    notes = tmp_path / "notes.mp3"
    notes.write_text("Session notes, not a recording.\n" * 20)
    code, out, err = process(str(notes))
    assert code == 1 and out == ""
    assert "sotto: " in err and "not a recording" in err


def test_a_damaged_recording_is_refused(tmp_path: Path) -> None:
    data = bytearray(recording("flac", seconds=4.0))
    for at in range(len(data) // 2, len(data) // 2 + 400):
        data[at] ^= 0x5A  # scrambled frames: the checksums fail
    path = tmp_path / "damaged.flac"
    path.write_bytes(bytes(data))
    code, _, err = process(str(path))
    assert code == 1
    assert "damaged" in err or "cut off" in err


def test_a_cut_off_recording_is_refused(tmp_path: Path) -> None:
    data = recording("wav", seconds=4.0)
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: len(data) * 2 // 3])
    code, _, err = process(str(path))
    assert code == 1 and "cut off" in err


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.webm"
    path.write_bytes(b"")
    code, _, err = process(str(path))
    assert code == 1 and "empty" in err


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = process(str(tmp_path / "nowhere.wav"))
    assert code == 2 and "cannot read" in err


def test_a_recording_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.flac"
    path.write_bytes(recording("flac", seconds=40.0))
    code, _, err = process(str(path), "--max-hours", "0.01")  # 36 s
    assert code == 1 and "limit" in err


def test_a_limit_too_large_to_count_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "one.wav"
    path.write_bytes(wav_bytes([np.zeros(16_000, dtype=np.float32)], 16_000))
    for limit in ("inf", "1e308"):
        code, out, err = process(str(path), "--max-hours", limit)
        assert code == 2 and out == "" and "--max-hours" in err


def test_a_recording_given_through_a_pipe_is_read_from_memory() -> None:
    import subprocess
    import sys

    # As in `sotto process <(gpg -d session.wav.gpg)`: the decrypted recording never touches the disk.
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "sotto"), "process", "/dev/stdin", "--json"],
        input=wav_bytes([np.zeros(16_000 * 2, dtype=np.float32)], 16_000),
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert b"Traceback" not in proc.stderr
    assert proc.returncode == 3 and b"no speech" in proc.stderr
    assert json.loads(proc.stdout)["duration"] == pytest.approx(2.0)


def test_a_silent_recording_says_no_speech_and_prints_an_empty_transcript(tmp_path: Path) -> None:
    path = tmp_path / "silent.wav"
    path.write_bytes(wav_bytes([np.zeros(16_000 * 20, dtype=np.float32)], 16_000))
    code, out, err = process(str(path), "--json")
    assert code == 3 and "no speech" in err
    assert json.loads(out)["segments"] == []


def test_a_model_directory_without_a_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "one.wav"
    path.write_bytes(wav_bytes([np.zeros(16_000, dtype=np.float32)], 16_000))
    code, _, err = process(str(path), "--model-dir", str(tmp_path))
    assert code == 1 and "model.bin" in err


def test_a_damaged_model_is_refused_plainly(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_bytes((bundled_model_dir() / "config.json").read_bytes())
    (model / "model.bin").write_bytes(b"not a model, cut short by a failed copy")
    path = tmp_path / "one.wav"
    path.write_bytes(wav_bytes([np.zeros(16_000, dtype=np.float32)], 16_000))
    code, _, err = process(str(path), "--model-dir", str(model))
    assert code == 1 and "cannot be loaded" in err and "Traceback" not in err


@pytest.mark.slow
def test_an_hour_long_recording_is_processed_to_the_end(tmp_path: Path) -> None:
    # An hour of a quiet room: decoded, filtered and answered, in well under a minute.
    noise = (0.002 * np.random.default_rng(3).standard_normal(16_000 * 3600)).astype(np.float32)
    path = tmp_path / "hour.wav"
    path.write_bytes(wav_bytes([noise], 16_000))
    del noise
    code, out, err = process(str(path), "--json")
    assert code == 3 and "no speech" in err
    assert json.loads(out)["duration"] == pytest.approx(3600.0)


def test_a_therapist_voice_sample_that_is_not_audio_is_a_usage_error(tmp_path: Path) -> None:
    sample = tmp_path / "voice.wav"
    sample.write_text("not a voice")
    path = tmp_path / "one.wav"
    path.write_bytes(wav_bytes([np.zeros(16_000, dtype=np.float32)], 16_000))
    code, _, err = process(str(path), "--therapist-voice", str(sample))
    assert code == 2 and "voice.wav" in err


def test_without_the_privacy_engine_nothing_is_transcribed(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    path = tmp_path / "session.flac"
    path.write_bytes(recording("flac", seconds=2.0))
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "sotto"), "process", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "SOTTO_SENTENCE_MODEL_DIR": str(tmp_path / "no-model")},
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "the privacy engine cannot load" in proc.stderr and "nothing was transcribed" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_the_transcript_is_printed_in_utf8_whatever_the_locale(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from spoken_session import speak

    # Whisper writes a sum of pounds with the pound sign, which a Latin-1 terminal spells as one byte.
    path = tmp_path / "pounds.wav"
    path.write_bytes(wav_bytes([speak("She paid ten pounds fifty.", "en-gb+m1")]))
    outputs = []
    for extra in ([], ["--json"]):
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "sotto"), "process", str(path), *extra],
            capture_output=True,
            env={**os.environ, "PYTHONIOENCODING": "latin-1"},
            timeout=300,
            check=False,
        )
        assert b"Traceback" not in proc.stderr
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout.decode("utf-8"))
    text, as_json = outputs
    assert "therapist: " in text and "£" in text
    assert "£" in " ".join(s["text"] for s in json.loads(as_json)["segments"])


def test_a_recording_whose_channels_change_midway_is_processed_not_a_traceback(tmp_path: Path) -> None:
    plain = {"write_xing": "0", "id3v2_version": "0"}
    path = tmp_path / "joined.mp3"  # `cat first.mp3 second.mp3`: mono, then stereo
    path.write_bytes(
        b"".join(encode("mp3", "libmp3lame", seconds=2.0, channels=c, muxer_options=plain) for c in (1, 2))
    )
    code, out, err = process(str(path), "--json")
    assert code in (0, 3), err
    assert json.loads(out)["duration"] == pytest.approx(4.0, abs=0.1)


@pytest.mark.slow
def test_a_float_recording_with_a_few_damaged_samples_is_still_transcribed(tmp_path: Path) -> None:
    import struct

    from spoken_session import RATE, speak

    speech = speak("I have been sleeping badly since the spring.", "en-us+m3")
    speech[RATE : RATE + 200] = np.nan  # samples that are not numbers: nothing in a float WAV can tell
    data = speech.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, RATE, RATE * 4, 4, 32)
    path = tmp_path / "float.wav"
    path.write_bytes(
        b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<I", 16) + fmt
        + b"data" + struct.pack("<I", len(data)) + data
    )  # fmt: skip
    code, out, err = process(str(path), "--json")
    assert code == 0, err
    assert "sleeping" in " ".join(s["text"] for s in json.loads(out)["segments"])
