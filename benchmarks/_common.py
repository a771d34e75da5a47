"""Shared helpers of the benchmark scripts."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "btc"
GEMINI_2017 = SHARED / "BTCUSD_gemini_1h_2017.csv"


def hourly_closes_2017() -> np.ndarray:
    """The 8,760 hourly 2017 closes of the shared Gemini file."""
    import pandas as pd

    if not GEMINI_2017.exists():
        raise SystemExit(f"benchmark data not found: {GEMINI_2017}")
    return pd.read_csv(GEMINI_2017)["close"].to_numpy(dtype=float)


def standardized_window(series: np.ndarray, start: int, length: int) -> np.ndarray:
    w = series[start : start + length]
    return (w - w.mean()) / w.std()


def measure(fn, *args, repeat: int = 1, **kwargs):
    """Best wall time over ``repeat`` runs and peak traced memory of one run."""
    best = np.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    fn(*args, **kwargs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, best, peak
