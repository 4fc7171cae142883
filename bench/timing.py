"""The single-request timings' rule: a few warm-up runs, then the median of repeated
runs, in milliseconds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
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
