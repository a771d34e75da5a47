"""The ``tsmirrors`` command line.

``tsmirrors demo`` runs the main job on a planted series that needs no
network; ``tsmirrors backtest`` runs it on a ticker (yfinance) or a CSV.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
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
    from .data.gaps import select_close

    if args.csv:
        frame = load_prices(args.csv, date_format=args.date_format)
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
    close = select_close(
        frame,
        label,
        start=args.start,
        end=args.end,
        fill=args.fill,
        last=_rows_used(args),
    )
    return close, label


def _rows_used(args) -> int | None:
    """How many of the latest rows the subcommand reads (None: all of them)."""
    window = getattr(args, "window", 0) or 0
    if window <= 0:
        return None
    if not hasattr(args, "test_size"):
        return window
    return window + args.test_size if args.test_size and args.test_size > 0 else None


def _models(args, quantiles):
    from .forecasting import (
        AR1Forecaster,
        ConvexAR,
        ConvexQuantileAR,
        NaiveForecaster,
        SGDNetAR,
    )

    models = {
        "ConvexAR": ConvexAR(
            lags=args.lags,
            beta=args.beta,
            target=args.target,
            activation=args.activation,
        ),
        "ConvexQuantileAR": ConvexQuantileAR(
            quantiles=quantiles,
            lags=args.lags,
            beta=args.beta,
            target=args.target,
            activation=args.activation,
            calibration="conformal" if args.conformal else None,
        ),
        "AR(1)+bias": AR1Forecaster(quantiles=quantiles),
        "naive": NaiveForecaster(quantiles=quantiles),
    }
    if getattr(args, "sgd", False):
        models["SGD net"] = SGDNetAR(
            lags=args.lags,
            beta=args.beta,
            target=args.target,
            activation=args.activation,
            random_state=0,
        )
    return models


def _quantiles_for(coverage: float):
    lo = round((1 - coverage) / 2, 6)
    return (lo, 0.5, round(1 - lo, 6))


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


def _run_backtests(y, args, quantiles, label):
    import pandas as pd

    from .backtesting import backtest

    n = y.size
    test_size = (
        min(args.test_size, n - args.window) if args.test_size else n - args.window
    )
    if test_size < 1:
        raise ValueError(
            f"{label} has {n} observations, not enough for --window {args.window} "
            "and a test period; lower --window"
        )
    start = n - test_size - args.window
    series = y.iloc[start:]
    rows, frames = {}, []
    print(
        f"Rolling backtest on {label}: {test_size} one-step forecasts, window "
        f"{args.window}, refit every {args.refit}",
        flush=True,
    )
    for name, model in _models(args, quantiles).items():
        t0 = time.perf_counter()
        scores, preds = backtest(
            model,
            series,
            initial_train_size=args.window,
            steps=args.steps,
            refit=args.refit,
            window="rolling",
            coverage=args.coverage,
            n_jobs=args.n_jobs,
            backend=args.backend,
            progress=not args.no_progress,
        )
        overall = scores.loc["overall"].to_dict()
        rows[name] = overall
        preds = preds.assign(model=name)
        frames.append(preds)
        print(f"  {name:<18} done in {time.perf_counter() - t0:.1f} s", flush=True)
    return rows, pd.concat(frames, ignore_index=True), series


def _write_outputs(out: Path, rows, preds, series, label, title):
    import pandas as pd

    from ._atomic import OutputSet

    # the run's files appear together, with manifest.json, or not at all
    with OutputSet(out, command="backtest") as run:
        preds.to_csv(run.path("predictions.csv"), index=False)
        table = pd.DataFrame(rows).T
        table.index.name = "model"
        table.to_csv(run.path("scores.csv"))
        _plot_backtest(run.path("backtest.png"), preds, series, title or label)
    return out / "predictions.csv", out / "backtest.png"


def _plot_backtest(path: Path, preds, series, title):
    from ._optional import import_optional
    from .plotting import plot_backtest, price_axis_label

    import_optional("matplotlib").use("Agg")
    plt = import_optional("matplotlib.pyplot")
    # _load_series names price series "close"; a planted series is a plain value
    ylabel = price_axis_label(title) if series.name == "close" else "value"
    fig = plot_backtest(preds, series, title=title, ylabel=ylabel)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- commands
def _cmd_backtest(args) -> int:
    y, label = _load_series(args)  # offline: names --csv and `tsmirrors demo`
    quantiles = _quantiles_for(args.coverage)
    rows, preds, series = _run_backtests(y, args, quantiles, label)
    print()
    print(format_table(rows))
    pred_path, png = _write_outputs(
        Path(args.out), rows, preds, series, label, f"Rolling backtest on {label}"
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
    quantiles = _quantiles_for(args.coverage)
    rows, preds, series = _run_backtests(y, args, quantiles, label)
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
        "Rolling backtest on a planted series",
    )
    print(f"\nwrote {pred_path}, {Path(args.out) / 'scores.csv'} and {png}")
    return 0


def _cmd_forecast(args) -> int:
    import pandas as pd

    from .forecasting import ConvexAR, ConvexQuantileAR

    y, label = _load_series(args)
    if args.steps < 1:
        raise ValueError(f"--steps must be >= 1, got {args.steps}")
    train = y.iloc[-args.window :] if args.window else y
    quantiles = _quantiles_for(args.coverage)
    point = ConvexAR(lags=args.lags, beta=args.beta, target=args.target).fit(train)
    qmodel = ConvexQuantileAR(
        quantiles=quantiles,
        lags=args.lags,
        beta=args.beta,
        target=args.target,
        max_horizon=args.steps,
        calibration="conformal",
    ).fit(train)
    fc = point.predict(args.steps)
    q = qmodel.predict_quantiles(args.steps)
    table = pd.DataFrame(
        {
            "forecast": fc,
            "median": q[quantiles[1]],
            "lower": q[quantiles[0]],
            "upper": q[quantiles[2]],
        }
    )
    print(
        f"Next {args.steps} step(s) of {label} (fit on the last {train.size} "
        f"observations; {args.coverage:.0%} interval):"
    )
    print(table.to_string(float_format=lambda v: f"{v:.2f}"))
    if args.plot:
        from ._optional import import_optional
        from .plotting import plot_forecast, price_axis_label

        import_optional("matplotlib").use("Agg")
        ax = plot_forecast(
            train.iloc[-min(300, train.size) :],
            fc,
            table["lower"],
            table["upper"],
            title=f"Forecast of {label}",
            coverage=args.coverage,
            ylabel=price_axis_label(label),
        )
        from ._atomic import atomic_open

        with atomic_open(args.plot, "wb") as fh:
            ax.figure.savefig(fh, format=_plot_format(args.plot), dpi=110)
        print(f"wrote {args.plot}")
    return 0


def _cmd_path(args) -> int:
    import pandas as pd

    from .data import lag_embed
    from .features import Library
    from .forecasting import make_transform
    from .solvers import lasso_path

    y, label = _load_series(args)
    levels = y.to_numpy()[-args.window :]
    tr = make_transform(args.target).fit(levels)
    z = tr.forward(levels)
    z = z / z.std()
    X, t, _ = lag_embed(z, lags=1)
    lib = Library(activation=args.activation).fit(X[:, 0])
    path = lasso_path(lib.operator(), t)
    T = t.size
    betas = np.geomspace(path.betas[0] * 1e-4, path.betas[0], args.n_betas)
    coefs, intercepts = path.evaluate(betas)
    op = lib.operator()
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
    from ._atomic import OutputSet
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
    with OutputSet(out, command="path") as run:  # both files and the manifest, or none
        frame.to_csv(run.path("path.csv"), index=False)
        ax.figure.savefig(run.path("path.png"), dpi=110)
    print(
        f"Exact path of the 2-layer {args.activation} network on {label}: "
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
    rng = np.random.default_rng(args.seed)
    x = rng.normal(size=args.n_points)
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
def _add_source(p):
    p.add_argument(
        "ticker",
        nargs="?",
        default=None,
        help="ticker to download with yfinance (default BTC-USD)",
    )
    p.add_argument("--csv", metavar="FILE", help="read prices from a CSV file instead")
    p.add_argument("--interval", default="1h", help="yfinance interval (default 1h)")
    p.add_argument(
        "--start", default=None, help="first date used (downloaded for a ticker)"
    )
    p.add_argument(
        "--end", default=None, help="last date used, included (downloaded for a ticker)"
    )
    p.add_argument(
        "--fill",
        choices=["ffill", "interpolate"],
        default=None,
        help="fill gaps and missing closes of the range used (default: refuse them)",
    )
    p.add_argument(
        "--date-format",
        default=None,
        metavar="FMT",
        help="strftime format of the CSV's dates, e.g. '%%d/%%m/%%Y' when the "
        "day/month order is ambiguous",
    )
    p.add_argument("--cache-dir", default=None, help="yfinance cache directory")


def _add_model(p, window=2000):
    p.add_argument(
        "--window",
        type=int,
        default=window,
        help=f"training window length (default {window})",
    )
    p.add_argument(
        "--lags", type=int, default=1, help="autoregressive lags (default 1)"
    )
    p.add_argument(
        "--beta",
        type=float,
        default=1.0,
        help="regularization beta in the (4.3) scaling (default 1.0)",
    )
    p.add_argument(
        "--target",
        default="difference",
        choices=["difference", "log_return", "level", "standardize"],
        help="target transform (default difference)",
    )
    p.add_argument("--activation", default="abs", help="activation (default abs)")
    p.add_argument(
        "--coverage",
        type=float,
        default=0.9,
        help="nominal interval coverage (default 0.9)",
    )


def _add_backtest(p, test_size):
    p.add_argument(
        "--refit", type=int, default=24, help="refit every N steps (default 24)"
    )
    p.add_argument("--steps", type=int, default=1, help="forecast horizon (default 1)")
    p.add_argument(
        "--test-size",
        type=int,
        default=test_size,
        help=f"forecasts in the test period (default {test_size}; 0 = all)",
    )
    p.add_argument(
        "--no-conformal",
        dest="conformal",
        action="store_false",
        help="skip the split-conformal calibration of the quantile intervals "
        "(calibrated on the last quarter of each window by default)",
    )
    p.add_argument("--n-jobs", type=int, default=1, help="parallel jobs (default 1)")
    p.add_argument(
        "--backend",
        default="loky",
        help="joblib backend, or 'dask' for a dask.distributed cluster",
    )
    p.add_argument("--out", default="tsmirrors-output", help="output directory")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def build_parser() -> argparse.ArgumentParser:
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
        help="the main job on a planted series (no network)",
        description="Backtest the convex forecasters against AR(1) "
        "and naive on a planted series of Section 4, and show the "
        "planted neurons recovered.",
        epilog=EXAMPLES["demo"],
        formatter_class=fmt,
    )
    p.add_argument("--length", type=int, default=3000, help="series length T")
    p.add_argument("--neurons", type=int, default=5, help="planted neurons p")
    p.add_argument("--sigma2", type=float, default=1.0, help="noise variance")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument(
        "--recover-beta",
        type=float,
        default=0.003,
        help="beta (4.3) of the recovery fit (default 0.003)",
    )
    _add_model(p, window=1000)
    _add_backtest(p, test_size=1000)
    p.set_defaults(func=_cmd_demo, target="level", beta=0.01)

    p = sub.add_parser(
        "backtest",
        help="rolling backtest against AR(1) and naive",
        description="Rolling backtest of ConvexAR and ConvexQuantileAR "
        "against AR(1)+bias and naive (SGD with --sgd).",
        epilog=EXAMPLES["backtest"],
        formatter_class=fmt,
    )
    _add_source(p)
    _add_model(p)
    _add_backtest(p, test_size=2000)
    p.add_argument("--sgd", action="store_true", help="add an SGD-trained network")
    p.set_defaults(func=_cmd_backtest)

    p = sub.add_parser(
        "forecast",
        help="fit on all data and forecast the next steps",
        description="Fit ConvexAR and ConvexQuantileAR on the latest "
        "window and print the next K steps with intervals.",
        epilog=EXAMPLES["forecast"],
        formatter_class=fmt,
    )
    _add_source(p)
    _add_model(p)
    p.add_argument(
        "--steps", type=int, default=12, help="steps to forecast (default 12)"
    )
    p.add_argument("--plot", metavar="PNG", default=None, help="write a plot")
    p.set_defaults(func=_cmd_forecast)

    p = sub.add_parser(
        "path",
        help="the exact regularization path as CSV and PNG",
        description="Exact Lasso path of the 2-layer network on the "
        "latest window: loss and neurons against beta.",
        epilog=EXAMPLES["path"],
        formatter_class=fmt,
    )
    _add_source(p)
    _add_model(p, window=1000)
    p.add_argument("--n-betas", type=int, default=60, help="grid points (default 60)")
    p.add_argument("--out", default="tsmirrors-output", help="output directory")
    p.set_defaults(func=_cmd_path)

    p = sub.add_parser(
        "library",
        help="supported networks and their library sizes",
        description="List every supported (architecture, depth, "
        "activation) and the number of features of its deep library "
        "on N random points.",
        epilog=EXAMPLES["library"],
        formatter_class=fmt,
    )
    p.add_argument(
        "--n-points", type=int, default=10, help="number of points N (default 10)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random points")
    p.add_argument(
        "--memory-budget", type=int, default=2**30, help="bytes (default 1 GiB)"
    )
    p.set_defaults(func=_cmd_library)
    return parser


def _plot_format(path) -> str:
    """Image format of ``--plot`` from its suffix (png when there is none)."""
    return Path(path).suffix.lstrip(".").lower() or "png"


def _check_destinations(args) -> None:
    """Refuse an unusable ``--out`` folder or ``--plot`` file before any work."""
    from ._atomic import check_output_dir

    if getattr(args, "out", None) is not None:
        check_output_dir(args.out, "--out")
    plot = getattr(args, "plot", None)
    if plot is not None:
        plot = Path(plot)
        if plot.is_dir():
            raise ValueError(f"--plot {plot} is a folder; give a file name")
        check_output_dir(plot.parent, "the folder of --plot")
        fmt = _plot_format(plot)
        try:
            from matplotlib.figure import Figure
        except ImportError:  # reported by the command itself
            return
        supported = Figure().canvas.get_supported_filetypes()
        if fmt not in supported:
            raise ValueError(
                f"--plot {plot}: unsupported image format {fmt!r}; use one of "
                f"{', '.join(sorted(supported))}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed a one-line usage error
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        _check_destinations(args)  # a bad --out fails now, not after the work
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("tsmirrors: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError, ImportError, RuntimeError) as exc:
        if args.debug:
            traceback.print_exc()
        message = " ".join(str(exc).split())
        print(f"tsmirrors: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
