"""Speed and memory of ``tsmirrors.solvers`` against named competitors.

Every ratio is measured in this run, on this machine:

* squared loss, 2-layer abs and relu dictionaries of standardized windows of
  hourly BTC closes (autoregression ``x = close[t-1]``, ``y = close[t]``), at
  the penalty ``beta = 1`` of the paper's Section 4 scaling and at a penalty
  leaving 20-50 neurons, against sklearn ``lars_path`` on the dense
  dictionary and skglm ``Lasso(tol=1e-8)``;
* a year of minutes: a random walk of 525,600 points (time, peak memory,
  certificate);
* quantile loss, 2-layer relu and abs, against
  ``QuantileRegressor(solver="highs")`` on the dense dictionary, and a long
  series of 50,000 points;
* a sampled dense library (1000 random 3-layer abs features) against
  ``LassoLars``;
* the regularization path deep into near-interpolation: a random walk of
  N = 1,000 points down to ``beta_sum = 1e-4``, ``lasso_path`` (kinks, share
  certified) and ``lasso`` at that penalty, against sklearn ``lars_path`` on
  the dense centred dictionary.

Scaling. (4.3) reads ``(1/T) sum_t L(f(x_t) - x_{t+1}) + (beta/2) ||theta_w||^2``;
the weights of a 2-layer unit enter as ``|w alpha| <= (w^2 + alpha^2)/2``, so
the Lasso is ``(1/T) ||A z + xi - y||^2 + beta ||z||_1`` for ``L(u) = u^2``.
Multiplying by ``T/2`` gives the convention of the solvers,
``1/2 ||A z + xi - y||^2 + (T beta / 2) ||z||_1``: ``beta = 1`` is
``beta_sum = T / 2``. For the pinball loss (no factor 1/2) it is ``beta_sum =
T beta``. scikit-learn and skglm minimize ``1/(2T) ||.||^2 + alpha ||z||_1``
and ``(1/T) sum L_tau + alpha ||z||_1``: ``alpha = beta_sum / T``.

Run ``python benchmarks/bench_solvers.py`` (a few minutes) or with
``--quick`` for a smoke run; ``--only long`` (or ``squared``, ``quantile``,
``sampled``, ``deep-path``) runs one section.
"""

from __future__ import annotations

import argparse
import functools
import pathlib
import resource
import sys
import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LassoLars, QuantileRegressor, lars_path

from tsmirrors.features.operators import TwoLayerOperator
from tsmirrors.solvers import (
    lasso,
    lasso_beta_max,
    lasso_path,
    pinball_loss,
    quantile_beta_max,
    quantile_lasso,
)

DATA = (pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "btc"
        / "BTCUSD_gemini_1h_2017.csv")


def _fit_operator_lasso(x, name, y, beta):
    return lasso(TwoLayerOperator.from_inputs(x, name), y, beta)


def _fit_operator_quantile(x, name, y, beta, tau):
    return quantile_lasso(TwoLayerOperator.from_inputs(x, name), y, beta, tau)


def timed(fn, repeat=1):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def sq_objective(A, y, z, xi, beta):
    r = A @ z + xi - y
    return 0.5 * float(r @ r) + beta * float(np.abs(z).sum())


def q_objective(A, y, z, xi, beta, tau):
    return float(pinball_loss(y - A @ z - xi, tau).sum() + beta * np.abs(z).sum())


def btc_windows(T, n_windows):
    close = pd.read_csv(DATA)["close"].to_numpy(dtype=float)
    out = []
    for k in range(n_windows):
        w = close[k * 2 * T : k * 2 * T + T + 1]
        w = (w - w.mean()) / w.std()
        out.append((w[:-1], w[1:]))
    return out


def beta_for_neurons(op, y, lo=20, hi=50, loss="squared", tau=0.5):
    """Bisection on log(beta) for a solution with lo..hi nonzero coefficients."""
    if loss == "squared":
        bmax = lasso_beta_max(op, y)

        def count(b):
            return lasso(op, y, b).n_active
    else:
        bmax = quantile_beta_max(op, y, tau)

        def count(b):
            return quantile_lasso(op, y, b, tau).n_active
    a, b = np.log(bmax), np.log(bmax * 1e-7)
    for _ in range(40):
        mid = 0.5 * (a + b)
        n = count(np.exp(mid))
        if lo <= n <= hi:
            return float(np.exp(mid))
        a, b = (mid, b) if n < lo else (a, mid)
    return float(np.exp(mid))


def bench_squared(T, n_windows, with_skglm):
    print(f"\n== Squared loss, 2-layer, BTC hourly windows T={T} ==")
    print("ratio = competitor time / tsmirrors time, best of 3 each (skglm: one "
          "run); tsmirrors includes building the operator, competitors get the "
          "prebuilt dense dictionary")
    try:
        from skglm import Lasso as SkglmLasso
    except ImportError:
        SkglmLasso = None
        with_skglm = False
        print("skglm not installed: its column is skipped (pip install skglm)")
    rows = []
    for w, (x, y) in enumerate(btc_windows(T, n_windows)):
        for name in ("abs", "relu"):
            op = TwoLayerOperator.from_inputs(x, name)
            D = op.toarray()
            Dc = D - D.mean(axis=0)
            yc = y - y.mean()
            for label, beta in (("beta=1 (T/2)", T / 2.0),
                                ("20-50 neurons", beta_for_neurons(op, y))):
                t_ours, res = timed(
                    functools.partial(_fit_operator_lasso, x, name, y, beta), repeat=3)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t_lars, (_, _, coefs) = timed(functools.partial(
                        lars_path, Dc, yc, method="lasso", alpha_min=beta / T),
                        repeat=3)
                z = coefs[:, -1]
                o_lars = sq_objective(D, y, z, y.mean() - D.mean(0) @ z, beta)
                row = dict(window=w, act=name, beta=label, neurons=res.n_active,
                           t_ours=t_ours, kkt=res.kkt_residual,
                           x_lars=t_lars / t_ours,
                           dobj_lars=(o_lars - res.objective) / res.objective)
                if with_skglm:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        est = SkglmLasso(alpha=beta / T, tol=1e-8, fit_intercept=True)
                        t_sk, m = timed(functools.partial(est.fit, D, y))
                    o_sk = sq_objective(D, y, m.coef_, m.intercept_, beta)
                    row.update(x_skglm=t_sk / t_ours,
                               dobj_skglm=(o_sk - res.objective) / res.objective)
                rows.append(row)
                print("  " + "  ".join(
                    f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in row.items()), flush=True)
    df = pd.DataFrame(rows)
    fmt = "{:.3g}".format
    with pd.option_context("display.width", 200, "display.float_format", fmt):
        print(df.to_string(index=False))
    print("dobj_* = (competitor objective - tsmirrors objective) / tsmirrors "
          "objective; > 0 means the competitor is worse")
    return df


def random_walk(n, seed=0):
    rng = np.random.default_rng(seed)
    w = np.cumsum(rng.normal(size=n + 1))
    w = (w - w.mean()) / w.std()
    return w[:-1], w[1:]


def bench_long(n, betas):
    print(f"\n== Squared loss, random walk N={n}, 2-layer (target <= 10 s, "
          "<= 1 GiB, certificate <= 1e-8) ==")
    x, y = random_walk(n)
    for name in ("abs", "relu"):
        beta = betas[name]
        t, res = timed(functools.partial(_fit_operator_lasso, x, name, y, beta))
        tracemalloc.start()
        lasso(TwoLayerOperator.from_inputs(x, name), y, beta)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(f"{name:5s} beta={beta:.4g} neurons={res.n_active} time={t:.2f}s "
              f"peak(tracemalloc)={peak:.0f} MiB KKT={res.kkt_residual:.1e} "
              f"gap/objective={res.duality_gap / res.objective:.1e} "
              f"converged={res.converged}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS so far: {rss:.0f} MiB")


def bench_quantile(T, T_long, tau=0.9):
    print(f"\n== Quantile loss (tau={tau}), 2-layer, BTC window T={T} ==")
    (x, y), = btc_windows(T, 1)
    for name in ("relu", "abs"):
        op = TwoLayerOperator.from_inputs(x, name)
        D = op.toarray()
        beta = 0.01 * quantile_beta_max(op, y, tau)
        t_ours, res = timed(
            functools.partial(_fit_operator_quantile, x, name, y, beta, tau), repeat=2)
        est = QuantileRegressor(quantile=tau, alpha=beta / T, solver="highs")
        t_qr, m = timed(functools.partial(est.fit, D, y))
        o_qr = q_objective(D, y, m.coef_, m.intercept_, beta, tau)
        below = float(np.mean(y < D @ res.coef + res.intercept))
        print(f"{name:5s} beta={beta:.4g} neurons={res.n_active} ours={t_ours:.3f}s "
              f"QuantileRegressor={t_qr:.2f}s ratio={t_qr / t_ours:.1f}x "
              f"dobj={(o_qr - res.objective) / res.objective:.1e} "
              f"gap={res.kkt_residual:.1e} fraction below={below:.3f}")
    print(f"-- long series T={T_long} (target <= 30 s) --")
    x, y = random_walk(T_long, seed=1)
    for name in ("relu", "abs"):
        op = TwoLayerOperator.from_inputs(x, name)
        beta = 0.01 * quantile_beta_max(op, y, tau)
        t, res = timed(
            functools.partial(_fit_operator_quantile, x, name, y, beta, tau))
        print(f"{name:5s} beta={beta:.4g} neurons={res.n_active} time={t:.1f}s "
              f"gap={res.kkt_residual:.1e} converged={res.converged} "
              f"[{res.message}]")


def bench_sampled(T, n_features=1000):
    print(f"\n== Sampled 3-layer abs library ({n_features} features), BTC T={T} ==")
    (x, y), = btc_windows(T, 1)
    rng = np.random.default_rng(0)
    j1 = rng.integers(0, T, n_features)
    j2 = rng.integers(0, T, n_features)
    A = np.abs(np.abs(x[:, None] - x[j1]) - np.abs(x[j2] - x[j1]))
    beta = beta_for_neurons(A, y)
    t_ours, res = timed(functools.partial(lasso, A, y, beta), repeat=3)
    est = LassoLars(alpha=beta / T, fit_intercept=True, max_iter=10_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t_ll, m = timed(functools.partial(est.fit, A, y), repeat=3)
    o_ll = sq_objective(A, y, m.coef_, m.intercept_, beta)
    print(f"beta={beta:.4g} neurons={res.n_active} ours={t_ours:.3f}s "
          f"LassoLars={t_ll:.3f}s ratio={t_ll / t_ours:.1f}x "
          f"dobj={(o_ll - res.objective) / res.objective:.1e} "
          f"KKT={res.kkt_residual:.1e}")


def bench_deep_path(n, beta=1e-4):
    print(f"\n== Squared loss, random walk N={n}, 2-layer, path down to "
          f"beta_sum={beta:g} (target: >= 500 neurons certified in < 1 s) ==")
    print("ratio = lars_path time / tsmirrors time, one run each (lasso: best of "
          "3); lars_path gets the prebuilt dense centred dictionary; dobj_lars "
          "= (objective of lars_path - ours) / ours, >= 0 when ours is lower")
    x, y = random_walk(n)
    for name in ("abs", "relu"):
        op = TwoLayerOperator.from_inputs(x, name)
        small = TwoLayerOperator.from_inputs(x[:50], name)
        lasso_path(small, y[:50], beta_min=beta)  # compiled code loaded
        t_path, path = timed(functools.partial(lasso_path, op, y, beta_min=beta))
        t_fit, res = timed(functools.partial(lasso, op, y, beta), repeat=3)
        D = op.toarray()
        Dc, yc = D - D.mean(axis=0), y - y.mean()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_lars, (_, _, coefs) = timed(functools.partial(
                lars_path, Dc, yc, method="lasso", alpha_min=beta / n))
        z = coefs[:, -1]
        o_lars = sq_objective(D, y, z, y.mean() - D.mean(0) @ z, beta)
        met = res.converged and res.n_active >= 500 and t_fit < 1.0
        print(f"{name:5s} path: time={t_path:.2f}s kinks={path.n_kinks} "
              f"certified={path.certified.mean():.3f} "
              f"neurons(end)={path.n_active()[-1]} x_lars={t_lars / t_path:.3g} | "
              f"lasso: time={t_fit:.2f}s neurons={res.n_active} "
              f"converged={res.converged} kkt={res.kkt_residual:.1e} "
              f"x_lars={t_lars / t_fit:.3g} "
              f"dobj_lars={(o_lars - res.objective) / res.objective:.2g} "
              f"target={'met' if met else 'not met'}")


SECTIONS = ("squared", "long", "quantile", "sampled", "deep-path")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, a smoke run of every section")
    parser.add_argument("--no-skglm", action="store_true", help="skip skglm")
    parser.add_argument("--deep-path", action="store_true",
                        help="only the path deep into near-interpolation")
    parser.add_argument("--only", choices=SECTIONS, default=None,
                        help="run only this section")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    warnings.simplefilter("ignore", ConvergenceWarning)
    only = "deep-path" if args.deep_path else args.only
    if args.quick:
        sections = {
            "squared": lambda: bench_squared(500, 1, not args.no_skglm),
            "long": lambda: bench_long(50_000, {"abs": 0.02, "relu": 0.02}),
            "quantile": lambda: bench_quantile(500, 5_000),
            "sampled": lambda: bench_sampled(300, 300),
            "deep-path": lambda: bench_deep_path(300),
        }
    else:
        sections = {
            "squared": lambda: bench_squared(2000, 1, not args.no_skglm),
            "long": lambda: bench_long(525_600, {"abs": 0.014, "relu": 0.014}),
            "quantile": lambda: bench_quantile(2000, 50_000),
            "sampled": lambda: bench_sampled(1000, 1000),
            "deep-path": lambda: bench_deep_path(1000),
        }
    for name in SECTIONS:
        if only is None or name == only:
            sections[name]()


if __name__ == "__main__":
    main()
