"""How redaction time grows with the length of one turn: a 20,000-word turn against a 2,000-word one.

    .venv/bin/python bench/bench_long_turn.py [--short 2000] [--long 20000] [--rounds 1]

A session pasted as one turn, or raw speech-recognition output without speaker breaks, is one very
long turn. The turn is built from the invented held-out transcripts (tests/privacy/heldout): their
turns run together, marks taken out, lower-cased and without punctuation, so it holds names, dates,
places and disclosures at the density of real sessions. Each length is redacted in the same process
with the models already loaded, taking turns (short, long, long, short, ...), and the CPU time of
each is compared (CPU time, not wall clock: the machine may be shared). This is done twice: as
``sotto redact`` runs, and with the rules alone (the passage and identifier models off), since the
models read fixed windows and their steady share of the time hides what the rules add.

Target: long / short at most 1.5 times long-words / short-words (15 for the default lengths); a
time that grows with the square of the length gives far more.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

# One BLAS thread: CPU time then counts work done, not threads spinning while they wait for each other.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from sotto.privacy import engine, topics
from sotto.privacy.engine import default_redactor
from sotto.privacy.settings import PrivacySettings

ROOT = Path(__file__).resolve().parents[1]
HELDOUT = ROOT / "tests" / "privacy" / "heldout"
#: long / short may be this much above long-words / short-words (start-up costs and noise make the
#: short turn's time a little high per word; a quadratic part makes the long one many times too high).
SLACK = 1.5

_TURN = re.compile(r"^[A-Z][0-9]*: (.*)$")
_MARK = re.compile(r"\[[A-Z]+:|\{[A-Z]+:|[\]}]")


def held_out_words() -> list[str]:
    """The words of every held-out turn, in order, lower case, without marks or punctuation."""
    words: list[str] = []
    for path in sorted(HELDOUT.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _TURN.match(line)
            if match:
                plain = _MARK.sub("", match.group(1)).lower()
                words += re.sub(r"[^\w' ]+", " ", plain).split()
    return words


def long_turn(words: list[str], length: int) -> str:
    """``length`` words of the held-out turns run together (repeated when they are too few)."""
    repeated = words * (length // len(words) + 1)
    return " ".join(repeated[:length])


def seconds_to_redact(text: str) -> float:
    start = time.process_time()
    default_redactor().redact_turns([("client", text)], PrivacySettings.default())
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", type=int, default=2000, help="words of the short turn")
    parser.add_argument("--long", type=int, default=20000, help="words of the long turn")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    words = held_out_words()
    short, long = long_turn(words, args.short), long_turn(words, args.long)
    seconds_to_redact("Warm-up, Maria: the models load here.")
    target = SLACK * args.long / args.short
    ratios = []
    for mode in ("whole", "rules alone"):
        if mode == "rules alone":
            topics.MODEL, engine.IDENTIFIERS_READ = None, False
        times: dict[str, list[float]] = {"short": [], "long": []}
        for round_ in range(args.rounds):
            order = ("short", "long") if round_ % 2 == 0 else ("long", "short")
            for name in order:
                times[name].append(seconds_to_redact(short if name == "short" else long))
                print(f"{mode}, {name}: {times[name][-1]:.1f} s CPU", flush=True)
        ratio = statistics.median(times["long"]) / statistics.median(times["short"])
        ratios.append(ratio)
        for name, text in (("short", short), ("long", long)):
            seconds = statistics.median(times[name])
            print(f"{mode}: {name} turn, {len(text.split())} words ({len(text)} characters): {seconds:.1f} s")
        print(
            f"{mode}: ratio {ratio:.1f} for {args.long / args.short:.0f} times the words (target at most {target:.1f})"
        )
    sys.exit(0 if max(ratios) <= target else 1)


if __name__ == "__main__":
    main()
