"""Speed of a rolling ConvexAR backtest against a dense LassoLars competitor.

The reference backtest: the 8,760 hourly 2017 BTC closes, ConvexAR
(2-layer abs network, lags=1, default beta and target), a rolling window of
T = 2000 hours refit every 24 hours, and 1-step forecasts over the remaining
6,760 hours, with ``n_jobs=2``. Targets: at most 30 s, and at least 20x
faster than the same backtest where every refit builds the dense 2-layer abs
dictionary ``|x_i - x_j|`` and solves it with ``sklearn.linear_model.
LassoLars``, measured in the same run.

Both forecasters solve the same problem, the Section 4 scaling (4.3)

    (1/T) sum_t (A z + xi - y)_t^2 + beta ||z||_1,

which is twice sklearn's ``(1/(2T)) ||A z + xi - y||^2 + alpha ||z||_1`` at
``alpha = beta / 2``. The script checks that on the first window both reach
the same objective value.

The same two backtests are also timed serially (``n_jobs=1``).

Usage: python benchmarks/bench_backtest.py [--quick] [--n-jobs N]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from _common import GEMINI_2017
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LassoLars

from tsmirrors.backtesting import backtest
from tsmirrors.data import lag_embed, load_prices
from tsmirrors.forecasting import DEFAULT_TARGET, ConvexAR, make_transform

WINDOW = 2000
REFIT_EVERY = 24


class DenseLassoLarsAR(BaseEstimator):
    """Competitor: the 2-layer abs AR network solved by sklearn LassoLars.

    Each fit builds the dense ``(T, T)`` dictionary ``A[i, j] = |x_i - x_j|``
    of the transformed lag-1 inputs and solves ``LassoLars(alpha=beta / 2,
    fit_intercept=True)``, the (4.3) problem of :class:`ConvexAR`. It
    follows the forecaster contract (``fit``, ``predict_point`` with
    ``last_window``).

    Parameters
    ----------
    beta : float, default=1.0
        beta of (4.3), as in :class:`ConvexAR`.
    target : str, default=DEFAULT_TARGET
        Target transform, as in :class:`ConvexAR`.
    normalize : bool, default=True
        Divide the transformed series by its training standard deviation,
        as in :class:`ConvexAR`.
    """

    def __init__(self, beta: float = 1.0, target: str = DEFAULT_TARGET,
                 normalize: bool = True):
        self.beta = beta
        self.target = target
        self.normalize = normalize

    def fit(self, y) -> DenseLassoLarsAR:
        levels = np.asarray(y, dtype=np.float64)
        self.transform_ = make_transform(self.target).fit(levels)
        z = self.transform_.forward(levels)
        self.z_scale_ = float(np.std(z)) if self.normalize else 1.0
        X, t, _ = lag_embed(z / self.z_scale_, lags=1)
        x = X[:, 0]
        A = np.abs(x[:, None] - x[None, :])
        with warnings.catch_warnings():
            # LassoLars stops early on this dictionary; its objective shows it
            warnings.simplefilter("ignore", ConvergenceWarning)
            lars = LassoLars(alpha=self.beta / 2.0, fit_intercept=True).fit(A, t)
        active = np.flatnonzero(lars.coef_)
        self.knots_ = x[active]
        self.coef_ = lars.coef_[active]
        self.intercept_ = float(lars.intercept_)
        r = A[:, active] @ self.coef_ + self.intercept_ - t
        self.objective_ = float(np.mean(r**2) + self.beta * np.abs(self.coef_).sum())
        self.sklearn_objective_ = float(
            0.5 * np.mean(r**2) + lars.alpha * np.abs(self.coef_).sum()
        )
        self.window_ = levels[-(1 + self.transform_.offset) :].copy()
        return self

    def predict_point(self, steps: int = 1, last_window=None) -> pd.Series:
        need = 1 + self.transform_.offset
        window = (
            self.window_ if last_window is None
            else np.asarray(last_window, dtype=np.float64)[-need:]
        )
        z = self.transform_.forward(window)[-1] / self.z_scale_
        path = np.empty(steps)
        for h in range(steps):
            z = self.intercept_ + self.coef_ @ np.abs(z - self.knots_)
            path[h] = z
        return pd.Series(
            self.transform_.path_to_levels(path * self.z_scale_, window[-1])
        )


def competitor(convex: ConvexAR) -> DenseLassoLarsAR:
    """The LassoLars forecaster solving the same problem as ``convex``."""
    return DenseLassoLarsAR(beta=convex.beta, target=convex.target,
                            normalize=getattr(convex, "normalize", False))


def check_same_problem(closes: pd.Series, beta: float) -> None:
    """Both solvers reach the same (4.3) objective on the first window."""
    window = closes.iloc[:WINDOW]
    convex = ConvexAR(lags=1, activation="abs", depth=2, beta=beta).fit(window)
    dense = competitor(convex).fit(window)
    rel = abs(convex.objective_ - dense.objective_) / abs(convex.objective_)
    print(f"objective (4.3) on the first {WINDOW}-hour window, beta={beta:g}, "
          f"target={convex.target!r}:")
    print(f"  ConvexAR             {convex.objective_:.10g}  "
          f"({convex.regressor_.n_neurons_} neurons)")
    print(f"  LassoLars(alpha=b/2) {dense.objective_:.10g}  "
          f"({dense.coef_.size} neurons; sklearn objective x 2 = "
          f"{2 * dense.sklearn_objective_:.10g})")
    if rel < 1e-9:
        verdict = "same optimum: the two solve the same problem"
    elif dense.objective_ > convex.objective_:
        verdict = "LassoLars stops above the optimum ConvexAR reaches"
    else:
        raise SystemExit(
            f"LassoLars reaches a lower objective than ConvexAR ({rel:.1e}): the "
            "two do not solve the same problem"
        )
    print(f"  relative difference  {rel:.1e}  -> {verdict}")


def timed_backtest(forecaster, closes, n_jobs: int):
    t0 = time.perf_counter()
    scores, pred = backtest(
        forecaster, closes, WINDOW, steps=1, refit=REFIT_EVERY, window="rolling",
        metrics=("mse", "mae", "mase"), n_jobs=n_jobs, progress=False,
    )
    return time.perf_counter() - t0, scores, pred


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="forecast 480 hours instead of 6,760")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--beta", type=float, default=ConvexAR().beta,
                        help="beta of both models (default: ConvexAR's)")
    args = parser.parse_args(argv)

    closes = load_prices(GEMINI_2017)["close"]
    if args.quick:
        closes = closes.iloc[: WINDOW + 480]
    hours = closes.size - WINDOW
    print(f"{closes.size} hourly closes, rolling window {WINDOW}, refit every "
          f"{REFIT_EVERY} h, {hours} one-step forecasts, {-(-hours // REFIT_EVERY)} "
          f"fits, n_jobs={args.n_jobs}")
    check_same_problem(closes, args.beta)

    # start the worker pool once (16 fits, so that every worker has imported
    # everything), so neither timing includes process start-up
    backtest(ConvexAR(beta=args.beta), closes.iloc[: WINDOW + 16 * REFIT_EVERY], WINDOW,
             refit=REFIT_EVERY, window="rolling", n_jobs=args.n_jobs,
             progress=False, metrics="mae")
    convex = ConvexAR(lags=1, activation="abs", depth=2, beta=args.beta)
    t_convex, s_convex, p_convex = timed_backtest(convex, closes, args.n_jobs)
    dense = competitor(convex)
    t_dense, s_dense, p_dense = timed_backtest(dense, closes, args.n_jobs)

    table = pd.DataFrame(
        [s_convex.loc["overall"], s_dense.loc["overall"]],
        index=["ConvexAR", "LassoLars (dense)"],
    )
    table.insert(0, "seconds", [t_convex, t_dense])
    print()
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    gap = np.abs(p_convex["y_pred"] - p_dense["y_pred"]).max()
    print(f"largest difference between the two forecasts: {gap:.3g}")
    ratio = t_dense / t_convex
    n_fits = -(-hours // REFIT_EVERY)
    print(f"wall time per refit (and its {REFIT_EVERY} forecasts), "
          f"n_jobs={args.n_jobs}: ConvexAR {1e3 * t_convex / n_fits:.2f} ms, LassoLars "
          f"{1e3 * t_dense / n_fits:.1f} ms")
    t1_convex = timed_backtest(convex, closes, 1)[0]
    t1_dense = timed_backtest(dense, closes, 1)[0]
    print(f"serial (n_jobs=1): ConvexAR {t1_convex:.2f} s, LassoLars {t1_dense:.2f} s "
          f"-> {t1_dense / t1_convex:.1f}x")
    print()
    print(f"ConvexAR backtest: {t_convex:.2f} s (target <= 30 s: "
          f"{'met' if t_convex <= 30 else 'MISSED'})")
    print(f"speed-up over dense LassoLars: {ratio:.1f}x (target >= 20x: "
          f"{'met' if ratio >= 20 else 'MISSED'})")


if __name__ == "__main__":
    main()
