"""Judge whether an ambiguous topic cue is about the sensitive topic, with a sentence model.

A *weak* cue ("the pills", "my papers", "court", "drinking") is ambiguous on its own: the
sentence around it decides. A small classifier (multinomial logistic regression over the
sentence's and its turn's MiniLM embeddings, ``sentence_model``) gives the probability of each
category; a weak cue whose sentence the classifier places in the cue's category with at least
``CONFIRM_PROBABILITY`` counts as a strong one.

The classifier's weights (``data/topic_model.npz``, a few kilobytes) are trained by
``tests/privacy/train_topic_model.py`` on annotated transcripts, clean and in speech-recognition
style. Measured in 5-fold cross-validation by session on those transcripts: of the weak cues it
confirms at 0.5, 81 % sit in a passage of their category; it confirms 42 % of those that do.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sotto.privacy.sentence_model import sentence_model

MODEL_FILE = Path(__file__).parent / "data" / "topic_model.npz"
#: The lowest that keeps over-removal within 0.05 on our tuning transcripts in speech-recognition
#: style (0.5 and 0.6 gave 0.064 there: a confirmed cue takes its turn and the follow-ups with it).
CONFIRM_PROBABILITY = 0.7
#: The classifier's outputs: no topic, then the categories of ``settings.TOPICS``.
OUTPUTS = ("none", "criminal", "immigration", "sogi", "trauma", "substance", "health")


@dataclass(frozen=True)
class TopicClassifier:
    weights: NDArray[np.float32]
    bias: NDArray[np.float32]

    def probabilities(self, pieces: list[str], turns: list[str]) -> list[dict[str, float]]:
        """For each sentence (with the whole turn it is in), the probability of each output."""
        if not pieces:
            return []
        scores = features(pieces, turns) @ self.weights + self.bias
        return [dict(zip(OUTPUTS, row.tolist(), strict=True)) for row in softmax(scores)]


def features(pieces: list[str], turns: list[str]) -> NDArray[np.float32]:
    """What the classifier reads: each sentence's embedding beside its turn's.

    Encoded in one call, so a sentence that is its whole turn (or a turn that holds several judged
    sentences) is encoded once.
    """
    both = sentence_model().encode(pieces + turns)
    return np.hstack([both[: len(pieces)], both[len(pieces) :]])


def softmax(scores: NDArray[np.float32]) -> NDArray[np.float32]:
    scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    return scores / scores.sum(axis=1, keepdims=True)


@lru_cache(maxsize=1)
def topic_classifier() -> TopicClassifier:
    with np.load(MODEL_FILE) as stored:
        if tuple(str(c) for c in stored["outputs"]) != OUTPUTS:
            raise ValueError(f"{MODEL_FILE} was trained for other outputs: retrain it")
        return TopicClassifier(stored["weights"].astype(np.float32), stored["bias"].astype(np.float32))
