"""Speed of multi-level quantile fits, against the cold dense LP and scikit-learn.

Three measurements, each against named competitors in the same run:

1. one fit of ``ScaledQuantileAR(lags=10)`` at T = 2000 hourly BTC changes
   with 6 levels (0.01, 0.05, 0.1, 0.9, 0.95, 0.99): the model as it fits now
   (the narrow dual LP, one live HiGHS model re-solved from the previous
   level's basis), against the same 6 quantile Lassos solved cold one by one
   on the dense LP (``formulation="dense"``, the route before), and against
   ``QuantileRegressor(solver="highs")`` on the dense design. Objectives are
   printed as the largest relative difference to the scikit-learn optimum;
2. the same for ``ConvexQuantileAR(lags=10, n_features=20)`` (fit against the
   cold dense LP on its design), and for ``ConvexQuantileAR(lags=5)`` at its
   defaults (the exact library, per-column slope chains, one live model
   re-solved by the primal simplex across levels) at T = 1000 daily changes,
   against the cold dense LP only (scikit-learn takes minutes there);
3. the daily BTC backtest of ``ScaledQuantileAR()`` at its defaults (6
   levels, rolling window 1,000, refit at every one of the last ``--origins``
   origins, 1,650 by default), wall and CPU time, against the cold dense LP
   per fit timed on ``--sample`` of those windows and scaled to all origins.

    python benchmarks/bench_quantile_speed.py [--origins 1650] [--sample 10]
        [--n-jobs 1] [--skip-backtest]

Times are CPU seconds of this process (and wall); on a shared machine they
are noisy, so compare the ratios measured within one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import SHARED  # noqa: E402
from tsmirrors.backtesting import backtest  # noqa: E402
from tsmirrors.data import load_prices  # noqa: E402
from tsmirrors.forecasting import ConvexQuantileAR, ScaledQuantileAR  # noqa: E402
from tsmirrors.solvers import pinball_loss, quantile_lasso  # noqa: E402

TAUS = (0.01, 0.05, 0.1, 0.9, 0.95, 0.99)


def _cpu(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def _design_of(model):
    """The fitted regressor's design and beta~, rebuilt from its libraries."""
    from tsmirrors.models.convex import HStackDesign

    ops = [lib.operator() for lib in model.libraries_]
    return HStackDesign(ops), model.beta_tilde_


def _objective(D, y, coef, intercept, beta, tau):
    return float(pinball_loss(y - D @ coef - intercept, tau).sum()
                 + beta * np.abs(coef).sum())


def _compare(label, fitted, X, y, fit_cpu, sklearn=True):
    """Cold dense LP per level and scikit-learn on the dense design."""
    from sklearn.linear_model import QuantileRegressor

    design, beta = _design_of(fitted[0])
    D = design.toarray()
    ours = [m.objective_ for m in fitted]
    colds, _, cold_cpu = _cpu(lambda: [
        quantile_lasso(design, y, beta, tau, formulation="dense") for tau in TAUS
    ])
    cold_gap = max(abs(o - c.objective) / abs(o) for o, c in zip(ours, colds))
    print(f"\n### {label}: T = {y.size}, {X.shape[1]} inputs, "
          f"{D.shape[1]} features, 6 levels\n")
    routes = sorted({m.solver_result_.message for m in fitted})
    print(f"- now: {fit_cpu:.3f} CPU-s for the whole fit ({'; '.join(routes)}, "
          f"all certified: {all(m.solver_result_.converged for m in fitted)})")
    print(f"- cold dense LP per level (the route before): {cold_cpu:.3f} CPU-s "
          f"({cold_cpu / fit_cpu:.1f}x now); largest relative objective "
          f"difference {cold_gap:.1e}")
    if sklearn:
        refs, _, sk_cpu = _cpu(lambda: [
            QuantileRegressor(quantile=tau, alpha=beta / y.size,
                              solver="highs").fit(D, y) for tau in TAUS
        ])
        gap = max(
            abs(o - _objective(D, y, r.coef_, r.intercept_, beta, tau))
            / abs(o)
            for o, r, tau in zip(ours, refs, TAUS)
        )
        print(f"- QuantileRegressor(solver='highs') on the dense design: "
              f"{sk_cpu:.3f} CPU-s ({sk_cpu / fit_cpu:.1f}x now); largest "
              f"relative objective difference {gap:.1e}")


def one_fit(window=2000, lags=10):
    y = load_prices(SHARED / "BTCUSD_gemini_1h_2017.csv")["close"].iloc[: window + 1]
    model = ScaledQuantileAR(quantiles=TAUS, lags=lags)
    model.fit(y.iloc[:200])  # imports and compilation
    _, wall, cpu = _cpu(lambda: model.fit(y))
    from tsmirrors.forecasting.volatility import BURN_IN

    z = model.transform_.forward(y.to_numpy())
    sigma = model._scales(z)
    rows = np.arange(max(lags, BURN_IN), z.size)
    X = model._inputs(z, sigma, rows)
    u = z[rows] / sigma[rows]
    _compare(f"ScaledQuantileAR(lags={lags}) ({wall:.3f} s wall)", model.models_,
             X, u, cpu)

    conv = ConvexQuantileAR(quantiles=TAUS, lags=lags, n_features=20)
    conv.fit(y.iloc[:200])
    _, wall, cpu = _cpu(lambda: conv.fit(y))
    fitted = [conv.models_[1, j] for j in range(len(TAUS))]
    # the one-step targets of the fit (no calibration rows at the defaults)
    z = conv._scaled_target(conv.transform_.forward(y.to_numpy()))
    target = z[lags:]
    _compare(f"ConvexQuantileAR(lags={lags}, n_features=20) ({wall:.3f} s wall)",
             fitted, np.empty((target.size, lags)), target, cpu)


def exact_library(window=1000, lags=5):
    """``ConvexQuantileAR(lags=5)`` at its defaults: the exact library."""
    import warnings

    y = load_prices(SHARED / "BTC-Daily.csv")["close"].iloc[-(window + 1):]
    conv = ConvexQuantileAR(quantiles=TAUS, lags=lags)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the library-size notice, if any
        _, wall, cpu = _cpu(lambda: conv.fit(y))
    fitted = [conv.models_[1, j] for j in range(len(TAUS))]
    z = conv._scaled_target(conv.transform_.forward(y.to_numpy()))
    target = z[lags:]
    # scikit-learn on the dense 1000 x 10^4 design takes minutes: left out
    _compare(f"ConvexQuantileAR(lags={lags}), daily BTC ({wall:.3f} s wall)",
             fitted, np.empty((target.size, lags)), target, cpu, sklearn=False)


def daily_backtest(origins=1650, sample=10, window=1000, n_jobs=1):
    y = load_prices(SHARED / "BTC-Daily.csv")["close"].iloc[-(window + origins):]
    model = ScaledQuantileAR(quantiles=TAUS)
    _, wall, cpu = _cpu(lambda: backtest(
        model, y, initial_train_size=window, window="rolling", refit=1,
        metrics=("pinball",), progress=False, n_jobs=n_jobs,
    ))
    # the route before: the 6 quantile Lassos of a fit solved cold on the
    # dense LP, timed on `sample` windows spread over the backtest
    starts = np.linspace(0, origins - 1, sample).astype(int)
    cold = []
    for s in starts:
        fitted = ScaledQuantileAR(quantiles=TAUS).fit(y.iloc[s:s + window])
        design, beta = _design_of(fitted.models_[0])
        u = _standardized(fitted, y.iloc[s:s + window])
        c0 = time.process_time()
        for tau in TAUS:
            quantile_lasso(design, u, beta, tau, formulation="dense")
        cold.append(time.process_time() - c0)
    cold_total = float(np.mean(cold)) * origins
    # with workers, this process's CPU time misses theirs: compare the wall
    now = cpu if n_jobs == 1 else wall
    print(f"\n### daily BTC backtest, ScaledQuantileAR() defaults, {origins} "
          f"origins, refit at each, window {window}\n")
    print(f"- now: {wall:.1f} s wall, {cpu:.1f} CPU-s of this process "
          f"(n_jobs={n_jobs})")
    print(f"- cold dense LP per fit, solves only, from {sample} windows: "
          f"{np.mean(cold):.3f} CPU-s per fit, about {cold_total:.0f} CPU-s for "
          f"{origins} fits ({cold_total / now:.1f}x the whole backtest's "
          f"{'CPU' if n_jobs == 1 else 'wall'} time now)")


def _standardized(fitted, y):
    from tsmirrors.forecasting.volatility import BURN_IN

    z = fitted.transform_.forward(y.to_numpy())
    sigma = fitted._scales(z)
    rows = np.arange(max(fitted._n_lags(), BURN_IN), z.size)
    return z[rows] / sigma[rows]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--origins", type=int, default=1650)
    parser.add_argument("--sample", type=int, default=10)
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="workers of the backtest (CPU time then counts "
                        "only this process)")
    parser.add_argument("--skip-backtest", action="store_true")
    args = parser.parse_args(argv)
    one_fit()
    exact_library()
    if not args.skip_backtest:
        daily_backtest(args.origins, args.sample, n_jobs=args.n_jobs)


if __name__ == "__main__":
    main()
