"""Silence one channel's faint copy of another channel's speech (a microphone hearing the call).

A therapist without headphones is recorded twice when the client speaks: clearly on the
call channel, faintly through the laptop speaker on the microphone channel. Whisper would
transcribe that faint copy as the therapist's words (and badly). So, 20 ms at a time, each
channel's loudness is compared with its own speaking level; where a channel is far quieter
than another channel that is speaking at that moment, it carries only the other's echo and
is silenced. Real overlapping speech, where both people talk at their own level, is kept.
"""

from __future__ import annotations

import numpy as np

FRAME = 320  # 20 ms at 16 kHz
MARGIN_DB = 15.0  # this far below the speaking channel (each against its own level) is echo
SPEAKING_DB = -25.0  # a channel within this of its own loud speech is speaking
AUDIBLE_DB = 10.0  # above the channel's own quiet floor: an echo worth mentioning, not room noise
SMOOTHING_FRAMES = 5  # a decision must hold for 100 ms, so a word is not cut into pieces


def suppress_crosstalk(channels: list[np.ndarray]) -> float:
    """Silence, in place, the stretches of each channel that only echo another; returns the share of
    the session where an audible echo was silenced (for the operator's notes)."""
    if len(channels) < 2:
        return 0.0
    frames = min(len(c) for c in channels) // FRAME
    if frames == 0:
        return 0.0
    levels = np.stack([_relative_levels(c[: frames * FRAME]) for c in channels])
    echoes = np.zeros(frames, dtype=bool)
    for index, channel in enumerate(channels):
        others = np.delete(levels, index, axis=0).max(axis=0)
        echo = (levels[index] < others - MARGIN_DB) & (others > SPEAKING_DB)
        echo = _hold(echo)
        floor = float(np.percentile(levels[index], 10))
        echoes |= echo & (levels[index] > floor + AUDIBLE_DB)
        view = channel[: frames * FRAME].reshape(frames, FRAME)
        view[echo] = 0.0
    return float(echoes.mean())


def _relative_levels(samples: np.ndarray) -> np.ndarray:
    """dB per 20 ms frame, relative to the channel's loud speech (its 95th percentile frame)."""
    view = samples.reshape(-1, FRAME)
    power = np.einsum("ij,ij->i", view, view, dtype=np.float64) / FRAME  # no squared copy of the audio
    decibels = 10 * np.log10(power + 1e-10)
    return decibels - float(np.percentile(decibels, 95))


def _hold(mask: np.ndarray) -> np.ndarray:
    """A running majority over SMOOTHING_FRAMES frames: drop isolated flips either way."""
    if len(mask) < SMOOTHING_FRAMES:
        return mask
    counts = np.convolve(mask.astype(np.int8), np.ones(SMOOTHING_FRAMES, dtype=np.int8), mode="same")
    return counts > SMOOTHING_FRAMES // 2
