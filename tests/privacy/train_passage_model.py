"""Fine-tune the passage model (``sotto/privacy/passage_model.py``) on annotated transcripts.

    /path/to/venv-with-torch/bin/python tests/privacy/train_passage_model.py [DIR ...]
        [--hold-out-fold K --folds N --hold-out-dir DIR] [--start-from FILE] [--out FILE]

Needs PyTorch (``pip install torch==2.13.0`` in a venv of its own beside ``pip install -e .``); the
product runs the result with NumPy. Reads annotated transcripts (FORMAT.md; by default
../shared/data/dev, tests/privacy/data, tests/privacy/train and tests/privacy/devstyle, never
tests/privacy/heldout), each also converted to speech-recognition style, lays every session out
as the model reads it, and labels every token of a turn with the category of the passage it lies
in and with the type of the identifier it lies in ("none" outside one).
The bottom layers of all-MiniLM-L6-v2 stay as installed; the top ``--tuned-layers`` and two linear
layers, one for the topics and one for the identifiers (``phi_model``), are trained together, the
two losses summed (the identifier model); with ``--heads topics`` only the first, on the topic loss
alone (the passage model). ``--start-from FILE`` goes on training a stored model instead of starting from
the installed layers and new heads. With ``--hold-out-fold`` the sessions of that fold are left out and written,
clean and in speech-recognition style, to ``--hold-out-dir`` for the redaction scorer.
The transcripts annotated as the shared dev set is (``--twice``: dev and devstyle, where about one
turn in eight holds a passage and a passage is often part of a turn) count twice, so the model
learns their sparser marking and not only the denser one of data/ and train/ (a passage in one
turn of four, most often the whole turn). Deterministic for the same transcripts and options.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from asr_style import convert_file
from torch import nn
from torch.nn import functional

from sotto.privacy.passage_model import (
    IDENTIFIER_MODEL_FILE,
    IDENTIFIER_OUTPUTS,
    MODEL_FILE,
    OUTPUTS,
    WINDOW,
    conversation,
    session_tokenizer,
    window_starts,
)
from sotto.privacy.sentence_model import HEADS, LAYER_NORM_EPS, LAYERS, sentence_model

HERE = Path(__file__).parent
SHARED = HERE.parents[2] / "shared" / "data"
sys.path.insert(0, str(SHARED))
from transcripts import Session, parse  # noqa: E402

IGNORE = -100
TRAIN_STRIDE = 128


class Layer(nn.Module):
    """One BERT layer, as ``sentence_model._layer`` computes it."""

    def __init__(self, weights: dict[str, np.ndarray], prefix: str, dropout: float) -> None:
        super().__init__()
        self.names = [k[len(prefix) :] for k in weights if k.startswith(prefix)]
        self.params = nn.ParameterDict(
            {n.replace(".", "_"): nn.Parameter(torch.tensor(weights[prefix + n])) for n in self.names}
        )
        self.dropout = nn.Dropout(dropout)

    def p(self, name: str) -> torch.Tensor:
        return self.params[name.replace(".", "_")]

    def linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return functional.linear(x, self.p(name + ".weight"), self.p(name + ".bias"))

    def norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return functional.layer_norm(x, x.shape[-1:], self.p(name + ".weight"), self.p(name + ".bias"), LAYER_NORM_EPS)

    def forward(self, x: torch.Tensor, blocked: torch.Tensor) -> torch.Tensor:
        batch, width, size = x.shape
        head = size // HEADS

        def split(values: torch.Tensor) -> torch.Tensor:
            return values.reshape(batch, width, HEADS, head).transpose(1, 2)

        q, k, v = (split(self.linear(x, f"attention.self.{n}")) for n in ("query", "key", "value"))
        scores = q @ k.transpose(-1, -2) / head**0.5 + blocked
        context = (self.dropout(scores.softmax(-1)) @ v).transpose(1, 2).reshape(batch, width, size)
        x = self.norm(x + self.dropout(self.linear(context, "attention.output.dense")), "attention.output.LayerNorm")
        inner = functional.gelu(self.linear(x, "intermediate.dense"), approximate="tanh")
        return self.norm(x + self.dropout(self.linear(inner, "output.dense")), "output.LayerNorm")


def labelled_stream(session: Session, tokenizer) -> tuple[list[int], list[int], list[int]]:
    """The session's tokens as the model reads them, and each token's topic label and identifier label
    (or IGNORE, for the speaker words between turns)."""
    texts = [t.text for t in session.turns]
    talk = conversation(texts, [t.speaker for t in session.turns])
    topics = np.full(len(talk.text), IGNORE, dtype=np.int64)
    identifiers = np.full(len(talk.text), IGNORE, dtype=np.int64)
    for turn, start in zip(session.turns, talk.starts, strict=True):
        topics[start : start + len(turn.text)] = 0
        identifiers[start : start + len(turn.text)] = 0
        for span in turn.topics:
            topics[start + span.start : start + span.end] = OUTPUTS.index(span.kind.lower())
        for span in turn.phi:
            identifiers[start + span.start : start + span.end] = IDENTIFIER_OUTPUTS.index(span.kind)
    encoding = tokenizer.encode(talk.text, add_special_tokens=False)
    return (
        encoding.ids,
        [int(topics[start]) for start, _ in encoding.offsets],
        [int(identifiers[start]) for start, _ in encoding.offsets],
    )


Example = tuple[list[int], list[int], list[int]]


def windows(ids: list[int], topics: list[int], identifiers: list[int], cls: int, sep: int) -> list[Example]:
    return [
        (
            [cls, *ids[s : s + WINDOW], sep],
            [IGNORE, *topics[s : s + WINDOW], IGNORE],
            [IGNORE, *identifiers[s : s + WINDOW], IGNORE],
        )
        for s in window_starts(len(ids), TRAIN_STRIDE)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "dirs", nargs="*", type=Path, default=[SHARED / "dev", HERE / "data", HERE / "train", HERE / "devstyle"]
    )
    parser.add_argument(
        "--twice",
        nargs="*",
        type=Path,
        default=[SHARED / "dev", HERE / "devstyle"],
        help="folders among DIR whose transcripts count twice (annotated as the shared dev set is)",
    )
    parser.add_argument("--tuned-layers", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)  # the stored models: 3 epochs
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--hold-out-fold", type=int)
    parser.add_argument("--hold-out-dir", type=Path)
    parser.add_argument(
        "--heads",
        choices=("both", "topics"),
        default="both",
        help="both: the identifier model (IDENTIFIER_MODEL_FILE); topics: the passage model alone "
        "(MODEL_FILE), trained without the identifier loss",
    )
    parser.add_argument("--out", type=Path, help="where to write it (by default the file --heads names)")
    parser.add_argument(
        "--start-from",
        type=Path,
        help="a stored model whose tuned layers and heads training goes on from (by default the installed layers "
        "and new heads)",
    )
    args = parser.parse_args()
    identifiers = args.heads == "both"
    out = args.out or (IDENTIFIER_MODEL_FILE if identifiers else MODEL_FILE)
    torch.manual_seed(0)
    torch.set_num_threads(2)

    paths = sorted(p for d in args.dirs for p in d.glob("*.txt"))
    if any("heldout" in p.parts for p in paths):
        raise SystemExit("held-out transcripts are never trained on")
    if args.hold_out_fold is not None:
        shuffled = paths[:]
        random.Random(0).shuffle(shuffled)
        held = set(shuffled[args.hold_out_fold :: args.folds])
        if args.hold_out_dir:
            args.hold_out_dir.mkdir(parents=True, exist_ok=True)
            for path in held:
                shutil.copy(path, args.hold_out_dir / path.name)
                (args.hold_out_dir / f"{path.stem}-asr.txt").write_text(convert_file(path), encoding="utf-8")
        paths = [p for p in paths if p not in held]

    base = sentence_model()
    tokenizer = session_tokenizer()
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    twice = {d.resolve() for d in args.twice}
    examples = []
    order = []  # indices into examples, an example of a folder in --twice twice over
    with tempfile.TemporaryDirectory() as scratch:
        for path in paths:
            asr = Path(scratch) / path.name
            asr.write_text(convert_file(path), encoding="utf-8")
            for session in (parse(path), parse(asr)):
                added = windows(*labelled_stream(session, tokenizer), cls, sep)
                first = len(examples)
                examples += added
                order += list(range(first, len(examples))) * (2 if path.parent.resolve() in twice else 1)
    counts = np.bincount([y for _, labels, _ in examples for y in labels if y != IGNORE], minlength=len(OUTPUTS))
    kinds = np.bincount(
        [y for _, _, labels in examples for y in labels if y != IGNORE], minlength=len(IDENTIFIER_OUTPUTS)
    )
    print(
        f"{len(paths)} transcripts, {len(examples)} windows ({len(order)} with those counted twice), "
        f"tokens by output {counts.tolist()}, by identifier type {kinds.tolist()}",
        flush=True,
    )

    weights = {k: v.copy() for k, v in base.weights.items()}
    frozen = LAYERS - args.tuned_layers
    start = {}
    if args.start_from:
        with np.load(args.start_from) as stored:
            start = {k: stored[k].astype(np.float32) for k in stored.files if not k.endswith("outputs")}
        # The product runs the installed layers below the tuned ones, so a model goes on tuning the same layers.
        if {int(k.split(".")[2]) for k in start if k.startswith("encoder.layer.")} != set(range(frozen, LAYERS)):
            raise SystemExit(f"{args.start_from} tunes other layers than the top {args.tuned_layers}")
        weights.update({k: v for k, v in start.items() if k.startswith("encoder.")})
    bottom = [Layer(weights, f"encoder.layer.{i}.", 0.0).eval() for i in range(frozen)]
    top = nn.ModuleList(Layer(weights, f"encoder.layer.{i}.", 0.1) for i in range(frozen, LAYERS))
    head = nn.Linear(384, len(OUTPUTS))
    identifier_head = nn.Linear(384, len(IDENTIFIER_OUTPUTS))
    with torch.no_grad():
        for module, name in ((head, "head"), (identifier_head, "identifier_head")):
            if f"{name}.weight" in start:
                module.weight.copy_(torch.tensor(start[f"{name}.weight"].T))
                module.bias.copy_(torch.tensor(start[f"{name}.bias"]))

    started = time.perf_counter()
    states = []
    with torch.no_grad():
        for ids, _, _ in examples:
            x = torch.tensor(weights["embeddings.word_embeddings.weight"][ids])
            x = x + torch.tensor(weights["embeddings.position_embeddings.weight"][: len(ids)])
            x = x + torch.tensor(weights["embeddings.token_type_embeddings.weight"][0])
            x = functional.layer_norm(
                x,
                (384,),
                torch.tensor(weights["embeddings.LayerNorm.weight"]),
                torch.tensor(weights["embeddings.LayerNorm.bias"]),
                LAYER_NORM_EPS,
            )[None]
            for layer in bottom:
                x = layer(x, torch.zeros(1))
            states.append(x[0])
    print(f"bottom {frozen} layers computed in {time.perf_counter() - started:.0f} s", flush=True)

    trained = [*top.parameters(), *head.parameters(), *(identifier_head.parameters() if identifiers else [])]
    optimiser = torch.optim.AdamW(trained, lr=args.learning_rate, weight_decay=0.01)
    batch_size = 16
    steps = args.epochs * ((len(order) + batch_size - 1) // batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: max(0.0, 1 - step / steps))
    rng = random.Random(0)
    for epoch in range(args.epochs):
        rng.shuffle(order)
        top.train()
        total = 0.0
        for first in range(0, len(order), batch_size):
            batch = order[first : first + batch_size]
            width = max(len(examples[i][0]) for i in batch)
            x = torch.zeros(len(batch), width, 384)
            y = torch.full((len(batch), width), IGNORE, dtype=torch.long)
            z = torch.full((len(batch), width), IGNORE, dtype=torch.long)
            mask = torch.zeros(len(batch), width)
            for row, i in enumerate(batch):
                n = len(examples[i][0])
                x[row, :n] = states[i]
                y[row, :n] = torch.tensor(examples[i][1])
                z[row, :n] = torch.tensor(examples[i][2])
                mask[row, :n] = 1
            blocked = (1 - mask)[:, None, None, :] * -1e9
            for layer in top:
                x = layer(x, blocked)
            loss = functional.cross_entropy(head(x).reshape(-1, len(OUTPUTS)), y.reshape(-1), ignore_index=IGNORE)
            if identifiers:
                loss = loss + functional.cross_entropy(
                    identifier_head(x).reshape(-1, len(IDENTIFIER_OUTPUTS)), z.reshape(-1), ignore_index=IGNORE
                )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(batch)
        print(f"epoch {epoch + 1}: loss {total / len(order):.4f} ({time.perf_counter() - started:.0f} s)", flush=True)

    stored: dict[str, np.ndarray] = {"outputs": np.array(OUTPUTS)}
    for index, layer in zip(range(frozen, LAYERS), top, strict=True):
        for name in layer.names:
            stored[f"encoder.layer.{index}.{name}"] = layer.p(name).detach().numpy().astype(np.float16)
    stored["head.weight"] = head.weight.detach().numpy().T.astype(np.float32)
    stored["head.bias"] = head.bias.detach().numpy().astype(np.float32)
    if identifiers:
        stored["identifier_outputs"] = np.array(IDENTIFIER_OUTPUTS)
        stored["identifier_head.weight"] = identifier_head.weight.detach().numpy().T.astype(np.float32)
        stored["identifier_head.bias"] = identifier_head.bias.detach().numpy().astype(np.float32)
    np.savez_compressed(out, **stored)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
