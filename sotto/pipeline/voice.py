"""What a voice sounds like, in numbers: cepstral features of short frames, and an enrolled profile.

Mel-frequency cepstral coefficients (MFCCs) describe the shape of the vocal tract frame by
frame (25 ms frames every 10 ms); their statistics over a second or two tell speakers apart
well enough to separate the two or three people in a therapy room. It is plain numpy, so it
costs a few seconds for an hour of speech and needs no model from anywhere.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import numpy as np

RATE = 16_000
FRAME = 400  # 25 ms
HOP = 160  # 10 ms
FFT = 512
MEL_BANDS = 32
CEPSTRA = 20  # c1..c19 are kept: c0 is loudness, which says where the microphone is, not who speaks
LOW_HZ, HIGH_HZ = 60.0, 7600.0
_BLOCK_FRAMES = 8192  # frames computed at a time, to bound memory on long regions


@dataclass
class Frames:
    """Features of the frames inside speech: one row per 10 ms frame."""

    features: np.ndarray  # (n, CEPSTRA - 1) float32
    loudness: np.ndarray  # (n,) log10 energy
    times: np.ndarray  # (n,) centre of each frame, seconds
    region: np.ndarray  # (n,) index of the speech region the frame belongs to

    def __len__(self) -> int:
        return len(self.times)

    def select(self, keep: np.ndarray) -> Frames:
        return Frames(self.features[keep], self.loudness[keep], self.times[keep], self.region[keep])


def speech_frames(samples: np.ndarray, regions: list[tuple[float, float]]) -> Frames:
    """Cepstral features of every frame inside the given (start, end) regions, in seconds."""
    features, loudness, times, region_of = [], [], [], []
    offsets = np.arange(FRAME)
    window = np.hamming(FRAME).astype(np.float32)
    for index, (start, end) in enumerate(regions):
        first = max(int(start * RATE), 0)
        last = min(int(end * RATE), len(samples)) - FRAME
        if last <= first:
            continue
        starts = np.arange(first, last + 1, HOP)
        for at in range(0, len(starts), _BLOCK_FRAMES):
            block = starts[at : at + _BLOCK_FRAMES]
            frames = samples[block[:, None] + offsets].astype(np.float32)
            frames -= frames.mean(axis=1, keepdims=True)
            frames[:, 1:] -= 0.97 * frames[:, :-1]  # pre-emphasis, per frame
            power = np.abs(np.fft.rfft(frames * window, n=FFT, axis=1)) ** 2
            mel = np.log(power @ _mel_filters().T + 1e-10)
            features.append((mel @ _dct().T)[:, 1:].astype(np.float32))
            loudness.append(np.log10(power.sum(axis=1) + 1e-10).astype(np.float32))
            times.append((block + FRAME / 2) / RATE)
            region_of.append(np.full(len(block), index, dtype=np.int32))
    if not features:
        empty = np.zeros(0, dtype=np.float32)
        return Frames(np.zeros((0, CEPSTRA - 1), np.float32), empty, empty.astype(np.float64), empty.astype(np.int32))
    return Frames(np.concatenate(features), np.concatenate(loudness), np.concatenate(times), np.concatenate(region_of))


def voiced(frames: Frames, *, below_peak_db: float = 30.0) -> np.ndarray:
    """Which frames carry voice rather than the room: within `below_peak_db` of the loud end."""
    if not len(frames):
        return np.zeros(0, dtype=bool)
    peak = float(np.percentile(frames.loudness, 95))
    return frames.loudness > peak - below_peak_db / 10


@functools.cache
def _mel_filters() -> np.ndarray:
    def mel(hz: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    def hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    edges = hz(np.linspace(mel(np.array(LOW_HZ)), mel(np.array(HIGH_HZ)), MEL_BANDS + 2))
    bins = np.fft.rfftfreq(FFT, 1.0 / RATE)
    filters = np.zeros((MEL_BANDS, len(bins)), dtype=np.float32)
    for band in range(MEL_BANDS):
        low, centre, high = edges[band : band + 3]
        rising = (bins - low) / (centre - low)
        falling = (high - bins) / (high - centre)
        filters[band] = np.maximum(0.0, np.minimum(rising, falling))
    return filters


@functools.cache
def _dct() -> np.ndarray:
    n = np.arange(MEL_BANDS)
    k = np.arange(CEPSTRA)[:, None]
    return (np.cos(np.pi * k * (2 * n + 1) / (2 * MEL_BANDS)) * np.sqrt(2.0 / MEL_BANDS)).astype(np.float32)


@dataclass(frozen=True)
class VoiceProfile:
    """An enrolled voice: the mean and spread of its cepstral features.

    Small (38 numbers) and not reversible to audio, but still biometric: store it encrypted
    like any other session content.
    """

    mean: tuple[float, ...]
    spread: tuple[float, ...]

    def to_json(self) -> str:
        return json.dumps({"version": 1, "mean": list(self.mean), "spread": list(self.spread)})

    @classmethod
    def from_json(cls, text: str) -> VoiceProfile:
        data = json.loads(text)
        if data.get("version") != 1 or len(data["mean"]) != CEPSTRA - 1 or len(data["spread"]) != CEPSTRA - 1:
            raise ValueError("not a Sotto voice profile (version 1)")
        return cls(tuple(float(x) for x in data["mean"]), tuple(float(x) for x in data["spread"]))

    def distance(self, features: np.ndarray) -> float:
        """How far the mean of these (unnormalised) frame features lies from this voice, in spreads."""
        mean = np.asarray(self.mean)
        spread = np.asarray(self.spread)
        return float(np.sqrt(np.mean(((features.mean(axis=0) - mean) / spread) ** 2)))


def profile_from_samples(samples: np.ndarray, *, minimum_seconds: float = 5.0) -> VoiceProfile:
    """Enrol a voice from 16 kHz float32 samples of that person speaking alone."""
    frames = speech_frames(samples, [(0.0, len(samples) / RATE)])
    frames = frames.select(voiced(frames))
    if len(frames) < minimum_seconds * 100:
        raise ValueError(f"a voice sample needs at least {minimum_seconds:g} s of speech")
    return VoiceProfile(
        tuple(float(x) for x in frames.features.mean(axis=0)),
        tuple(float(x) for x in frames.features.std(axis=0) + 1e-3),
    )
