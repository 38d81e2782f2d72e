"""Long channels go through Whisper in pieces of about ten minutes, cut where it is quiet."""

from __future__ import annotations

import itertools

import numpy as np

from sotto.pipeline.transcribe import CUT_SEARCH_SECONDS, PIECE_SECONDS, RATE, cut_points


def test_a_long_channel_is_cut_in_the_quiet_near_every_ten_minutes() -> None:
    seconds = 25 * 60
    signal = np.full(seconds * RATE, 0.1, dtype=np.float32)  # loud throughout ...
    quiet = [(590, 591), (1195, 1196)]  # ... but for a second near each ten-minute mark
    for start, end in quiet:
        signal[start * RATE : end * RATE] = 0.0
    cuts = cut_points(signal)
    assert cuts[0] == 0 and cuts[-1] == len(signal) and len(cuts) == 4
    for cut, (start, end) in zip(cuts[1:-1], quiet, strict=True):
        assert start * RATE <= cut <= end * RATE


def test_a_short_channel_is_one_piece() -> None:
    signal = np.zeros(int(PIECE_SECONDS * 1.4) * RATE, dtype=np.float32)
    assert cut_points(signal) == [0, len(signal)]


def test_cuts_never_stray_beyond_the_search_window() -> None:
    signal = np.random.default_rng(2).standard_normal(40 * 60 * RATE).astype(np.float32)
    cuts = cut_points(signal)
    for previous, cut in itertools.pairwise(cuts[:-1]):  # the last piece may be up to 1.5 long
        assert abs(cut - previous - PIECE_SECONDS * RATE) <= CUT_SEARCH_SECONDS * RATE
