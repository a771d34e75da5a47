"""Quantile Lasso over a deep library against scikit-learn's QuantileRegressor.

A depth-3 abs library (with midpoint biases) on N points of a standardized
random walk has N rows and about N^3 / 2 columns: the dense quantile LP of
``ConvexQuantileAR(depth=3)``. tsmirrors solves it by column generation
(HiGHS on a working set of columns, priced with ``A^T g``);
``QuantileRegressor(solver="highs")`` hands the whole LP to HiGHS (through
scipy, presolve on). Both minimize ``sum L_tau + beta ||z||_1`` (alpha =
beta / N in scikit-learn's scaling); the objectives are printed to show they
agree.

Run ``python benchmarks/bench_quantile_deep.py`` (about a minute) or with
``--quick``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def _objective(A, y, z, xi, beta, tau):
    r = y - A @ z - xi
    return float(np.sum(np.maximum(tau * r, (tau - 1.0) * r)) + beta * np.abs(z).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 20 and 30 only")
    args = parser.parse_args()
    from sklearn.linear_model import QuantileRegressor

    from tsmirrors.features import Library
    from tsmirrors.solvers import quantile_lasso

    sizes = (20, 30) if args.quick else (20, 30, 40)
    print("depth-3 abs library, tau = 0.05, beta = N (ConvexQuantileAR's beta=1)")
    header = (f"{'N':>4} {'columns':>8} {'tsmirrors s':>12} {'sklearn s':>10} "
              f"{'speed-up':>9} {'objective rel. diff':>20}")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    for n in sizes:
        walk = np.cumsum(rng.normal(size=n + 1))
        walk = (walk - walk.mean()) / walk.std()
        x, y = walk[:-1], walk[1:]
        A = Library(activation="abs", depth=3).fit_transform(x)
        beta, tau = float(n), 0.05
        t0 = time.perf_counter()
        ours = quantile_lasso(A, y, beta, tau)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = QuantileRegressor(quantile=tau, alpha=beta / n,
                                    solver="highs").fit(A, y)
        t_ref = time.perf_counter() - t0
        f_ref = _objective(A, y, ref.coef_, ref.intercept_, beta, tau)
        print(f"{n:>4} {A.shape[1]:>8,} {t_ours:>12.2f} {t_ref:>10.2f} "
              f"{t_ref / t_ours:>9.1f} "
              f"{abs(ours.objective - f_ref) / f_ref:>20.1e}")


if __name__ == "__main__":
    main()
