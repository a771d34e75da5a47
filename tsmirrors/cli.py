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

from ._cli_models import (
    _automatic,
    _calendar,
    _chosen_settings,
    _fit_quantile_model,
    _garch_available,
    _interval,
    _models,
    _network_params,
    _point_params,
    format_risk_table,
    format_table,
)


# ----------------------------------------------------------------- sources
def _load_series(args) -> tuple:
    """Close prices from --csv or a ticker, and a label for the source."""
    from .data import load_prices, load_yfinance
    from .data.gaps import select_close
    from .data.yahoo import exclusive_end

    if args.csv:
        frame = load_prices(args.csv, date_format=args.date_format)
        label = Path(args.csv).name
    else:
        ticker = args.ticker or "BTC-USD"
        frame = load_yfinance(
            ticker,
            interval=args.interval,
            start=args.start,
            end=exclusive_end(args.end, "--end"),  # --end keeps its whole day
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


#: Baselines included by default that may refuse a series (GARCH refuses
#: stale or tick-rounded prices): the table is made without them, saying why.
OPTIONAL_BASELINES = ("GARCH(1,1)-t",)


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
    exog = _calendar(args, series.index)
    with _dask_client(args) as client:
        for name, model in _models(args, quantiles, args.steps).items():
            t0 = time.perf_counter()
            try:
                scores, preds = backtest(
                    model,
                    series,
                    exog=exog if name == "ConvexAR" else None,
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
            except ValueError as err:
                if name not in OPTIONAL_BASELINES:
                    raise
                # a baseline that refuses these data does not stop the others
                print(f"  {name:<18} left out: {err}", flush=True)
                continue
            overall = scores.loc["overall"].to_dict()
            rows[name] = overall
            preds = preds.assign(model=name)
            frames.append(preds)
            print(
                f"  {name:<18} done in {time.perf_counter() - t0:.1f} s", flush=True
            )
    preds = pd.concat(frames, ignore_index=True)
    if _automatic(args):  # what the backtest's last refit chose, as a summary
        lo, hi = _last_refit_window(series, preds, args)
        model = _models(args, quantiles, args.steps)["ConvexAR"]
        model.fit(series.iloc[lo:hi],
                  exog=None if exog is None else exog.iloc[lo:hi])
        print(
            f"  ConvexAR settings of the last refit (fit on the {hi - lo} "
            f"observations {series.index[lo]} .. {series.index[hi - 1]}): "
            f"{_chosen_settings(model)}"
        )
    return rows, preds, series


def _last_refit_window(series, preds, args) -> tuple[int, int]:
    """Positions ``lo, hi`` of the training rows of ConvexAR's last refit."""
    own = preds[preds["model"] == "ConvexAR"]
    first = own[own["refit"] == own["refit"].max()].iloc[0]
    hi = int(series.index.get_loc(first["origin"])) + 1  # saw series[:hi]
    lo = 0 if args.window_type == "expanding" else hi - args.window
    return lo, hi


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
    quantiles, coverage = _interval(args)
    args.garch = args.garch and _garch_available(y)
    args.scaled = True  # the volatility-scaled quantile model, for one-step runs
    rows, preds, series = _run_backtests(y, args, quantiles, coverage, label)
    print()
    print(format_table(rows))
    if args.steps == 1:
        print(
            f"\nhit lo/hi: share of outcomes below the {(1 - coverage) / 2:g} "
            f"and above the {(1 + coverage) / 2:g} quantile; Kupiec, "
            "Christoffersen CC, DQ: "
            "levels rejected at 5%; coverage of the interval in the calmest and "
            "most volatile third of origins; w~vol: corr(width, volatility)"
        )
        print(format_risk_table(series, preds, coverage))
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


def _cmd_forecast(args) -> int:
    import pandas as pd

    from .forecasting import ConvexAR, ConvexQuantileAR

    y, label = _load_series(args)
    if args.window > y.size:
        raise ValueError(
            f"--window {args.window} is longer than the {y.size} observations of "
            f"{label}; lower --window"
        )
    train = y.iloc[-args.window :]
    quantiles, coverage = _interval(args)
    net = _network_params(args)
    exog = _calendar(args, train.index)
    point = ConvexAR(**net, n_features=args.n_features,
                     **_point_params(args, args.steps))
    point.fit(train, exog=exog)
    qmodel = ConvexQuantileAR(
        quantiles=quantiles,
        **net,
        n_features=args.n_features,
        max_horizon=args.steps,  # one direct model per step
        calibration="conformal" if args.conformal else None,
    )
    _fit_quantile_model(qmodel, train, args.window)
    if exog is None:
        fc = point.predict(args.steps)
    else:
        future = point._future_index(args.steps, train.index[-1])
        fc = point.predict(args.steps, exog=_calendar(args, future))
    q = qmodel.predict_quantiles(args.steps)
    if _automatic(args):
        print(f"ConvexAR settings: {_chosen_settings(point)}")
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
        from ._atomic import atomic_open

        with atomic_open(args.out, "w", newline="") as fh:
            table.to_csv(fh)
        print(f"wrote {args.out}")
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
            ax.figure.savefig(fh, format=Path(args.plot).suffix[1:].lower(), dpi=110)
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
    lags = list(range(1, args.lags + 1)) if isinstance(args.lags, int) else args.lags
    X, t, _ = lag_embed(z, lags=max(lags))
    # one 1-D library per lag: the additive network of ConvexAR(lags=...)
    ops = [
        Library(activation=args.activation).fit(X[:, k - 1]).operator() for k in lags
    ]
    op = ops[0] if len(ops) == 1 else HStackDesign(ops)
    path = lasso_path(op, t)
    T = t.size
    betas = np.geomspace(path.betas[0] * 1e-4, path.betas[0], args.n_betas)
    coefs, intercepts = path.evaluate(betas)
    certified = path.certified_at(betas)
    rows = []
    for b, c, xi, ok in zip(betas, coefs, intercepts, certified):
        r = t - (op.matvec(c) + xi)
        mse = float(np.mean(r**2))
        rows.append(
            {
                "beta_sum": b,
                "beta_4_3": 2 * b / T,
                "mse": mse,
                "objective_4_3": mse + 2 * b / T * np.abs(c).sum(),
                "n_neurons": int(np.count_nonzero(c)),
                "certified": bool(ok),
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
        certified=frame["certified"],
    )
    ax.set_xlabel("beta in (4.3)")
    ax.figure.tight_layout()
    with OutputSet(out, command="path") as run:  # both files and the manifest, or none
        frame.to_csv(run.path("path.csv"), index=False)
        ax.figure.savefig(run.path("path.png"), dpi=110)
    print(
        f"Exact path of the 2-layer {args.activation} network (lags "
        f"{','.join(map(str, lags))}, target {args.target}) on {label}: "
        f"{path.n_kinks} kinks, beta_max(4.3) = {2 * path.betas[0] / T:.4g}"
    )
    print(frame.iloc[:: max(1, len(frame) // 10)].to_string(index=False))
    if not frame["certified"].all():
        print(
            f"{int((~frame['certified']).sum())} of {len(frame)} points are not "
            "certified optimal (marked in path.csv and path.png)"
        )
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
def build_parser() -> argparse.ArgumentParser:
    """The ``tsmirrors`` argument parser (see :mod:`tsmirrors._cli_parser`)."""
    from ._cli_parser import build_parser as _build

    return _build(
        {
            "demo": _cmd_demo,
            "backtest": _cmd_backtest,
            "forecast": _cmd_forecast,
            "path": _cmd_path,
            "library": _cmd_library,
        }
    )


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line, without the source line Python adds."""
    text = " ".join(str(message).split())
    print(f"tsmirrors: warning: {text}", file=sys.stderr if file is None else file)


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at devnull so the exit flush is quiet."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _check_file_destination(path, option: str) -> Path:
    """Refuse a file option (``--plot``, ``forecast --out``) that cannot be written."""
    from ._atomic import check_output_dir

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{option} {path} is a folder; give a file name")
    if not path.parent.is_dir():
        raise ValueError(f"{option} {path}: the folder {path.parent} does not exist")
    check_output_dir(path.parent, f"the folder of {option}")
    return path


def _check_destinations(args) -> None:
    """Refuse an unusable ``--out`` or ``--plot`` before any work."""
    from ._atomic import check_output_dir
    from ._cli_parser import PLOT_FORMATS

    out = getattr(args, "out", None)
    if out is not None and args.func is _cmd_forecast:  # forecast --out is a file
        _check_file_destination(out, "--out")
    elif out is not None:
        check_output_dir(out, "--out")
    plot = getattr(args, "plot", None)
    if plot is not None:
        plot = _check_file_destination(plot, "--plot")
        suffix = plot.suffix.lower()
        if suffix not in PLOT_FORMATS:
            raise ValueError(
                f"--plot {plot}: the file name must end in one of "
                f"{', '.join(PLOT_FORMATS)} (the format of the image), got "
                f"{suffix or 'no extension'}"
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
        _check_destinations(args)  # a bad --out fails now, not after the work
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
