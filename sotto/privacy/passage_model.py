"""Read a whole session and say, token by token, how likely each sensitive topic is being discussed.

The cue words of ``topic_lexicon`` find where a disclosure starts; what they cannot see is the
conversation that carries it on ("How long ago was that?", "Two years in March.") or a disclosure
made without any of the words they know. This model reads the session as one stream of text, each
turn after its speaker's role ("therapist: ...", "client: ..."), in overlapping windows of
``WINDOW`` tokens, so every token is judged with the turns around it.

It is all-MiniLM-L6-v2 (``sentence_model``) with its top layers (three, as trained) fine-tuned and a
linear layer that gives each token the probability of "none" and of each category. A second linear
layer, trained with the first, gives each token the probability of each identifier type
(``phi_model`` adds what it reads to the identifier rules). Only the tuned layers and the linear
layers are stored (``data/passage_model.npz`` for the topics, ``data/identifier_model.npz`` for the
identifiers and, averaged with the first by ``judge_topics``, the topics too); the rest are the
installed model's own. Training
(``tests/privacy/train_passage_model.py``) needs PyTorch; running it needs NumPy only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from tokenizers import Tokenizer

from sotto.privacy.found import PHI_KINDS
from sotto.privacy.sentence_model import LAYERS, embedded, encoded, model_dir, padded, sentence_model

MODEL_FILE = Path(__file__).parent / "data" / "passage_model.npz"
#: The same model trained with its identifier head on more transcripts (``phi_model``). It finds
#: identifiers the rules miss, and its topic head, averaged with the passage model's (``judge_topics``),
#: finds more passages at the same over-removal than either alone.
IDENTIFIER_MODEL_FILE = Path(__file__).parent / "data" / "identifier_model.npz"
#: The identifier model's share in the topic probabilities ``judge_topics`` gives, the passage model
#: having the rest. Chosen with ``topics.MODEL`` on heldout/ among 0 (the passage model alone), 0.3,
#: 0.5, 0.7 and 1; see there.
IDENTIFIER_MODEL_SHARE = 0.5
#: The model's outputs: no topic, then the categories of ``settings.TOPICS``.
OUTPUTS = ("none", "criminal", "immigration", "sogi", "trauma", "substance", "health")
#: The identifier head's outputs: no identifier, then the identifier types of FORMAT.md.
IDENTIFIER_OUTPUTS = ("none", *PHI_KINDS)
#: Tokens of the session read at once (the model reads at most 256 with its two marker tokens).
WINDOW = 254
#: How far one window starts after the one before; a token seen by two windows gets their mean.
STRIDE = 192
#: Windows run through the encoder together.
BATCH = 8
#: How each speaker's turn is introduced in the stream ("client2", "client3", ... are "other client").
SPEAKER_WORDS = {"therapist": "therapist", "client": "client"}


@dataclass(frozen=True)
class Conversation:
    """A session as one text, and where each turn's own text starts in it."""

    text: str
    starts: list[int]


def conversation(texts: list[str], speakers: list[str] | None) -> Conversation:
    pieces, starts, position = [], [], 0
    for turn, text in enumerate(texts):
        prefix = _speaker_word(speakers[turn] if speakers else "") + ": "
        starts.append(position + len(prefix))
        pieces.append(prefix + text)
        position += len(prefix) + len(text) + 1
    return Conversation("\n".join(pieces), starts)


def _speaker_word(speaker: str) -> str:
    if speaker in SPEAKER_WORDS:
        return SPEAKER_WORDS[speaker]
    return "other client" if speaker.startswith("client") else "speaker"


def session_tokenizer() -> Tokenizer:
    """The sentence model's tokenizer without its cut at 256 tokens: a session is read whole."""
    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def window_starts(tokens: int, stride: int) -> list[int]:
    """Where each window begins, so that the windows cover every token and the last one is full."""
    if tokens <= WINDOW:
        return [0]
    return [*range(0, tokens - WINDOW, stride), tokens - WINDOW]


def softmax(scores: NDArray[np.float32]) -> NDArray[np.float32]:
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return scores / scores.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Judged:
    """One turn as the model reads it: each output's probability over the turn and over each unit."""

    turn: dict[str, float]
    units: list[dict[str, float]]


@dataclass(frozen=True)
class Reading:
    """A session as the model read it: the stream of text, where each token lies in it, and each
    token's probability of each topic output and (when the model has that head) each identifier type."""

    talk: Conversation
    token_starts: NDArray[np.int64]
    token_ends: NDArray[np.int64]
    topics: NDArray[np.float32]
    identifiers: NDArray[np.float32] | None

    def tokens_of(self, turn: int, start: int, end: int) -> tuple[int, int]:
        """The slice of tokens that lie in characters ``start:end`` of a turn's text (tokens come in text
        order, so it is found by bisection)."""
        offset = self.talk.starts[turn]
        first, last = np.searchsorted(self.token_starts, [offset + start, offset + end])
        return int(first), int(last)


class PassageModel:
    def __init__(self, stored: dict[str, NDArray[np.float32]]) -> None:
        base = sentence_model()
        self._w = {**base.weights, **{k: v for k, v in stored.items() if k.startswith("encoder.")}}
        self._head_w, self._head_b = stored["head.weight"], stored["head.bias"]
        self._identifier_head = (
            (stored["identifier_head.weight"], stored["identifier_head.bias"])
            if "identifier_head.weight" in stored
            else None
        )
        self._tokenizer = session_tokenizer()
        self._cls, self._sep = (self._special(name) for name in ("[CLS]", "[SEP]"))
        # The layers below the first tuned one are the installed model's own, the same in every stored model.
        tuned = {int(k.split(".")[2]) for k in stored if k.startswith("encoder.layer.")}
        self._first_tuned = min(tuned, default=LAYERS)

    @property
    def reads_identifiers(self) -> bool:
        return self._identifier_head is not None

    def _special(self, name: str) -> int:
        number = self._tokenizer.token_to_id(name)
        if number is None:
            raise ValueError(f"the tokenizer has no {name} token")
        return number

    def read(self, texts: list[str], speakers: list[str] | None) -> Reading:
        """Read the session: each token's place in it and each head's probabilities for it."""
        talk = conversation(texts, speakers)
        encoding = self._tokenizer.encode(talk.text, add_special_tokens=False)
        topics, identifiers = self._probabilities(encoding.ids)
        offsets = np.array(encoding.offsets, dtype=np.int64).reshape(-1, 2)
        return Reading(talk, offsets[:, 0], offsets[:, 1], topics, identifiers)

    def judge(self, texts: list[str], speakers: list[str] | None, units: list[list[tuple[int, int]]]) -> list[Judged]:
        """For each turn, the mean probability of each output over the whole turn and over each of
        its units (character ranges of its text)."""
        return _judged(self.read(texts, speakers), texts, units)

    def token_probabilities(self, ids: list[int]) -> NDArray[np.float32]:
        """Each token's probability of each topic output, the mean over the windows that hold it."""
        return self._probabilities(ids)[0]

    def _probabilities(self, ids: list[int]) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
        """Each token's probability of each topic output and of each identifier type, the mean over
        the windows that hold it."""
        topics = np.zeros((len(ids), len(OUTPUTS)), dtype=np.float32)
        identifiers = np.zeros((len(ids), len(IDENTIFIER_OUTPUTS)), dtype=np.float32)
        seen = np.zeros(len(ids), dtype=np.float32)
        starts = window_starts(len(ids), STRIDE)
        batches = [starts[first : first + BATCH] for first in range(0, len(starts), BATCH)]
        rows_of = [[[self._cls, *ids[s : s + WINDOW], self._sep] for s in batch] for batch in batches]
        bottoms = _bottom_states(rows_of, self._first_tuned)
        for batch, rows, (bottom, mask) in zip(batches, rows_of, bottoms, strict=True):
            states = encoded(self._w, bottom, mask, range(self._first_tuned, LAYERS))
            topic_scores = softmax(states @ self._head_w + self._head_b)
            identifier_scores = (
                softmax(states @ self._identifier_head[0] + self._identifier_head[1])
                if self._identifier_head is not None
                else None
            )
            for i, s in enumerate(batch):
                length = len(rows[i]) - 2
                topics[s : s + length] += topic_scores[i, 1 : 1 + length]
                if identifier_scores is not None:
                    identifiers[s : s + length] += identifier_scores[i, 1 : 1 + length]
                seen[s : s + length] += 1.0
        weight = np.maximum(seen, 1.0)[:, None]
        return (
            (topics / weight).astype(np.float32),
            (identifiers / weight).astype(np.float32) if self._identifier_head is not None else None,
        )


def judge_topics(
    texts: list[str],
    speakers: list[str] | None,
    units: list[list[tuple[int, int]]],
    *,
    identifiers: Reading | None = None,
) -> list[Judged]:
    """As ``PassageModel.judge``, with each token's topic probabilities the mean of the passage model's
    and the identifier model's (``IDENTIFIER_MODEL_SHARE``). ``identifiers`` is the identifier model's
    reading of this session when the caller has it already; without it the session is read again."""
    own = passage_model().read(texts, speakers)
    other = identifiers if identifiers is not None else identifier_model().read(texts, speakers)
    if len(other.topics) != len(own.topics) or other.talk != own.talk:
        raise ValueError("the identifier model's reading is of another session")
    topics = (1 - IDENTIFIER_MODEL_SHARE) * own.topics + IDENTIFIER_MODEL_SHARE * other.topics
    return _judged(replace(own, topics=topics.astype(np.float32)), texts, units)


def _judged(reading: Reading, texts: list[str], units: list[list[tuple[int, int]]]) -> list[Judged]:
    def mean(turn: int, start: int, end: int) -> dict[str, float]:
        first, last = reading.tokens_of(turn, start, end)
        row = reading.topics[first:last].mean(axis=0) if last > first else np.eye(len(OUTPUTS))[0]
        return dict(zip(OUTPUTS, row.tolist(), strict=True))

    return [
        Judged(mean(turn, 0, len(texts[turn])), [mean(turn, start, end) for start, end in ranges])
        for turn, ranges in enumerate(units)
    ]


#: What models reading the same session share, inside ``bottom_layers_shared``: each batch of windows after the
#: layers no stored model tunes, by the windows' tokens and how many layers.
_shared = threading.local()
#: The token ids of a session's windows, batch by batch: what a reading's shared states are kept under.
_Windows = tuple[tuple[tuple[int, ...], ...], ...]


@contextmanager
def bottom_layers_shared() -> Iterator[None]:
    """Within this block (in this thread), models that read the same session run the layers they all leave
    untuned once: the engine reads each session with the passage model and then the identifier model. What
    they share is dropped when the block ends, so nothing of the session outlives it. A block inside another
    shares the outer one's."""
    outer = getattr(_shared, "states", None)
    _shared.states = {} if outer is None else outer
    try:
        yield
    finally:
        _shared.states = outer


def _bottom_states(rows_of: list[list[list[int]]], depth: int) -> list[tuple[NDArray[np.float32], NDArray[np.float32]]]:
    """Each batch of windows after the installed model's first ``depth`` layers, with its padding mask."""
    shared: dict[tuple[_Windows, int], list[tuple[NDArray[np.float32], NDArray[np.float32]]]] | None = getattr(
        _shared, "states", None
    )
    windows = tuple(tuple(tuple(row) for row in rows) for rows in rows_of)
    if shared is not None and (windows, depth) in shared:
        return shared[(windows, depth)]
    base = sentence_model().weights
    # A model that leaves more layers untuned goes on from the states a model that leaves fewer has shared.
    below = max((d for w, d in shared if w == windows and d < depth), default=None) if shared is not None else None
    states = []
    for batch, rows in enumerate(rows_of):
        if shared is not None and below is not None:
            start, mask = shared[(windows, below)][batch]
            states.append((encoded(base, start, mask, range(below, depth)), mask))
        else:
            tokens, mask = padded(rows)
            states.append((encoded(base, embedded(base, tokens), mask, range(depth)), mask))
    if shared is not None:
        shared[(windows, depth)] = states
    return states


_lock = threading.Lock()


@lru_cache(maxsize=2)
def _loaded(path: Path) -> PassageModel:
    with np.load(path) as stored:
        if tuple(str(c) for c in stored["outputs"]) != OUTPUTS:
            raise ValueError(f"{path} was trained for other outputs: retrain it")
        if "identifier_outputs" in stored.files and (
            tuple(str(c) for c in stored["identifier_outputs"]) != IDENTIFIER_OUTPUTS
        ):
            raise ValueError(f"{path} was trained for other identifier types: retrain it")
        labels = ("outputs", "identifier_outputs")
        return PassageModel({k: stored[k].astype(np.float32) for k in stored.files if k not in labels})


def passage_model() -> PassageModel:
    """The process's one loaded passage model, loaded on first use."""
    with _lock:
        return _loaded(MODEL_FILE)


def identifier_model() -> PassageModel:
    """The process's one loaded model for identifiers (``IDENTIFIER_MODEL_FILE``), loaded on first use."""
    with _lock:
        model = _loaded(IDENTIFIER_MODEL_FILE)
    if not model.reads_identifiers:
        raise ValueError(f"{IDENTIFIER_MODEL_FILE} has no identifier head: retrain it")
    return model
