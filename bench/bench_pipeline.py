"""The whole speech pipeline against bare faster-whisper on the same file, measured side by side.

    .venv/bin/python bench/bench_pipeline.py [--minutes 50] [--memory-minutes 60] [--rounds 1] [--skip-beam]

A two-person session is spoken by espeak-ng from the invented script in
tests/pipeline/spoken_session.py, repeated with small changes of pace and pitch until it is
long enough, mixed onto one channel (the harder case: speakers must be separated by voice)
and encoded as WebM/Opus, as the browser recorder uploads it. Then, each in its own process
with the model already loaded, and taking turns (baseline, pipeline, pipeline, baseline, ...):

* baseline: ``WhisperModel.transcribe(path)`` with the pipeline's own Whisper settings
  (same model, beam, voice filter, word timings), faster-whisper decoding the file itself;
* pipeline: ``run_pipeline`` (decode, voice filter + Whisper, speakers, and the "redact"
  stage with sotto.privacy's engine, or the pass-through stand-in where it cannot load).

Targets: pipeline / baseline at most 1.15; the session processed in under 6 minutes; peak
memory of ``sotto process`` on a file of --memory-minutes under 2 GB (each child's own peak
resident set, from wait4). Beam 1 and beam 5 are compared for word error rate and speaker
attribution on the five-minute session.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "pipeline"))

import av  # noqa: E402
import numpy as np  # noqa: E402
import spoken_session as spoken  # noqa: E402

RATIO_TARGET = 1.15
SESSION_SECONDS_TARGET = 6 * 60
MEMORY_TARGET_BYTES = 2 * 1024**3


def encode_webm(samples: np.ndarray, path: Path) -> None:
    """Mono float32 at spoken.RATE to WebM/Opus at 48 kHz, as a browser would upload it."""
    resampled = av.AudioResampler(format="s16", layout="mono", rate=48_000)
    with av.open(str(path), mode="w", format="webm") as output:
        stream = output.add_stream("libopus", rate=48_000)
        stream.layout = "mono"
        stream.bit_rate = 32_000
        step = spoken.RATE  # a second at a time
        for at in range(0, len(samples), step):
            block = samples[at : at + step]
            frame = av.AudioFrame.from_ndarray(block.reshape(1, -1).astype(np.float32), format="flt", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = spoken.RATE, at, Fraction(1, spoken.RATE)
            for out in resampled.resample(frame):
                output.mux(stream.encode(out))
        for out in resampled.resample(None):
            output.mux(stream.encode(out))
        output.mux(stream.encode(None))


def run_child(*args: str) -> tuple[dict[str, Any], float, int]:
    """Run this script as a child; its JSON answer, wall time and own peak RSS (bytes).

    The parent holds no audio when it starts a child: a forked child's peak RSS would
    otherwise count the parent's pages from before its exec.
    """
    began = time.perf_counter()
    with subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, cwd=ROOT) as child:
        assert child.stdout is not None
        output = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"child {args} failed with exit code {child.returncode}")
    return json.loads(output), time.perf_counter() - began, usage.ru_maxrss * 1024


def make_session(path: str, minutes: float) -> None:
    """Child: speak a session of at least `minutes` (cut after the turn that reaches it), encode it."""
    one_pass = spoken.build_session().duration
    session = spoken.build_session(repeats=max(1, int(np.ceil(minutes * 60 / one_pass))), vary=True)
    turns = [t for t in session.turns if t.start < minutes * 60]
    end = int((max(t.end for t in turns) + 0.8) * spoken.RATE)
    encode_webm(session.mixed()[:end], Path(path))
    print(json.dumps({"seconds": end / spoken.RATE, "turns": [[t.speaker, t.start, t.end, t.text] for t in turns]}))


def transcribe_child(mode: str, path: str, beam: int, stand_in: bool) -> None:
    """Child: the baseline or the pipeline on one file, the model (and redactor) loaded first."""
    from sotto.pipeline.transcribe import WhisperSettings, load_model, whisper_options

    settings = WhisperSettings(beam_size=beam)
    model = load_model(settings)
    if mode == "baseline":
        began = time.perf_counter()
        found, _ = model.transcribe(path, **whisper_options(settings))
        words = [
            {"text": w.word.strip(), "start": w.start, "end": w.end, "speaker": ""}
            for segment in found
            for w in segment.words or ()
        ]
        print(json.dumps({"seconds": time.perf_counter() - began, "words": words}))
        return
    from sotto.pipeline.decode import AudioSource
    from sotto.pipeline.redaction import PassThroughStandIn, PrivacyEngineRedactor, TranscriptRedactor
    from sotto.pipeline.service import PipelineOptions, run_pipeline

    redactor: TranscriptRedactor = PassThroughStandIn()
    if not stand_in:
        with contextlib.suppress(ImportError):  # the stand-in then says so in the run's notes
            redactor = PrivacyEngineRedactor()
    options = PipelineOptions(whisper=settings, redactor=redactor)
    began = time.perf_counter()
    with open(path, "rb") as recording:
        result = run_pipeline([AudioSource(recording)], options=options)
    seconds = time.perf_counter() - began
    words = [
        {"text": w.text, "start": w.start, "end": w.end, "speaker": s.speaker}
        for s in result.transcript.segments
        for w in s.words
    ]
    print(json.dumps({"seconds": seconds, "timings": result.timings, "words": words, "notes": result.notes}))


def word_error_rate(reference: list[str], hypothesis: list[str]) -> float:
    """Levenshtein distance over words / reference length, one numpy row at a time."""
    vocabulary: dict[str, int] = {}
    ref = np.array([vocabulary.setdefault(w, len(vocabulary)) for w in reference])
    hyp = np.array([vocabulary.setdefault(w, len(vocabulary)) for w in hypothesis])
    row = np.arange(len(hyp) + 1)
    steps = np.arange(len(hyp) + 1)
    for n, word in enumerate(ref, start=1):
        diagonal = row[:-1] + (hyp != word)
        new = np.empty_like(row)
        new[0] = n
        new[1:] = np.minimum(row[1:] + 1, diagonal)
        row = np.minimum.accumulate(new - steps) + steps  # insertions, left to right
    return float(row[-1]) / max(len(ref), 1)


def plain_words(text: str) -> list[str]:
    return "".join(c if c.isalnum() or c in " '" else " " for c in text.lower()).split()


def score(words: list[dict[str, Any]], turns: list[spoken.Turn]) -> tuple[float, float]:
    """(word error rate against the script, share of words given to someone speaking then)."""
    reference = plain_words(" ".join(turn.text for turn in turns))
    hypothesis = plain_words(" ".join(w["text"] for w in words if not w["text"].startswith("[")))
    labelled = [w for w in words if w["speaker"]]
    right = sum(w["speaker"] in spoken.expected_speakers(turns, w["start"], w["end"]) for w in labelled)
    return word_error_rate(reference, hypothesis), (right / len(labelled) if labelled else float("nan"))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=50.0, help="length of the timed session")
    parser.add_argument("--memory-minutes", type=float, default=60.0, help="length of the memory-measured file")
    parser.add_argument("--rounds", type=int, default=1, help="baseline/pipeline pairs (order alternates)")
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--skip-beam", action="store_true", help="skip the beam 1 versus 5 comparison")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--stand-in", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path = args.child
        if mode == "make":
            make_session(path, args.minutes)
        else:
            transcribe_child(mode, path, args.beam, args.stand_in)
        return

    print("command: .venv/bin/python bench/bench_pipeline.py " + " ".join(sys.argv[1:]))
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(prefix="sotto-bench-") as folder:  # synthetic speech only
        timed_path = str(Path(folder) / "session.webm")
        made, took, _ = run_child("--minutes", str(args.minutes), "--child", "make", timed_path)
        turns = [spoken.Turn(*t) for t in made["turns"]]
        words_said = sum(len(t.text.split()) for t in turns)
        print(
            f"session: {made['seconds'] / 60:.1f} min, {words_said} words, two voices on one channel, "
            f"WebM/Opus {Path(timed_path).stat().st_size / 1e6:.1f} MB (made in {took:.0f} s)"
        )
        results: dict[str, list[tuple[dict[str, Any], float, int]]] = {"baseline": [], "pipeline": []}
        order = ["baseline", "pipeline"]
        for round_ in range(args.rounds):
            for mode in order if round_ % 2 == 0 else order[::-1]:
                answer = run_child("--beam", str(args.beam), "--child", mode, timed_path)
                results[mode].append(answer)
                print(
                    f"  {mode:<8} {answer[0]['seconds']:7.1f} s  (process wall {answer[1]:.1f} s, "
                    f"peak RSS {answer[2] / 1e6:.0f} MB)"
                )
        base = statistics.median(a[0]["seconds"] for a in results["baseline"])
        pipe = statistics.median(a[0]["seconds"] for a in results["pipeline"])
        first = results["pipeline"][0][0]
        stages = {k: statistics.median(a[0]["timings"][k] for a in results["pipeline"]) for k in first["timings"]}
        wer_base, _ = score(results["baseline"][0][0]["words"], turns)
        wer_pipe, attributed = score(first["words"], turns)
        print("pipeline stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
        print("pipeline notes: " + ("; ".join(first["notes"]) or "none (redaction by sotto.privacy)"))
        ratio = pipe / base
        print(f"ratio pipeline/baseline: {ratio:.3f} (target <= {RATIO_TARGET}) {verdict(ratio <= RATIO_TARGET)}")
        print(
            f"session of {made['seconds'] / 60:.1f} min processed in {pipe:.0f} s (target < {SESSION_SECONDS_TARGET} s)"
            f" {verdict(pipe < SESSION_SECONDS_TARGET)}; real-time factor {pipe * 60 / made['seconds'] / 60:.3f}"
        )
        print(
            f"word error rate: baseline {wer_base:.1%}, pipeline {wer_pipe:.1%} (after redaction: removed words "
            f"count as errors); words attributed to the right speaker: {attributed:.1%}"
        )

        long_path = str(Path(folder) / "long.webm")
        made_long, _, _ = run_child("--minutes", str(args.memory_minutes), "--child", "make", long_path)
        began = time.perf_counter()
        with subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "sotto"), "process", long_path, "--json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ) as child:
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
        peak = usage.ru_maxrss * 1024
        print(
            f"`sotto process` on {made_long['seconds'] / 60:.1f} min: exit {child.returncode}, "
            f"{time.perf_counter() - began:.0f} s, peak RSS {peak / 1e6:.0f} MB "
            f"(target < {MEMORY_TARGET_BYTES / 1e6:.0f} MB) {verdict(peak < MEMORY_TARGET_BYTES)}"
        )

        if not args.skip_beam:
            short_path = str(Path(folder) / "short.webm")
            made_short, _, _ = run_child("--minutes", "5", "--child", "make", short_path)
            short_turns = [spoken.Turn(*t) for t in made_short["turns"]]
            for beam in (1, 5):
                found, _, _ = run_child("--beam", str(beam), "--stand-in", "--child", "pipeline", short_path)
                wer, attributed = score(found["words"], short_turns)
                print(
                    f"beam {beam}: {made_short['seconds'] / 60:.1f} min session, transcribe "
                    f"{found['timings']['transcribe']:.1f} s, word error rate {wer:.1%}, attributed {attributed:.1%}"
                )


if __name__ == "__main__":
    main()
