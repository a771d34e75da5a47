"""Build speed and memory of the feature libraries.

Compares the vectorized library against building the same columns one by
one, entry by entry, in a Python loop, measured in the same run:

* the 2-layer ReLU and abs dictionaries at N = 2000;
* a sampled 1000-feature depth-4 abs library at N = 1000.

Inputs are standardized windows of the 2017 hourly BTC closes.

Usage: python benchmarks/bench_features.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import hourly_closes_2017, measure, standardized_window

from tsmirrors.features import Library


def loop_columns(units, x):
    """Reference: every column, entry by entry, in plain Python."""
    act = units.activation
    a = np.empty((len(x), len(units)))
    xs = x.tolist()
    for i in range(len(units)):
        p = units.params(i)
        ws, bs = p["weights"], p["biases"]
        for n, t in enumerate(xs):
            h = t
            for w, b in zip(ws, bs):
                z = w * h + b
                h = (
                    act.a_minus * z + act.b_minus
                    if z < 0
                    else act.a_plus * z + act.b_plus
                )
            a[n, i] = h
    return a


def numpy_per_column(units, x):
    """Second reference: one vectorized numpy pass per column."""
    a = np.empty((len(x), len(units)))
    for i in range(len(units)):
        a[:, i] = units.subset([i]).evaluate(x)[:, 0]
    return a


def run(n2: int, n4: int, n_features: int) -> None:
    closes = hourly_closes_2017()
    rows = []
    for activation, depth, n, kw in [
        ("relu", 2, n2, {}),
        ("abs", 2, n2, {}),
        ("abs", 4, n4, {"n_features": n_features, "random_state": 0}),
    ]:
        x = standardized_window(closes, 0, n)
        lib = Library(activation=activation, depth=depth, **kw)
        a, t_vec, peak = measure(lib.fit_transform, x, repeat=3)
        t0 = time.perf_counter()
        ref = loop_columns(lib.features_, x)
        t_loop = time.perf_counter() - t0
        t0 = time.perf_counter()
        numpy_per_column(lib.features_, x)
        t_col = time.perf_counter() - t0
        assert np.allclose(a, ref, rtol=1e-12, atol=1e-12)
        rows.append(
            (f"{activation} depth {depth}", n, a.shape[1], t_vec, peak, t_loop, t_col)
        )
    print(
        f"{'library':<14} {'N':>5} {'columns':>8} {'build s':>8} {'peak MiB':>9} "
        f"{'loop s':>8} {'x loop':>7} {'x numpy/col':>11}"
    )
    for name, n, p, t_vec, peak, t_loop, t_col in rows:
        print(
            f"{name:<14} {n:>5} {p:>8} {t_vec:>8.4f} {peak / 2**20:>9.1f} "
            f"{t_loop:>8.2f} {t_loop / t_vec:>7.0f} {t_col / t_vec:>11.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    args = parser.parse_args()
    if args.quick:
        run(200, 100, 100)
    else:
        run(2000, 1000, 1000)


if __name__ == "__main__":
    main()
