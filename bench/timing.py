"""The single-request timings' rule: a few warm-up runs, then the median of repeated
runs, in milliseconds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

WARM_UP = 3


def median_ms(run: Callable[[], Any], repeats: int) -> float:
    for _ in range(WARM_UP):
        run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def medians_in_turns(runs: Sequence[Callable[[], Any]], repeats: int) -> list[float]:
    """The median of each run, the runs taken in turns (each warmed up first), so a burst
    of load elsewhere on the shared machine hits them alike."""
    for run in runs:
        for _ in range(WARM_UP):
            run()
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, taken in zip(runs, times):
            started = time.perf_counter()
            run()
            taken.append(time.perf_counter() - started)
    return [statistics.median(taken) * 1000 for taken in times]
