"""The ``tsmirrors`` command line.

``tsmirrors demo`` runs the main job on a planted series that needs no
network; ``tsmirrors backtest`` runs it on a ticker (yfinance) or a CSV.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from ._version import __version__

EXAMPLES = {
    "demo": (
        "examples:\n  tsmirrors demo\n  tsmirrors demo --out demo-output --n-jobs 2"
    ),
    "backtest": (
        "examples:\n"
        "  tsmirrors backtest                      # BTC-USD hourly via yfinance\n"
        "  tsmirrors backtest ETH-USD --interval 1d\n"
        "  tsmirrors backtest --csv BTCUSD_gemini_1h_2017.csv --refit 24\n"
        "  tsmirrors backtest --csv prices.csv --sgd --n-jobs 2 --backend dask"
    ),
    "forecast": (
        "examples:\n"
        "  tsmirrors forecast --csv BTCUSD_gemini_1h_2017.csv --steps 12 --plot f.png\n"
        "  tsmirrors forecast BTC-USD --steps 24"
    ),
    "path": (
        "examples:\n"
        "  tsmirrors path --csv BTCUSD_gemini_1h_2017.csv --window 1000\n"
        "  tsmirrors path --csv prices.csv --activation relu --out path-output"
    ),
    "library": "example:\n  tsmirrors library --n-points 10",
}


# ----------------------------------------------------------------- sources
def _load_series(args) -> tuple:
    """Close prices from --csv or a ticker, and a label for the source."""
    from .data import load_prices, load_yfinance

    if args.csv:
        frame = load_prices(args.csv)
        label = Path(args.csv).name
    else:
        ticker = args.ticker or "BTC-USD"
        frame = load_yfinance(
            ticker,
            interval=args.interval,
            start=args.start,
            end=args.end,
            cache_dir=args.cache_dir,
        )
        label = f"{ticker} {args.interval}"
    close = frame["close"]
    if close.isna().any():
        n_missing = int(close.isna().sum())
        first = close.index[close.isna()][0]
        raise ValueError(
            f"{label}: {n_missing} missing close price(s), the first at {first}; "
            "fill or drop them in the file first"
        )
    if getattr(close.index, "freq", None) is None:
        gaps = frame.attrs.get("gaps") or []
        raise ValueError(
            f"{label}: the timestamps are not evenly spaced ({len(gaps)} gap(s)); "
            "tsmirrors does not fill gaps silently — fill them in the file or "
            "use a gap-free range (--start/--end)"
        )
    return close.rename("close"), label


def _network_params(args) -> dict:
    """The parameters every network forecaster takes from the command line."""
    return {
        "lags": args.lags,
        "beta": args.beta,
        "target": args.target,
        "activation": args.activation,
        "depth": args.depth,
        "architecture": args.architecture,
    }


def _models(args, quantiles, max_horizon: int = 1):
    from .forecasting import (
        AR1Forecaster,
        ConvexAR,
        ConvexQuantileAR,
        NaiveForecaster,
        SGDNetAR,
    )

    net = _network_params(args)
    models = {
        "ConvexAR": ConvexAR(**net, n_features=args.n_features),
        "ConvexQuantileAR": ConvexQuantileAR(
            quantiles=quantiles,
            **net,
            n_features=args.n_features,
            max_horizon=max_horizon,
            calibration="conformal" if args.conformal else None,
        ),
        "AR(1)+bias": AR1Forecaster(quantiles=quantiles),
        "naive": NaiveForecaster(quantiles=quantiles),
    }
    if getattr(args, "sgd", False):
        models["SGD net"] = SGDNetAR(**net, random_state=0)
    return models


def _quantiles_for(coverage: float):
    lo = round((1 - coverage) / 2, 6)
    return (lo, 0.5, round(1 - lo, 6))


def _interval(args) -> tuple[tuple[float, ...], float]:
    """The quantile levels to forecast and the coverage of the interval shown.

    Without --quantiles: the median and the central interval of --coverage
    (0.9 by default). With --quantiles and no --coverage: the interval of the
    outermost symmetric pair of levels.
    """
    if args.quantiles is None:
        coverage = 0.9 if args.coverage is None else args.coverage
        return _quantiles_for(coverage), coverage
    levels = np.asarray(args.quantiles)
    pairs = [
        round(1 - 2 * tau, 6)
        for tau in levels
        if tau < 0.5 and np.any(np.isclose(levels, 1 - tau))
    ]
    if args.coverage is None:
        if not pairs:
            raise ValueError(
                f"--quantiles {_format_levels(levels)} has no symmetric pair "
                "(tau, 1 - tau) to show as an interval; add one, e.g. "
                "--quantiles 0.05,0.5,0.95"
            )
        return tuple(args.quantiles), max(pairs)
    if not any(np.isclose(args.coverage, pairs)):
        lo, hi = (1 - args.coverage) / 2, (1 + args.coverage) / 2
        raise ValueError(
            f"--coverage {args.coverage:g} needs the levels {lo:g} and {hi:g} in "
            f"--quantiles {_format_levels(levels)}"
        )
    return tuple(args.quantiles), args.coverage


def _format_levels(levels) -> str:
    return ",".join(f"{tau:g}" for tau in levels)


# ------------------------------------------------------------------ tables
COLUMNS = [
    ("mse", "MSE"),
    ("mae", "MAE"),
    ("mase", "MASE"),
    ("pinball", "pinball"),
    ("coverage", "coverage"),
    ("width", "width"),
]


def format_table(rows: dict) -> str:
    """A plain-text comparison table, one row per model."""
    header = f"{'model':<18}" + "".join(f"{name:>12}" for _, name in COLUMNS)
    lines = [header, "-" * len(header)]
    for model, overall in rows.items():
        cells = []
        for key, _ in COLUMNS:
            v = overall.get(key, np.nan)
            cells.append(
                f"{'-':>12}" if v is None or not np.isfinite(v) else f"{v:>12.4g}"
            )
        lines.append(f"{model:<18}" + "".join(cells))
    return "\n".join(lines)


@contextlib.contextmanager
def _dask_client(args):
    """One dask cluster for the whole run (None unless --backend dask)."""
    if args.backend != "dask":
        yield None
        return
    import logging

    from ._optional import import_optional

    distributed = import_optional("distributed")
    n_workers = args.n_jobs if args.n_jobs > 0 else (os.cpu_count() or 1)
    with distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster, distributed.Client(cluster) as client:
        yield client


def _run_backtests(y, args, quantiles, coverage, label):
    import pandas as pd

    from .backtesting import backtest

    n = y.size
    if args.window >= n:
        raise ValueError(
            f"{label} has {n} observations, not enough for --window {args.window} "
            "and a test period; lower --window"
        )
    test_size = min(args.test_size, n - args.window) if args.test_size else (
        n - args.window
    )
    start = n - test_size - args.window
    series = y.iloc[start:]
    rows, frames = {}, []
    ahead = "1 step" if args.steps == 1 else f"1 to {args.steps} steps"
    print(
        f"{args.window_type.capitalize()} backtest on {label}: {test_size} "
        f"forecasts, {ahead} ahead, window {args.window}, refit every "
        f"{args.refit} origin(s)",
        flush=True,
    )
    with _dask_client(args) as client:
        for name, model in _models(args, quantiles, args.steps).items():
            t0 = time.perf_counter()
            scores, preds = backtest(
                model,
                series,
                initial_train_size=args.window,
                steps=args.steps,
                refit=args.refit,
                window=args.window_type,
                coverage=coverage,
                n_jobs=args.n_jobs,
                backend=args.backend,
                progress=not args.no_progress,
                client=client,
            )
            overall = scores.loc["overall"].to_dict()
            rows[name] = overall
            preds = preds.assign(model=name)
            frames.append(preds)
            print(
                f"  {name:<18} done in {time.perf_counter() - t0:.1f} s", flush=True
            )
    return rows, pd.concat(frames, ignore_index=True), series


def _write_outputs(out: Path, rows, preds, series, label, title):
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    pred_path = out / "predictions.csv"
    preds.to_csv(pred_path, index=False)
    table = pd.DataFrame(rows).T
    table.index.name = "model"
    table.to_csv(out / "scores.csv")
    png = out / "backtest.png"
    _plot_backtest(png, preds, series, title or label)
    return pred_path, png


def _plot_backtest(path: Path, preds, series, title):
    from ._optional import import_optional

    matplotlib = import_optional("matplotlib")
    matplotlib.use("Agg")
    plt = import_optional("matplotlib.pyplot")
    import pandas as pd

    fig, ax = plt.subplots(figsize=(11, 4.5))
    last = preds["timestamp"].max()
    stamps = sorted(preds["timestamp"].unique())[-500:]  # the last 500 forecasts
    first = stamps[0]
    hist = series[(series.index >= first) & (series.index <= last)]
    ax.plot(hist.index, hist.to_numpy(), color="0.2", lw=1.0, label="price")
    colors = {
        "ConvexAR": "tab:blue",
        "ConvexQuantileAR": "tab:green",
        "AR(1)+bias": "tab:orange",
        "naive": "0.6",
        "SGD net": "tab:red",
    }
    for model, part in preds[preds["timestamp"].isin(stamps)].groupby(
        "model", sort=False
    ):
        part = part[part["step"] == part["step"].min()]
        ts = pd.to_datetime(part["timestamp"])
        if model == "ConvexQuantileAR" and {"lower", "upper"} <= set(part.columns):
            ax.fill_between(
                ts,
                part["lower"],
                part["upper"],
                color="tab:green",
                alpha=0.2,
                lw=0,
                label="ConvexQuantileAR interval",
            )
        ax.plot(
            ts,
            part["y_pred"],
            color=colors.get(model, None),
            lw=0.9,
            alpha=0.9,
            label=f"{model} forecast",
        )
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- commands
def _cmd_backtest(args) -> int:
    y, label = _load_series(args)  # offline: names --csv and `tsmirrors demo`
    quantiles, coverage = _interval(args)
    rows, preds, series = _run_backtests(y, args, quantiles, coverage, label)
    print()
    print(format_table(rows))
    pred_path, png = _write_outputs(
        Path(args.out),
        rows,
        preds,
        series,
        label,
        f"{args.window_type.capitalize()} backtest on {label}",
    )
    print(f"\nwrote {pred_path}, {Path(args.out) / 'scores.csv'} and {png}")
    return 0


def _cmd_demo(args) -> int:
    from .data import make_planted
    from .models.convex import ConvexNetRegressor

    planted = make_planted(
        args.length, n_neurons=args.neurons, sigma2=args.sigma2, random_state=args.seed
    )
    y = planted.series.rename("x")
    label = (
        f"a planted series (Section 4: {args.neurons} abs neurons, "
        f"sigma^2={args.sigma2}, T={args.length})"
    )
    quantiles, coverage = _interval(args)
    rows, preds, series = _run_backtests(y, args, quantiles, coverage, label)
    print()
    print(format_table(rows))
    # recover the planted network from the whole series, as a 2-layer abs net
    x = y.to_numpy()
    T = x.size - 1
    model = ConvexNetRegressor(activation="abs", beta=T * args.recover_beta / 2)
    model.fit(x[:-1, None], x[1:])
    lo, hi = float(np.quantile(x, 0.01)), float(np.quantile(x, 0.99))
    found = model.breakpoints(lo, hi)
    net = planted.network

    def slope_change(f, b, h=1e-6):
        return (f(b + h) - f(b)) / h - (f(b) - f(b - h)) / h

    print(
        f"\nPlanted neurons and the convex fit on all {T} transitions "
        f"(beta={args.recover_beta} in (4.3), {model.n_neurons_} neurons):"
    )
    print(
        f"  {'planted kink':>12} {'slope change':>13}   {'nearest fitted':>14} "
        f"{'slope change':>13}"
    )
    fitted_f = model.predict
    for b in np.sort(net.breakpoints):
        ds = slope_change(net, b)
        if found.size:
            r = found[int(np.argmin(np.abs(found - b)))]
            dr = slope_change(lambda t: fitted_f(np.atleast_1d(t)[:, None]), r)[0]
            print(f"  {b:>12.3f} {ds:>13.3f}   {r:>14.3f} {dr:>13.3f}")
        else:
            print(f"  {b:>12.3f} {ds:>13.3f}   {'-':>14} {'-':>13}")
    grid = np.linspace(np.quantile(x, 0.05), np.quantile(x, 0.95), 200)
    err = model.predict(grid[:, None]) - net(grid)
    print(
        f"  RMS error of the fitted f on the central 90% of the data: "
        f"{np.sqrt(np.mean(err**2)):.4f} (std of the planted f there: "
        f"{np.std(net(grid)):.4f})"
    )
    pred_path, png = _write_outputs(
        Path(args.out),
        rows,
        preds,
        series,
        label,
        f"{args.window_type.capitalize()} backtest on a planted series",
    )
    print(f"\nwrote {pred_path}, {Path(args.out) / 'scores.csv'} and {png}")
    return 0


def _check_plot_path(path: str) -> None:
    """Refuse a --plot file name without a format before any fitting."""
    suffix = Path(path).suffix.lower()
    if suffix not in PLOT_FORMATS:
        raise ValueError(
            f"--plot {path}: the file name must end in one of "
            f"{', '.join(PLOT_FORMATS)} (the format of the image), got "
            f"{suffix or 'no extension'}"
        )
    _check_folder(Path(path), "--plot")


def _check_folder(path: Path, option: str) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"{option} {path}: the folder {folder} does not exist")


def _write_csv(frame, path: Path, **kwargs) -> None:
    """Write a CSV atomically: a temporary file in the same folder, renamed."""
    import tempfile

    fd, tmp = tempfile.mkstemp(
        dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            frame.to_csv(handle, **kwargs)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _cmd_forecast(args) -> int:
    import pandas as pd

    from .forecasting import ConvexAR, ConvexQuantileAR

    if args.plot:
        _check_plot_path(args.plot)
    if args.out:
        _check_folder(Path(args.out), "--out")
    y, label = _load_series(args)
    if args.window > y.size:
        raise ValueError(
            f"--window {args.window} is longer than the {y.size} observations of "
            f"{label}; lower --window"
        )
    train = y.iloc[-args.window :]
    quantiles, coverage = _interval(args)
    net = _network_params(args)
    point = ConvexAR(**net, n_features=args.n_features).fit(train)
    qmodel = ConvexQuantileAR(
        quantiles=quantiles,
        **net,
        n_features=args.n_features,
        max_horizon=args.steps,  # one direct model per step
        calibration="conformal" if args.conformal else None,
    ).fit(train)
    fc = point.predict(args.steps)
    q = qmodel.predict_quantiles(args.steps)
    lo, hi = (1 - coverage) / 2, (1 + coverage) / 2
    columns = {"forecast": fc}
    for tau in quantiles:
        if not (np.isclose(tau, lo) or np.isclose(tau, hi)):
            columns["median" if np.isclose(tau, 0.5) else f"q_{tau:g}"] = q[tau]
    columns["lower"] = q[min(quantiles, key=lambda t: abs(t - lo))]
    columns["upper"] = q[min(quantiles, key=lambda t: abs(t - hi))]
    table = pd.DataFrame(columns)
    table.index.name = "timestamp"
    print(
        f"Next {args.steps} step(s) of {label} (fit on the last {train.size} "
        f"observations; {coverage:.0%} interval):"
    )
    print(table.to_string(float_format=lambda v: f"{v:.2f}"))
    if args.out:
        _write_csv(table, Path(args.out))
        print(f"wrote {args.out}")
    if args.plot:
        from ._optional import import_optional
        from .plotting import plot_forecast

        import_optional("matplotlib").use("Agg")
        ax = plot_forecast(
            train.iloc[-min(300, train.size) :],
            fc,
            table["lower"],
            table["upper"],
            title=f"Forecast of {label}",
        )
        ax.figure.savefig(args.plot, dpi=110)
        print(f"wrote {args.plot}")
    return 0


def _cmd_path(args) -> int:
    import pandas as pd

    from .data import lag_embed
    from .features import Library
    from .forecasting import make_transform
    from .models.convex import HStackDesign
    from .solvers import lasso_path

    y, label = _load_series(args)
    if args.window > y.size:
        raise ValueError(
            f"--window {args.window} is longer than the {y.size} observations of "
            f"{label}; lower --window"
        )
    levels = y.to_numpy()[-args.window :]
    tr = make_transform(args.target).fit(levels)
    z = tr.forward(levels)
    z = z / z.std()
    X, t, _ = lag_embed(z, lags=args.lags)
    # one 1-D library per lag: the additive network of ConvexAR(lags=...)
    ops = [
        Library(activation=args.activation).fit(X[:, k]).operator()
        for k in range(args.lags)
    ]
    op = ops[0] if args.lags == 1 else HStackDesign(ops)
    path = lasso_path(op, t)
    T = t.size
    betas = np.geomspace(path.betas[0] * 1e-4, path.betas[0], args.n_betas)
    coefs, intercepts = path.evaluate(betas)
    rows = []
    for b, c, xi in zip(betas, coefs, intercepts):
        r = t - (op.matvec(c) + xi)
        mse = float(np.mean(r**2))
        rows.append(
            {
                "beta_sum": b,
                "beta_4_3": 2 * b / T,
                "mse": mse,
                "objective_4_3": mse + 2 * b / T * np.abs(c).sum(),
                "n_neurons": int(np.count_nonzero(c)),
            }
        )
    frame = pd.DataFrame(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "path.csv", index=False)
    from ._optional import import_optional
    from .plotting import plot_regularization_path

    import_optional("matplotlib").use("Agg")
    ax = plot_regularization_path(
        frame["beta_4_3"],
        frame["mse"],
        frame["n_neurons"],
        title=f"Regularization path, {label}",
    )
    ax.set_xlabel("beta in (4.3)")
    ax.figure.tight_layout()
    ax.figure.savefig(out / "path.png", dpi=110)
    print(
        f"Exact path of the 2-layer {args.activation} network ({args.lags} "
        f"lag(s), target {args.target}) on {label}: "
        f"{path.n_kinks} kinks, beta_max(4.3) = {2 * path.betas[0] / T:.4g}"
    )
    print(frame.iloc[:: max(1, len(frame) // 10)].to_string(index=False))
    print(f"wrote {out / 'path.csv'} and {out / 'path.png'}")
    return 0


def _cmd_library(args: argparse.Namespace) -> int:
    """Print every supported network with its library size on N points."""
    from .features import Library, library_size

    if args.n_points < 2:
        raise ValueError(
            f"--n-points needs at least 2 distinct points, got {args.n_points}"
        )
    # the counts hold for any points in general position: fixed random ones
    x = np.random.default_rng(0).normal(size=args.n_points)
    rows = [
        ("deep_narrow", 2, a)
        for a in ("relu", "leaky_relu", "abs", "sign", "threshold")
    ]
    rows += [
        ("deep_narrow", d, a) for d in (3, 4) for a in ("relu", "leaky_relu", "abs")
    ]
    rows += [("symmetrized", 3, a) for a in ("relu", "leaky_relu")]
    header = (
        f"{'architecture':<12} {'depth':>5} {'activation':<11} "
        f"{'candidates':>11} {'distinct':>9}"
    )
    print(f"Deep libraries on N = {args.n_points} random points")
    print(header)
    print("-" * len(header))
    for arch, depth, act in rows:
        n_cand = library_size(act, depth, arch, n_points=args.n_points)
        lib = Library(
            activation=act,
            depth=depth,
            architecture=arch,
            memory_budget=args.memory_budget,
        )
        if depth > 2 and n_cand * args.n_points * 8 > args.memory_budget:
            distinct = f"{'(budget)':>9}"
        else:
            distinct = f"{lib.fit(x).n_features_:>9,}"
        print(f"{arch:<12} {depth:>5} {act:<11} {n_cand:>11,} {distinct}")
    return 0


# ------------------------------------------------------------------ parser
ACTIVATIONS = ("relu", "leaky_relu", "abs", "sign", "threshold")
ARCHITECTURES = ("deep_narrow", "symmetrized")
TARGETS = ("difference", "log_return", "level", "standardize")
BACKENDS = ("loky", "threading", "multiprocessing", "sequential", "dask")
#: intervals that yfinance downloads
INTERVALS = (
    "1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h", "1d", "5d", "1wk", "1mo",
    "3mo",
)  # fmt: skip
PLOT_FORMATS = (".png", ".pdf", ".svg", ".jpg", ".jpeg")

METRICS_HELP = (
    "metrics (means over all forecasts of the test period):\n"
    "  MSE       mean of (y - yhat)^2\n"
    "  MAE       mean of |y - yhat|\n"
    "  MASE      mean of |y - yhat| / s, where s is the in-sample MAE of the\n"
    "            one-step naive forecast on the training window of the fit\n"
    "            that issued the forecast (below 1: better than naive in-sample)\n"
    "  pinball   pinball loss of the quantile forecasts, mean over the levels\n"
    "  coverage  share of truths inside [lower, upper] (nominal: --coverage)\n"
    "  width     mean of upper - lower\n"
    "output: predictions.csv (one row per forecast: fold = the forecast\n"
    "  origin, as in skforecast; refit = the fit that issued it) and\n"
    "  scores.csv (the overall metrics, one row per model)"
)


def _int_at_least(minimum: int, what: str = ""):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer, got {text!r}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be an integer >= {minimum}{what}, got {value}"
            )
        return value

    parse.__name__ = "integer"
    return parse


def _n_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer or -1 (all cores), got {value}"
        )
    return value


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _nonnegative(text: str) -> float:
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value:g}")
    return value


def _fraction(text: str) -> float:
    value = _float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {value:g}")
    return value


def _levels(text: str) -> tuple[float, ...]:
    try:
        levels = tuple(_fraction(part) for part in text.split(","))
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: each level {exc}") from None
    if any(b <= a for a, b in zip(levels, levels[1:])):
        raise argparse.ArgumentTypeError(
            f"levels must be increasing and distinct, got {text!r}"
        )
    return levels


def _n_features(text: str):
    if text == "auto":
        return "auto"
    if text == "exact":
        return None
    return _int_at_least(1, " or 'auto' or 'exact'")(text)


def _add_source(p):
    p.add_argument(
        "ticker",
        nargs="?",
        default=None,
        help="ticker to download with yfinance (default BTC-USD)",
    )
    p.add_argument("--csv", metavar="FILE", help="read prices from a CSV file instead")
    p.add_argument(
        "--interval",
        default=None,
        choices=INTERVALS,
        metavar="INTERVAL",
        help=f"yfinance interval, one of {', '.join(INTERVALS)} (default 1h)",
    )
    p.add_argument("--start", default=None, help="first date to download")
    p.add_argument("--end", default=None, help="last date to download")
    p.add_argument("--cache-dir", default=None, help="yfinance cache directory")


def _add_model(p, window=2000, beta=1.0, target="difference"):
    p.add_argument(
        "--window",
        type=_int_at_least(1),
        default=window,
        help=f"training window length (default {window})",
    )
    p.add_argument(
        "--lags",
        type=_int_at_least(1),
        default=1,
        help="autoregressive lags (default 1)",
    )
    p.add_argument(
        "--beta",
        type=_nonnegative,
        default=beta,
        help=f"regularization beta in the (4.3) scaling (default {beta:g})",
    )
    p.add_argument(
        "--target",
        default=target,
        choices=TARGETS,
        help=f"target transform (default {target})",
    )
    p.add_argument(
        "--activation",
        default="abs",
        choices=ACTIVATIONS,
        help="activation (default abs)",
    )
    p.add_argument(
        "--depth", type=_int_at_least(2), default=2, help="network depth (default 2)"
    )
    p.add_argument(
        "--architecture",
        default="deep_narrow",
        choices=ARCHITECTURES,
        help="network architecture (default deep_narrow; symmetrized needs "
        "--depth 3)",
    )
    p.add_argument(
        "--n-features",
        type=_n_features,
        default="auto",
        metavar="{auto,exact,K}",
        help="library features per lag: 'exact', K sampled features, or 'auto' "
        "(exact when it fits in memory, else sampled, with a message; default)",
    )
    p.add_argument(
        "--coverage",
        type=_fraction,
        default=None,
        help="nominal coverage of the interval (default 0.9, or the outermost "
        "symmetric pair of --quantiles)",
    )
    p.add_argument(
        "--quantiles",
        type=_levels,
        default=None,
        metavar="TAU,...",
        help="quantile levels of the quantile models, comma separated "
        "(default: the median and the --coverage interval)",
    )
    p.add_argument(
        "--no-conformal",
        dest="conformal",
        action="store_false",
        help="skip the split-conformal calibration of the quantile intervals "
        "(calibrated on the last quarter of each window by default)",
    )


def _add_backtest(p, test_size):
    p.add_argument(
        "--refit",
        type=_int_at_least(1),
        default=24,
        help="refit every N forecast origins (default 24)",
    )
    p.add_argument(
        "--steps",
        type=_int_at_least(1),
        default=1,
        help="forecasts per origin, 1 to N steps ahead (default 1)",
    )
    p.add_argument(
        "--window-type",
        default="rolling",
        choices=("rolling", "expanding"),
        help="training window of each refit: the last --window observations "
        "(rolling, default) or all of them (expanding)",
    )
    p.add_argument(
        "--test-size",
        type=_int_at_least(0),
        default=test_size,
        help=f"forecast origins in the test period (default {test_size}; 0 = all)",
    )
    p.add_argument(
        "--n-jobs", type=_n_jobs, default=1, help="parallel jobs (default 1; -1: all)"
    )
    p.add_argument(
        "--backend",
        default="loky",
        choices=BACKENDS,
        help="joblib backend, or 'dask' for one dask.distributed cluster for "
        "the whole run (default loky)",
    )
    p.add_argument("--out", default="tsmirrors-output", help="output directory")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def build_parser() -> argparse.ArgumentParser:
    # --debug is accepted before or after the subcommand
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks on errors",
    )
    parser = argparse.ArgumentParser(
        prog="tsmirrors",
        description="Globally optimal neural-network forecasters for 1-D series.",
    )
    parser.add_argument(
        "--version", action="version", version=f"tsmirrors {__version__}"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks on errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    fmt = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser(
        "demo",
        parents=[common],
        help="the main job on a planted series (no network)",
        description="Backtest the convex forecasters against AR(1) "
        "and naive on a planted series of Section 4, and show the "
        "planted neurons recovered.",
        epilog=EXAMPLES["demo"] + "\n\n" + METRICS_HELP,
        formatter_class=fmt,
    )
    p.add_argument(
        "--length", type=_int_at_least(10), default=3000, help="series length T"
    )
    p.add_argument(
        "--neurons", type=_int_at_least(1), default=5, help="planted neurons p"
    )
    p.add_argument("--sigma2", type=_nonnegative, default=1.0, help="noise variance")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument(
        "--recover-beta",
        type=_nonnegative,
        default=0.003,
        help="beta (4.3) of the recovery fit (default 0.003)",
    )
    _add_model(p, window=1000, beta=0.01, target="level")
    _add_backtest(p, test_size=1000)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser(
        "backtest",
        parents=[common],
        help="rolling backtest against AR(1) and naive",
        description="Rolling backtest of ConvexAR and ConvexQuantileAR "
        "against AR(1)+bias and naive (SGD with --sgd).",
        epilog=EXAMPLES["backtest"] + "\n\n" + METRICS_HELP,
        formatter_class=fmt,
    )
    _add_source(p)
    _add_model(p)
    _add_backtest(p, test_size=2000)
    p.add_argument("--sgd", action="store_true", help="add an SGD-trained network")
    p.set_defaults(func=_cmd_backtest)

    p = sub.add_parser(
        "forecast",
        parents=[common],
        help="fit on all data and forecast the next steps",
        description="Fit ConvexAR and ConvexQuantileAR on the latest "
        "window and print the next K steps with intervals.",
        epilog=EXAMPLES["forecast"],
        formatter_class=fmt,
    )
    _add_source(p)
    _add_model(p)
    p.add_argument(
        "--steps",
        type=_int_at_least(1),
        default=12,
        help="steps to forecast (default 12)",
    )
    p.add_argument("--plot", metavar="PNG", default=None, help="write a plot")
    p.add_argument(
        "--out", metavar="CSV", default=None, help="write the forecasts as CSV"
    )
    p.set_defaults(func=_cmd_forecast)

    p = sub.add_parser(
        "path",
        parents=[common],
        help="the exact regularization path as CSV and PNG",
        description="Exact Lasso path of the 2-layer network on the "
        "latest window: loss and neurons against every beta.",
        epilog=EXAMPLES["path"],
        formatter_class=fmt,
    )
    _add_source(p)
    p.add_argument(
        "--window",
        type=_int_at_least(4),
        default=1000,
        help="training window length (default 1000)",
    )
    p.add_argument(
        "--lags",
        type=_int_at_least(1),
        default=1,
        help="autoregressive lags: one library per lag (default 1)",
    )
    p.add_argument(
        "--target",
        default="difference",
        choices=TARGETS,
        help="target transform (default difference)",
    )
    p.add_argument(
        "--activation",
        default="abs",
        choices=ACTIVATIONS,
        help="activation (default abs)",
    )
    p.add_argument(
        "--n-betas", type=_int_at_least(2), default=60, help="grid points (default 60)"
    )
    p.add_argument("--out", default="tsmirrors-output", help="output directory")
    p.set_defaults(func=_cmd_path)

    p = sub.add_parser(
        "library",
        parents=[common],
        help="supported networks and their library sizes",
        description="List every supported (architecture, depth, "
        "activation) and the number of features of its deep library "
        "on N random points.",
        epilog=EXAMPLES["library"],
        formatter_class=fmt,
    )
    p.add_argument(
        "--n-points",
        type=_int_at_least(2, " (distinct points)"),
        default=10,
        help="number of points N (default 10)",
    )
    p.add_argument(
        "--memory-budget",
        type=_int_at_least(1),
        default=2**30,
        help="bytes (default 1 GiB)",
    )
    p.set_defaults(func=_cmd_library)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line, without the source line Python adds."""
    text = " ".join(str(message).split())
    print(f"tsmirrors: warning: {text}", file=sys.stderr if file is None else file)


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at devnull so the exit flush is quiet."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed a one-line usage error
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if getattr(args, "csv", None):
        for option in ("interval", "cache_dir"):
            if getattr(args, option) is not None:
                flag = "--" + option.replace("_", "-")
                print(
                    f"tsmirrors: error: {flag} applies to a ticker download, not "
                    "to --csv",
                    file=sys.stderr,
                )
                return 2
    if "interval" in args and args.interval is None:
        args.interval = "1h"
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("tsmirrors: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`tsmirrors ... | head`): stop quietly, with the
        # status of a process ended by SIGPIPE, as Unix tools do
        _silence_stdout()
        return 141
    except (ValueError, OSError, ImportError, RuntimeError) as exc:
        if args.debug:
            traceback.print_exc()
        message = " ".join(str(exc).split())
        print(f"tsmirrors: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
