"""tsmirrors against the forecasting libraries a forecaster would otherwise use.

One rolling-origin backtest, the same origins, windows and horizons for
every model, on real series: sunspots (statsmodels), lynx (R's datasets,
``benchmarks/data/lynx.csv``), airline passengers (statsforecast), and the
shared BTC closes (daily; hourly 2018-2022). Peers: statsforecast
``AutoARIMA``, ``AutoETS``, ``Naive`` and ``SeasonalNaive`` (native
intervals), skforecast ``ForecasterRecursive`` with ``Ridge`` and with
LightGBM (bootstrapped intervals); tsmirrors ``ConvexAR()`` at its
defaults (every setting chosen by cross-validation inside each training
window), the same with ``cv_rule="1se"``, the fixed one-lag network of
earlier versions, and ``ConvexQuantileAR`` at its defaults and with every
setting ``"auto"``.

Printed per series and model: MASE (scale: the training window's one-step
naive MAE) at h=1 and over 1..H, MSE relative to the naive forecast at the
same origins (h=1 and 1..H), coverage and mean width of the 80% and 90%
intervals, the mean pinball loss over the levels (0.05, 0.1, 0.9, 0.95)
scaled like MASE, and the wall time of the whole backtest. Nothing is tuned
on the test periods: every model runs at fixed settings.

The peers (the ``bench`` extra) need pandas < 3: run in an environment that
has them, with single-threaded BLAS (threads only add contention)::

    OMP_NUM_THREADS=1 python benchmarks/bench_peers.py --quick
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _common import SHARED

DATA = Path(__file__).resolve().parent / "data"
LEVELS = (0.05, 0.1, 0.9, 0.95)  # the 90% and 80% central intervals


# ------------------------------------------------------------------ series
def load_series(name: str) -> tuple[np.ndarray, int, int, int | None]:
    """Values, seasonal period, horizon and training window (None: expanding)."""
    if name == "sunspots":
        import statsmodels.api as sm

        y = sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
        return y.astype(float), 1, 5, None
    if name == "lynx":
        y = pd.read_csv(DATA / "lynx.csv")["lynx"].to_numpy()
        return y.astype(float), 1, 5, None
    if name == "airline":
        from statsforecast.utils import AirPassengers

        return np.asarray(AirPassengers, dtype=float), 12, 12, None
    if name == "btc_daily":
        df = pd.read_csv(SHARED / "BTC-Daily.csv").sort_values("unix")
        return df["close"].to_numpy(dtype=float), 7, 7, 1000
    if name == "btc_hourly":
        df = pd.read_csv(SHARED / "BTC-Hourly.csv").sort_values("unix")
        t = pd.to_datetime(df["unix"], unit="s")
        df = df[(t >= "2018-01-01") & (t < "2023-01-01")]
        return df["Close"].to_numpy(dtype=float), 24, 24, 2000
    raise ValueError(name)


# ------------------------------------------------------------------ models
def _statsforecast(model_cls, m, **kw):
    def run(train, h):
        if model_cls.__name__ in ("SeasonalNaive",) and m == 1:
            return None
        args = {"season_length": m} if model_cls.__name__ != "Naive" else {}
        model = model_cls(**args, **kw)
        out = model.forecast(y=train, h=h, level=[80, 90])
        q = np.column_stack([out["lo-90"], out["lo-80"], out["hi-80"], out["hi-90"]])
        return out["mean"], q

    return run


def _skforecast(estimator_factory, m):
    def run(train, h):
        from skforecast.recursive import ForecasterRecursive

        lags = max(10, m)
        f = ForecasterRecursive(estimator=estimator_factory(), lags=lags)
        s = pd.Series(train, index=pd.RangeIndex(train.size))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f.fit(s, store_in_sample_residuals=True)
            point = f.predict(h).to_numpy()
            q = f.predict_quantiles(h, quantiles=list(LEVELS), n_boot=100)
        return point, np.asarray(q, dtype=float)[:, -len(LEVELS):]

    return run


def _tsmirrors_point(**kw):
    def run(train, h):
        from tsmirrors.forecasting import ConvexAR

        multi = kw.get("strategy") in ("direct", "average")
        extra = {"max_horizon": h} if multi else {}
        model = ConvexAR(**kw, **extra).fit(train)
        return model.predict(h).to_numpy(), None

    return run


def _tsmirrors_quantile(**kw):
    def run(train, h):
        from tsmirrors.forecasting import ConvexQuantileAR

        model = ConvexQuantileAR(quantiles=(0.05, 0.1, 0.5, 0.9, 0.95),
                                 max_horizon=h, **kw).fit(train)
        q = model.predict_quantiles(h).to_numpy()
        return q[:, 2], q[:, [0, 1, 3, 4]]

    return run


def make_models(m: int, which: set[str]):
    from statsforecast.models import AutoARIMA, AutoETS, Naive, SeasonalNaive

    models = {
        "Naive": _statsforecast(Naive, m),
        "SeasonalNaive": _statsforecast(SeasonalNaive, m),
        "AutoARIMA": _statsforecast(AutoARIMA, m),
        "AutoETS": _statsforecast(AutoETS, m),
    }
    from lightgbm import LGBMRegressor
    from sklearn.linear_model import Ridge

    models["skf Ridge"] = _skforecast(Ridge, m)
    models["skf LightGBM"] = _skforecast(
        lambda: LGBMRegressor(n_estimators=100, verbose=-1, random_state=0), m
    )
    season = None if m == 1 else m
    # defaults only: the seasonal period describes the data (as season_length
    # does for the peers); every other setting is ConvexAR's default
    models["ConvexAR()"] = _tsmirrors_point(seasonal_period=season)
    models['ConvexAR(cv_rule="1se")'] = _tsmirrors_point(
        seasonal_period=season, cv_rule="1se"
    )
    models['ConvexAR(strategy="direct")'] = _tsmirrors_point(
        seasonal_period=season, strategy="direct"
    )
    models['ConvexAR(strategy="average")'] = _tsmirrors_point(
        seasonal_period=season, strategy="average"
    )
    models["ConvexAR(lags=1, beta=1)"] = _tsmirrors_point(
        lags=1, beta=1.0, target="difference"
    )
    models["ConvexQuantileAR()"] = _tsmirrors_quantile()
    models["ConvexQuantileAR(auto)"] = _tsmirrors_quantile(
        beta="auto", lags="auto", target="auto", seasonal_period=season
    )
    return {k: v for k, v in models.items() if not which or k in which}


# ---------------------------------------------------------------- backtest
def origins_of(n: int, h: int, n_origins: int) -> list[int]:
    """The last ``n_origins`` origins, ``h`` apart, the last test window ending at n."""
    return [n - h - k * h for k in range(n_origins)][::-1]


def run_series(name, n_origins, which):
    y, m, h, window = load_series(name)
    # an expanding window starts with four seasons (40 values at least)
    first = max(4 * m, 40) if window is None else window
    origins = [t for t in origins_of(y.size, h, n_origins) if t >= first]
    rows = []
    for label, fn in make_models(m, which).items():
        points, quants, scales = [], [], []
        t0 = time.perf_counter()
        skipped = False
        for t in origins:
            train = y[:t] if window is None else y[t - window : t]
            out = fn(train, h)
            if out is None:
                skipped = True
                break
            points.append(np.asarray(out[0], dtype=float))
            quants.append(None if out[1] is None else np.asarray(out[1], dtype=float))
            scales.append(np.mean(np.abs(np.diff(train))))
        wall = time.perf_counter() - t0
        if skipped:
            continue
        truth = np.stack([y[t : t + h] for t in origins])
        naive = np.stack([np.full(h, y[t - 1]) for t in origins])
        pred = np.stack(points)
        scale = np.asarray(scales)[:, None]
        err = truth - pred
        row = {
            "series": name,
            "model": label,
            "origins": len(origins),
            "MASE h1": np.mean(np.abs(err[:, 0]) / scale[:, 0]),
            "MASE 1..H": np.mean(np.abs(err) / scale),
            "relMSE h1": np.mean(err[:, 0] ** 2) / np.mean((truth - naive)[:, 0] ** 2),
            "relMSE 1..H": np.mean(err**2) / np.mean((truth - naive) ** 2),
        }
        if quants[0] is not None:
            q = np.sort(np.stack(quants), axis=-1)  # (origins, h, 4)
            for cov, lo, hi in ((80, 1, 2), (90, 0, 3)):
                inside = (truth >= q[..., lo]) & (truth <= q[..., hi])
                row[f"cov{cov}"] = inside.mean()
                row[f"width{cov}"] = np.mean((q[..., hi] - q[..., lo]) / scale)
            pin = 0.0
            for j, tau in enumerate(LEVELS):
                r = truth - q[..., j]
                pin += np.mean(np.maximum(tau * r, (tau - 1) * r) / scale)
            row["pinball"] = pin / len(LEVELS)
        row["wall s"] = wall
        rows.append(row)
        print(f"  {name:10s} {label:24s} {wall:7.1f}s", flush=True)
    return rows


def fit_times(n_rows: int = 2000, lag_counts=(10, 24), losses=("squared", "quantile")):
    """Fit times of the multi-lag additive network against LightGBM, same rows.

    The hourly BTC log returns of the last ``n_rows + max lag`` hours,
    standardized; the squared fit at beta=1e-2 (ConvexAR's (4.3) scaling) and
    the median (pinball) fit at the same beta, against LightGBM's squared
    and quantile objectives (100 trees) on the same lag matrix.
    """
    from lightgbm import LGBMRegressor

    from tsmirrors.models.convex import ConvexNetRegressor

    y, *_ = load_series("btc_hourly")
    z = np.diff(np.log(y))
    rows = []
    for p in lag_counts:
        w = z[-(n_rows + p):]
        w = (w - w.mean()) / w.std()
        X = np.column_stack([w[p - k : w.size - k] for k in range(1, p + 1)])
        t = w[p:]
        runs = {
            "squared": (ConvexNetRegressor(activation="abs", beta=n_rows * 1e-2 / 2),
                        LGBMRegressor(n_estimators=100, verbose=-1)),
            "quantile": (ConvexNetRegressor(activation="abs", beta=n_rows * 1e-2,
                                            loss="quantile", quantile=0.5),
                         LGBMRegressor(n_estimators=100, verbose=-1,
                                       objective="quantile", alpha=0.5)),
        }
        for loss, (ours, peer) in runs.items():
            if loss not in losses:
                continue
            t0 = time.perf_counter()
            ours.fit(X, t)
            mine = time.perf_counter() - t0
            t0 = time.perf_counter()
            peer.fit(X, t)
            theirs = time.perf_counter() - t0
            rows.append({"lags": p, "loss": loss, "rows": t.size,
                         "tsmirrors s": mine, "neurons": ours.n_neurons_,
                         "LightGBM s": theirs, "ratio": mine / theirs})
            print(rows[-1], flush=True)
    print(pd.DataFrame(rows).to_string(index=False))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 origins per series (default 8)")
    parser.add_argument("--series",
                        default="sunspots,lynx,airline,btc_daily,btc_hourly")
    parser.add_argument("--models", default="", help="semicolon-separated subset")
    parser.add_argument("--origins", type=int, default=None)
    parser.add_argument("--out", default=None, help="also write the table as CSV")
    parser.add_argument("--fit-times", action="store_true",
                        help="only time the multi-lag fits at T=2000")
    parser.add_argument("--losses", default="squared,quantile",
                        help="with --fit-times: which fits to time")
    args = parser.parse_args(argv)
    if args.fit_times:
        fit_times(losses=tuple(args.losses.split(",")))
        return
    n_origins = args.origins or (3 if args.quick else 8)
    which = {s.strip() for s in args.models.split(";") if s.strip()}
    rows = []
    for name in args.series.split(","):
        done = run_series(name, n_origins, which)
        with pd.option_context("display.width", 200, "display.max_columns", 30,
                               "display.float_format", "{:.3f}".format):
            print(pd.DataFrame(done).to_string(index=False), flush=True)
        rows += done
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 30,
                           "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    if args.out:
        import os
        import tempfile

        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(args.out)))
        os.close(fd)
        table.to_csv(tmp, index=False)
        os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
