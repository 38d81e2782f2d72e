"""A plain progress display for a terminal: one bar redrawn in place, or one line per stage in a log."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TextIO

from sotto.pipeline.service import DEFAULT_STAGES, overall_fraction

BAR_WIDTH = 30


class ProgressBar:
    """A `ProgressCallback` that draws on `stream` (standard error): a redrawn bar on a terminal,
    otherwise a line as each stage finishes."""

    def __init__(self, stream: TextIO, *, stages: Sequence[str] = DEFAULT_STAGES) -> None:
        self.stream = stream
        self.stages = tuple(stages)
        self.live = stream.isatty()
        self._shown = -1
        self._began: dict[str, float] = {}

    def __call__(self, stage: str, fraction: float) -> None:
        if fraction <= 0.0:
            self._began.setdefault(stage, time.perf_counter())
        if self.live:
            overall = overall_fraction(stage, fraction, self.stages)
            percent = int(overall * 100)
            if percent != self._shown:
                self._shown = percent
                filled = int(overall * BAR_WIDTH)
                bar = "#" * filled + "-" * (BAR_WIDTH - filled)
                self.stream.write(f"\r{stage:<11} [{bar}] {percent:3d}%")
                self.stream.flush()
        elif fraction >= 1.0 and stage in self._began:
            seconds = time.perf_counter() - self._began.pop(stage)
            self.stream.write(f"{stage}: done in {seconds:.1f} s\n")
            self.stream.flush()

    def close(self) -> None:
        if self.live and self._shown >= 0:
            self.stream.write("\n")
            self.stream.flush()
