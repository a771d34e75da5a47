"""Value-at-risk backtest of one-step quantile forecasts on the shared BTC data.

Protocol: one-step quantiles at 1%, 5%, 10%, 90%, 95% and 99%, rolling
training window, on the last ``window + origins`` closes of

- ``daily``: ``BTC-Daily.csv`` (1,650 origins, window 1,000),
- ``hourly2017``: ``BTCUSD_gemini_1h_2017.csv`` (2,000 origins, window 1,000),
- ``hourly1822``: ``BTC-Hourly.csv`` (2018-2022; its last 2,000 hours as
  origins, window 1,000),

and, with ``--series dev``, on six *development* blocks of 2,000 hourly
origins (``DEV``, named by the month of their first origin) that end
before the two hourly test periods begin: ``BTC-Hourly.csv`` from
September 2018, November 2019 and December 2020, ``gemini_BTCUSD_1hr.csv``
from January 2017, ``Coinbase_BTCUSD_1h.csv`` from June 2019 and May 2020.
A change to an hourly default is judged there before the test periods are
run. (They fall inside the daily test period's calendar span, 2017-08 to
2022-03, on hourly rather than daily data.)

for ``ScaledQuantileAR()`` at its defaults (the new model), the same with
absolute instead of squared changes in its EWMA (``ewma_power=1``), with
a periodic volatility factor chosen by cross-validation (``periodic="auto"``:
hour of day or day of week), with
the convex scale network (``volatility="convex"``) and with a fixed
RiskMetrics scale of price differences instead of the cross-validated scale
of log returns (``target="difference", decay=0.94, long_run=0``),
``ConvexQuantileAR()`` as it is, both with
``calibration="adaptive"`` (adaptive conformal inference applied to the
same forecasts, from past outcomes only, exactly as a backtest with that
setting does; its wall time is the uncalibrated one), GARCH(1,1)-t
(``arch``), historical simulation (``NaiveForecaster``: empirical quantiles
of the window's changes) and linear quantile regression on EWMA-scaled
changes (``ScaledLinearQuantileAR``). Every model is refit every
``--refit`` origins (``ConvexQuantileAR()``, whose exact-library fit is the
slowest, and the linear baseline, whose unpenalized LP is dense, every
``--refit-slow``); between refits the latest fit forecasts
from the newest observations, and the EWMA and GARCH scales are updated at
every origin from them.

Printed per series and model: mean pinball loss in basis points of the
price, hit rates at 1% and 5%, levels (of 6) rejected by Kupiec / by
Christoffersen's conditional-coverage test / by the dynamic quantile test
at the 5% level, 90% coverage in the calmest and the most volatile tercile
of the 20-step trailing realized volatility, the correlation of the 90%
width (relative to the price) with that volatility, and the wall time of
the backtest; then whether the new model meets each target against GARCH.

    python benchmarks/bench_risk.py [--quick] [--series daily] [--models LABEL|...]
        [--plot out.png]

Wall times are noisy on a shared machine; compare them within one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from benchmarks._common import SHARED  # noqa: E402
from tsmirrors.backtesting import backtest  # noqa: E402
from tsmirrors.data import load_prices  # noqa: E402
from tsmirrors.forecasting import (  # noqa: E402
    ConvexQuantileAR,
    GARCHForecaster,
    NaiveForecaster,
    ScaledQuantileAR,
)
from tsmirrors.forecasting.volatility import ScaledLinearQuantileAR  # noqa: E402
from tsmirrors.risk_report import plot_var_backtest, risk_report  # noqa: E402

TAUS = (0.01, 0.05, 0.1, 0.9, 0.95, 0.99)
SERIES = {
    "daily": ("BTC-Daily.csv", 1650),
    "hourly2017": ("BTCUSD_gemini_1h_2017.csv", 2000),
    "hourly1822": ("BTC-Hourly.csv", 2000),
}
#: Development blocks: (file, first row, end row) of window + 2,000 hours,
#: each ending before the hourly test periods above begin.
DEV = {
    "dev-hourly2018-09": ("BTC-Hourly.csv", 2000, 5000),
    "dev-hourly2019-11": ("BTC-Hourly.csv", 12000, 15000),
    "dev-hourly2020-12": ("BTC-Hourly.csv", 22000, 25000),
    "dev-gemini2017-01": ("gemini_BTCUSD_1hr.csv", 10000, 13000),
    "dev-coinbase2019-06": ("Coinbase_BTCUSD_1h.csv", 16000, 19000),
    "dev-coinbase2020-05": ("Coinbase_BTCUSD_1h.csv", 24000, 27000),
}


#: The fixed RiskMetrics scale on price differences, without cross-validation.
PREVIOUS = 'ScaledQuantileAR(target="difference", decay=0.94, long_run=0)'
#: Rows recalibrated online from another row's forecasts: a backtest with
#: ``calibration="adaptive"`` applies exactly this to the same forecasts.
ADAPTIVE = {
    'ScaledQuantileAR(calibration="adaptive")': "ScaledQuantileAR()",
    'ConvexQuantileAR(calibration="adaptive")': "ConvexQuantileAR()",
}


def models(refit: int, refit_slow: int):
    return {
        "ScaledQuantileAR()": (ScaledQuantileAR(quantiles=TAUS), refit),
        "ScaledQuantileAR(ewma_power=1)": (
            ScaledQuantileAR(quantiles=TAUS, ewma_power=1), refit
        ),
        'ScaledQuantileAR(periodic="auto")': (
            ScaledQuantileAR(quantiles=TAUS, periodic="auto"), refit
        ),
        'ScaledQuantileAR(volatility="convex")': (
            ScaledQuantileAR(quantiles=TAUS, volatility="convex"), refit
        ),
        PREVIOUS: (
            ScaledQuantileAR(
                quantiles=TAUS, target="difference", decay=0.94, long_run=0.0
            ),
            refit,
        ),
        "ConvexQuantileAR()": (ConvexQuantileAR(quantiles=TAUS), refit_slow),
        "GARCH(1,1)-t": (GARCHForecaster(quantiles=TAUS), refit),
        "historical simulation": (NaiveForecaster(quantiles=TAUS), refit),
        "linear QR, EWMA-scaled": (
            ScaledLinearQuantileAR(quantiles=TAUS), refit_slow
        ),
    }


def recalibrated(model, pred):
    """``pred`` as the backtest of ``model`` with ``calibration="adaptive"``."""
    cols = [c for c in pred.columns if str(c).startswith("q_")]
    aci = model.set_params(calibration="adaptive").online_calibrator()
    out = pred.copy()
    out[cols] = aci.calibrate(pred[cols].to_numpy(), pred["y_true"].to_numpy())
    return out


def series_of(name, window, origins):
    """The prices of a test series (its last rows) or of a development block."""
    if name in DEV:
        path, first, end = DEV[name]
        y = load_prices(SHARED / path)["close"].iloc[first:end]
        return y.iloc[-(window + origins):] if origins else y
    path, full_origins = SERIES[name]
    y = load_prices(SHARED / path)["close"]
    return y.iloc[-(window + (origins or full_origins)):]


def run_series(name, window, origins, refit, refit_slow, plot=None, only=None):
    y = series_of(name, window, origins)
    rows = {}
    for label, (model, every) in models(refit, refit_slow).items():
        if only is not None and label not in only:
            continue
        t0 = time.perf_counter()
        _, pred = backtest(
            model, y, initial_train_size=window, window="rolling", refit=every,
            metrics=("pinball",), progress=False,
        )
        wall = time.perf_counter() - t0
        rows[label] = risk_report(y, pred) | {"wall": wall, "refit": every}
        for adaptive, source in ADAPTIVE.items():
            if source == label:
                rows[adaptive] = risk_report(y, recalibrated(model, pred)) | {
                    "wall": wall, "refit": every
                }
        if plot and label == "ScaledQuantileAR()":
            import matplotlib

            matplotlib.use("Agg")
            ax = plot_var_backtest(y, pred, levels=(0.01, 0.99),
                                   title=f"{name}: ScaledQuantileAR() 1%/99% VaR")
            fig = ax.figure
            fig.tight_layout()
            target = Path(plot)
            tmp = target.with_name(f".{target.name}.tmp.png")
            fig.savefig(tmp, dpi=110)
            tmp.replace(target)
    return rows


def print_table(name, rows):
    print(f"\n### {name} ({next(iter(rows.values()))['n']} origins)\n")
    print("| model | refit every | mean pinball (bp) | hit 1% | hit 5% | "
          "rejected Kupiec / CC / DQ (of 6) | 90% cov. calm / volatile | "
          "corr(width, vol) | wall (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, r in rows.items():
        print(
            f"| {label} | {r['refit']} | {r['pinball_bp']:.2f} | "
            f"{r['hit'][0.01]:.3f} | {r['hit'][0.05]:.3f} | "
            f"{len(r['kupiec_rejected'])} / {len(r['cc_rejected'])} / "
            f"{len(r['dq_rejected'])} | "
            f"{r['coverage_calm']:.2f} / {r['coverage_volatile']:.2f} | "
            f"{r['width_vol_corr']:.2f} | {r['wall']:.1f} |"
        )
    new, garch = rows["ScaledQuantileAR()"], rows["GARCH(1,1)-t"]
    tails = {0.05, 0.95}
    checks = {
        "pinball <= GARCH-t": new["pinball_bp"] <= garch["pinball_bp"],
        "5%/95% not rejected (Kupiec, CC)": not (
            tails & set(new["kupiec_rejected"] + new["cc_rejected"])
        ),
        "volatile-tercile 90% coverage within 4 pts": abs(
            new["coverage_volatile"] - 0.9
        ) <= 0.04,
        "corr(width, vol) >= GARCH-t": new["width_vol_corr"]
        >= garch["width_vol_corr"],
    }
    for label in ("ScaledQuantileAR()", "GARCH(1,1)-t"):
        r = rows[label]
        print(f"\n{label} rejects: Kupiec {r['kupiec_rejected']}, "
              f"CC {r['cc_rejected']}, DQ {r['dq_rejected']}")
    print("\nScaledQuantileAR() targets: " + "; ".join(
        f"{k}: {'met' if v else 'NOT met'}" for k, v in checks.items()
    ))


def speed(window=2000, lags=10):
    """One fit at T = window, ``lags`` lags, 6 levels, against one GARCH-t fit."""
    y = load_prices(SHARED / SERIES["hourly2017"][0])["close"].iloc[: window + 1]
    fits = {
        f"ScaledQuantileAR(lags={lags})": ScaledQuantileAR(quantiles=TAUS, lags=lags),
        f"ConvexQuantileAR(lags={lags}, n_features=20)": ConvexQuantileAR(
            quantiles=TAUS, lags=lags, n_features=20
        ),
        "GARCH(1,1)-t": GARCHForecaster(quantiles=TAUS),
    }
    times = {}
    for label, model in fits.items():
        model.fit(y.iloc[:200])  # warm up imports and JIT compilation
        t0, c0 = time.perf_counter(), time.process_time()
        model.fit(y)
        times[label] = (time.perf_counter() - t0, time.process_time() - c0)
    print(f"\n### one fit, T = {window}, 6 levels\n")
    for label, (wall, cpu) in times.items():
        ratio = cpu / times["GARCH(1,1)-t"][1]
        print(f"- {label}: {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"({ratio:.0f}x the CPU time of one GARCH(1,1)-t fit)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="300 origins, window 500, refit every 50")
    parser.add_argument("--series", default=",".join(SERIES),
                        help="comma-separated test series, development blocks "
                        "(dev-...), or 'dev' for every development block")
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--origins", type=int, default=None)
    parser.add_argument("--refit", type=int, default=25)
    parser.add_argument("--refit-slow", type=int, default=100)
    parser.add_argument(
        "--models", default=None,
        help="'|'-separated row labels to run (ScaledQuantileAR() and "
        "GARCH(1,1)-t are always run: the targets compare them)",
    )
    parser.add_argument("--plot", default=None,
                        help="PNG of the first series' VaR bands")
    parser.add_argument("--speed", action="store_true",
                        help="only time one fit at T = 2000 with 10 lags")
    args = parser.parse_args(argv)
    if args.speed:
        speed()
        return
    if args.quick:
        args.window, args.origins, args.refit, args.refit_slow = 500, 300, 50, 150
    only = None
    if args.models:
        only = set(args.models.split("|")) | {"ScaledQuantileAR()", "GARCH(1,1)-t"}
    names = args.series.split(",")
    if "dev" in names:
        names = [n for n in names if n != "dev"] + list(DEV)
    for i, name in enumerate(names):
        if name not in SERIES and name not in DEV:
            raise SystemExit(
                f"unknown series {name!r}; choose from {list(SERIES) + list(DEV)}"
            )
        rows = run_series(name, args.window, args.origins, args.refit,
                          args.refit_slow, plot=args.plot if i == 0 else None,
                          only=only)
        print_table(name, rows)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
