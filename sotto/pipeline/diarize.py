"""Who spoke when on one channel: cepstral statistics, spectral clustering, then re-segmentation.

1. Speech regions come from the recognised words (Whisper has already found them).
2. Each region is cut into windows of 1.5 s (hop 0.75 s); a window is described by the
   mean and spread of its normalised cepstral frames.
3. The windows are clustered into the requested number of speakers by spectral clustering
   (cosine affinities, each window keeping only its nearest neighbours, then the leading
   eigenvectors of the normalised graph Laplacian and k-means on them).
4. Each speaker's frames give a Gaussian; a Viterbi pass over 50 ms blocks, which charges
   for every change of speaker inside a stretch of speech, re-draws the boundaries at the
   frame level (the change points); the Gaussians are re-estimated and the pass repeated.
5. A word goes to whoever holds most of its frames.

All of it is numpy: a few seconds for an hour of speech.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sotto.pipeline.types import Word
from sotto.pipeline.voice import Frames, speech_frames, voiced

WINDOW_FRAMES = 150  # 1.5 s
WINDOW_HOP = 75
SHORTEST_WINDOW = 40  # frames; shorter stretches are left to the re-segmentation
MOST_WINDOWS = 1600  # spectral clustering on at most this many windows; the rest join the nearest speaker
BLOCK = 5  # frames per Viterbi step (50 ms)
CHANGE_COST = 60.0  # log-likelihood a speaker change must win back inside a stretch of speech
GAP_CHANGE_COST = 5.0  # the same across a pause between stretches
REGION_JOIN_SECONDS = 0.3
PASSES = 3


@dataclass
class Diarization:
    """One speaker index (0..speakers-1) per word, and the frames that decided it (for profiles)."""

    word_speakers: list[int]
    frames: Frames
    frame_speakers: np.ndarray


def diarize_words(samples: np.ndarray, words: Sequence[Word], *, speakers: int, seed: int = 0) -> Diarization:
    """Assign each word to one of `speakers` voices heard on this 16 kHz channel."""
    if speakers < 1:
        raise ValueError("speakers must be at least 1")
    regions = speech_regions(words)
    frames = speech_frames(samples, regions)
    frames = frames.select(voiced(frames))
    if speakers == 1 or len(frames) < 2 * WINDOW_FRAMES:
        return Diarization([0] * len(words), frames, np.zeros(len(frames), dtype=np.int64))
    normal = _normalise(frames.features)
    starts = _window_starts(frames)
    embeddings = np.stack([_embed(normal[a:b]) for a, b in starts])
    window_labels = _cluster(embeddings, speakers, seed=seed)
    frame_labels = np.full(len(frames), -1, dtype=np.int64)
    for (a, b), label in zip(starts, window_labels, strict=True):
        frame_labels[a + (b - a) // 4 : b - (b - a) // 4] = label  # the middle of each window
    for _ in range(PASSES):
        frame_labels = _resegment(normal, frames, frame_labels, speakers)
    return Diarization(_label_words(words, frames.times, frame_labels), frames, frame_labels)


def speech_regions(words: Sequence[Word]) -> list[tuple[float, float]]:
    """Stretches of speech: the words' spans, joined across pauses shorter than 0.3 s."""
    regions: list[tuple[float, float]] = []
    for word in sorted(words, key=lambda w: w.start):
        if regions and word.start - regions[-1][1] <= REGION_JOIN_SECONDS:
            regions[-1] = (regions[-1][0], max(regions[-1][1], word.end))
        else:
            regions.append((word.start, word.end))
    return regions


def _normalise(features: np.ndarray) -> np.ndarray:
    return ((features - features.mean(axis=0)) / (features.std(axis=0) + 1e-6)).astype(np.float32)


def _window_starts(frames: Frames) -> list[tuple[int, int]]:
    """Windows of consecutive frames that never cross from one speech region into another."""
    windows = []
    boundaries = np.flatnonzero(np.diff(frames.region)) + 1
    for a, b in zip(np.r_[0, boundaries], np.r_[boundaries, len(frames)], strict=True):
        length = b - a
        if length < SHORTEST_WINDOW:
            continue
        if length <= WINDOW_FRAMES:
            windows.append((int(a), int(b)))
            continue
        for start in range(a, b - SHORTEST_WINDOW, WINDOW_HOP):
            windows.append((int(start), int(min(start + WINDOW_FRAMES, b))))
    return windows


def _embed(normal: np.ndarray) -> np.ndarray:
    return np.concatenate([normal.mean(axis=0), normal.std(axis=0)])


def _cluster(embeddings: np.ndarray, speakers: int, *, seed: int) -> np.ndarray:
    """Spectral clustering of the window embeddings into `speakers` groups."""
    if len(embeddings) <= speakers:
        return np.arange(len(embeddings)) % speakers
    rng = np.random.default_rng(seed)
    sample = np.arange(len(embeddings))
    if len(sample) > MOST_WINDOWS:
        sample = np.sort(rng.choice(len(embeddings), MOST_WINDOWS, replace=False))
    centred = embeddings - embeddings.mean(axis=0)
    unit = centred / (np.linalg.norm(centred, axis=1, keepdims=True) + 1e-9)
    chosen = unit[sample]
    affinity = chosen @ chosen.T
    # Keep each window's nearest tenth (at least 10): the graph then joins only likely matches.
    keep = min(len(chosen) - 1, max(10, len(chosen) // 10))
    threshold = np.partition(affinity, -keep, axis=1)[:, -keep][:, None]
    graph = np.where(affinity >= threshold, np.maximum(affinity, 0.0), 0.0)
    graph = (graph + graph.T) / 2
    np.fill_diagonal(graph, 0.0)
    degree = graph.sum(axis=1) + 1e-9
    scale = 1.0 / np.sqrt(degree)
    normalised = graph * scale[:, None] * scale[None, :]
    _, vectors = np.linalg.eigh(normalised)
    spectral = vectors[:, -speakers:]
    spectral = spectral / (np.linalg.norm(spectral, axis=1, keepdims=True) + 1e-9)
    labels = _kmeans(spectral, speakers, rng)
    if len(sample) == len(embeddings):
        return labels
    centres = np.stack(
        [unit[sample][labels == k].mean(axis=0) if np.any(labels == k) else unit[0] for k in range(speakers)]
    )
    return np.argmax(unit @ centres.T, axis=1)


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator, *, restarts: int = 8) -> np.ndarray:
    best_labels, best_cost = np.zeros(len(points), dtype=np.int64), math.inf
    for _ in range(restarts):
        centres = [points[rng.integers(len(points))]]
        for _ in range(1, k):  # k-means++ seeding
            distance = np.min([((points - c) ** 2).sum(axis=1) for c in centres], axis=0)
            total = distance.sum()
            pick = rng.choice(len(points), p=distance / total) if total > 0 else rng.integers(len(points))
            centres.append(points[pick])
        grid = np.stack(centres)
        labels = np.zeros(len(points), dtype=np.int64)
        for _ in range(50):
            distances = ((points[:, None, :] - grid[None, :, :]) ** 2).sum(axis=2)
            labels = distances.argmin(axis=1)
            moved = np.stack([points[labels == j].mean(axis=0) if np.any(labels == j) else grid[j] for j in range(k)])
            if np.allclose(moved, grid):
                break
            grid = moved
        cost = float(((points - grid[labels]) ** 2).sum())
        if cost < best_cost:
            best_labels, best_cost = labels, cost
    return best_labels


def _resegment(normal: np.ndarray, frames: Frames, labels: np.ndarray, speakers: int) -> np.ndarray:
    """Re-draw every frame's speaker: per-speaker Gaussians, then Viterbi over 50 ms blocks."""
    loglik = np.zeros((len(normal), speakers), dtype=np.float64)
    for k in range(speakers):
        own = normal[labels == k]
        if len(own) < normal.shape[1] * 4:
            loglik[:, k] = -1e9  # a speaker with almost no frames left cannot take any back
            continue
        loglik[:, k] = _gaussian_loglik(normal, own)
    blocks = np.arange(len(normal)) // BLOCK
    scores = np.zeros((blocks[-1] + 1, speakers))
    np.add.at(scores, blocks, loglik)
    first_of_block = np.r_[0, np.flatnonzero(np.diff(blocks)) + 1]
    block_times = frames.times[first_of_block]
    block_regions = frames.region[first_of_block]
    costs = np.where(
        (np.diff(block_regions) == 0) | (np.diff(block_times) < REGION_JOIN_SECONDS), CHANGE_COST, GAP_CHANGE_COST
    )
    path = _viterbi(scores, costs)
    return np.asarray(path, dtype=np.int64)[blocks]


def _gaussian_loglik(points: np.ndarray, own: np.ndarray) -> np.ndarray:
    mean = own.mean(axis=0)
    covariance = np.cov(own, rowvar=False) + np.eye(own.shape[1]) * 1e-3
    inverse = np.linalg.inv(covariance)
    _, logdet = np.linalg.slogdet(covariance)
    centred = points - mean
    return -0.5 * (np.einsum("ij,jk,ik->i", centred, inverse, centred) + logdet)


def _viterbi(scores: np.ndarray, costs: np.ndarray) -> list[int]:
    """The best speaker path through per-block scores, paying `costs[t-1]` to change at block t."""
    steps, states = scores.shape
    rows = scores.tolist()
    best = list(rows[0])
    back: list[list[int]] = []
    for t in range(1, steps):
        cost = float(costs[t - 1])
        top = max(range(states), key=best.__getitem__)
        stay_or_switch = []
        new = []
        row = rows[t]
        for s in range(states):
            if best[s] >= best[top] - cost:
                stay_or_switch.append(s)
                new.append(best[s] + row[s])
            else:
                stay_or_switch.append(top)
                new.append(best[top] - cost + row[s])
        back.append(stay_or_switch)
        best = new
    state = max(range(states), key=best.__getitem__)
    path = [state]
    for pointers in reversed(back):
        state = pointers[state]
        path.append(state)
    path.reverse()
    return path


def _label_words(words: Sequence[Word], times: np.ndarray, labels: np.ndarray) -> list[int]:
    if not len(times):
        return [0] * len(words)
    result = []
    for word in words:
        a, b = np.searchsorted(times, [word.start, word.end])
        if b > a:
            result.append(int(np.bincount(labels[a:b]).argmax()))
        else:  # no voiced frame inside the word: whoever is nearest in time
            nearest = min(int(np.searchsorted(times, (word.start + word.end) / 2)), len(times) - 1)
            result.append(int(labels[nearest]))
    return result
