"""Train the topic classifier that confirms weak cues (``sotto/privacy/topic_model.py``).

    .venv/bin/python tests/privacy/train_topic_model.py [DIR ...] [--folds 5]

Reads annotated transcripts (FORMAT.md; by default ../shared/data/dev, tests/privacy/data and
tests/privacy/train, never tests/privacy/heldout), each also converted to speech-recognition style, cuts every turn
into the sentences (or, without punctuation, the clauses) the engine judges, labels each with
the category whose passages cover at least half of it (else "none"), and fits a multinomial
logistic regression on the sentence's and its turn's embeddings. With ``--folds`` it first
reports, by cross-validation over whole sessions, how the weak cues it would confirm fare.
Training is deterministic: the same transcripts give the same weights.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import numpy as np
from asr_style import convert_file
from numpy.typing import NDArray

from sotto.privacy import topic_model
from sotto.privacy.settings import TOPICS
from sotto.privacy.topic_model import CONFIRM_PROBABILITY, MODEL_FILE, OUTPUTS, softmax
from sotto.privacy.topics import weak_cue_units

HERE = Path(__file__).parent
SHARED = HERE.parents[2] / "shared" / "data"
sys.path.insert(0, str(SHARED))
from transcripts import Session, parse  # noqa: E402

L2 = 1e-4
STEPS = 1500
LEARNING_RATE = 0.05


def labelled_units(session: Session) -> tuple[list[str], list[str], list[int], list[set[str]]]:
    """Each judged sentence, its turn, its label (index into OUTPUTS) and the weak cues the engine sees in it."""
    pieces, turns, labels, weak = [], [], [], []
    for turn in session.turns:
        for start, end, cues in weak_cue_units(turn.text, TOPICS):
            cover: dict[str, int] = {}
            for span in turn.topics:
                cover[span.kind.lower()] = cover.get(span.kind.lower(), 0) + max(
                    0, min(end, span.end) - max(start, span.start)
                )
            best = max(cover.items(), key=lambda kv: kv[1], default=("none", 0))
            pieces.append(turn.text[start:end])
            turns.append(turn.text)
            labels.append(OUTPUTS.index(best[0]) if best[1] >= 0.5 * (end - start) else 0)
            weak.append(cues)
    return pieces, turns, labels, weak


def fit(features: NDArray[np.float32], labels: NDArray[np.int64]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Full-batch Adam on the cross-entropy with an L2 penalty, from zero: deterministic."""
    weights = np.zeros((features.shape[1], len(OUTPUTS)), dtype=np.float32)
    bias = np.zeros(len(OUTPUTS), dtype=np.float32)
    target = np.eye(len(OUTPUTS), dtype=np.float32)[labels]
    moments = [(np.zeros_like(weights), np.zeros_like(weights)), (np.zeros_like(bias), np.zeros_like(bias))]
    for step in range(1, STEPS + 1):
        error = (softmax(features @ weights + bias) - target) / len(labels)
        grads = (features.T @ error + L2 * weights, error.sum(axis=0))
        for param, grad, (first, second) in zip((weights, bias), grads, moments, strict=True):
            first *= 0.9
            first += 0.1 * grad
            second *= 0.999
            second += 0.001 * grad * grad
            param -= LEARNING_RATE * (first / (1 - 0.9**step)) / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)
    return weights, bias


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="*", type=Path, default=[SHARED / "dev", HERE / "data", HERE / "train"])
    parser.add_argument("--folds", type=int, default=0)
    args = parser.parse_args()
    sessions = []
    with tempfile.TemporaryDirectory() as scratch:
        for directory in args.dirs:
            for path in sorted(directory.glob("*.txt")):
                if "heldout" in path.parts:
                    raise SystemExit("held-out transcripts are never trained on")
                asr = Path(scratch) / path.name
                asr.write_text(convert_file(path), encoding="utf-8")
                sessions += [parse(path), parse(asr)]
    pieces, turns, labels, weak, owners = [], [], [], [], []
    for session in sessions:
        p, t, lab, w = labelled_units(session)
        pieces += p
        turns += t
        labels += lab
        weak += w
        owners += [session.id.removesuffix("-asr")] * len(p)
    inputs = topic_model.features(pieces, turns)
    y = np.array(labels)
    print(f"{len(sessions)} sessions, {len(pieces)} sentences, by output {np.bincount(y, minlength=len(OUTPUTS))}")
    if args.folds:
        cross_validate(inputs, y, weak, owners, args.folds)
    weights, bias = fit(inputs, y)
    np.savez(MODEL_FILE, weights=weights, bias=bias, outputs=np.array(OUTPUTS))
    print(f"wrote {MODEL_FILE}")


def cross_validate(
    features: NDArray[np.float32], y: NDArray[np.int64], weak: list[set[str]], owners: list[str], folds: int
) -> None:
    """How the weak cues a model trained without a session would confirm in it fare."""
    names = sorted(set(owners))
    random.Random(0).shuffle(names)
    confirmed = right = cued_right = 0
    for fold in range(folds):
        held = np.isin(owners, names[fold::folds])
        weights, bias = fit(features[~held], y[~held])
        probabilities = softmax(features[held] @ weights + bias)
        for row, index in enumerate(np.flatnonzero(held)):
            for category in weak[index]:
                truth = OUTPUTS[y[index]] == category
                cued_right += truth
                if probabilities[row, OUTPUTS.index(category)] >= CONFIRM_PROBABILITY:
                    confirmed += 1
                    right += truth
    print(
        f"cross-validation ({folds} folds by session): {confirmed} weak cues confirmed, "
        f"precision {right / max(confirmed, 1):.3f}, recall {right / max(cued_right, 1):.3f} of those in a passage"
    )


if __name__ == "__main__":
    main()
