"""The argument parser of the ``tsmirrors`` command line.

Every option is checked here, before any data is read: numbers by their
type (``--window -5`` is refused by argparse), closed sets by ``choices``.
"""

from __future__ import annotations

import argparse

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


def _lag_list(text: str):
    """An int ``p`` (lags 1..p) or a comma-separated list of lags."""
    parse = _int_at_least(1, " (a lag)")
    parts = [part.strip() for part in text.split(",")]
    lags = [parse(part) for part in parts]
    if len(lags) == 1:
        return lags[0]
    if len(set(lags)) != len(lags):
        raise argparse.ArgumentTypeError(f"lags must be distinct, got {text!r}")
    return sorted(lags)


def _lags(text: str):
    """``--lags``: an int, a comma-separated list, or 'auto'."""
    return "auto" if text == "auto" else _lag_list(text)


def _beta(text: str):
    """``--beta``: a number >= 0 or 'auto' (cross-validated)."""
    return "auto" if text == "auto" else _nonnegative(text)


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


def _add_model(p, window=2000, beta=None, target=None, lags=None):
    each = "each model's own: ConvexAR chooses it by cross-validation"
    p.add_argument(
        "--window",
        type=_int_at_least(1),
        default=window,
        help=f"training window length (default {window})",
    )
    p.add_argument(
        "--lags",
        type=_lags,
        default=lags,
        metavar="{P,L1,L2,...,auto}",
        help="autoregressive lags: P (lags 1..P), a list such as 1,2,24, or "
        "'auto' (1..10 plus the seasonal lag, chosen by cross-validation; "
        + (f"default {lags}" if lags is not None
           else f"default {each}, the quantile and SGD models use 1")
        + ")",
    )
    p.add_argument(
        "--beta",
        type=_beta,
        default=beta,
        metavar="{BETA,auto}",
        help="regularization beta in the (4.3) scaling, or 'auto' "
        "(rolling-origin cross-validation on the exact path; default "
        + (f"{beta:g}" if beta is not None else f"{each}, the others use 1")
        + ")",
    )
    p.add_argument(
        "--target",
        default=target,
        choices=(*TARGETS, "auto"),
        help="target transform, or 'auto' (chosen by the same folds; default "
        + (target if target is not None else f"{each}, the others use difference")
        + ")",
    )
    p.add_argument(
        "--cv-rule",
        default=None,
        choices=("min", "1se"),
        help="with 'auto' settings: the lowest validation loss, or the sparsest "
        "network within one standard error of it (default min)",
    )
    p.add_argument(
        "--strategy",
        default=None,
        choices=("recursive", "direct", "average"),
        help="ConvexAR's multi-step forecasts: feeding its forecasts back "
        "(recursive, the default), one network per step up to --steps "
        "(direct), or the mean of the two (average)",
    )
    p.add_argument(
        "--activation",
        default="abs",
        choices=ACTIVATIONS,
        help="activation (default abs)",
    )
    p.add_argument(
        "--depth",
        type=_int_at_least(2),
        default=2,
        help="network depth (default 2; deeper networks use dense sampled "
        "libraries, and ConvexAR's cross-validated settings then cost about "
        "a minute per fit on 500 points: give --beta, --lags and --target)",
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


def _add_calendar(p):
    p.add_argument(
        "--calendar",
        action="store_true",
        help="give ConvexAR hour-of-day and day-of-week indicator inputs "
        "(future-known, one 1-D library each; tsmirrors.data.calendar_features)",
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
        help=f"observations in the test period, each forecast once (default "
        f"{test_size}; 0 = all after the first --window); origins are --steps "
        "apart: --steps 3 --test-size 48 makes 48 forecasts from 16 origins",
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


def build_parser(commands: dict) -> argparse.ArgumentParser:
    """The parser; ``commands`` maps each subcommand to its function."""
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
    _add_model(p, window=1000, beta=0.01, target="level", lags=1)
    _add_backtest(p, test_size=1000)
    p.set_defaults(func=commands["demo"])

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
    p.add_argument(
        "--no-garch",
        dest="garch",
        action="store_false",
        help="leave out the GARCH(1,1)-t baseline (included when the 'arch' "
        "package is installed: pip install tsmirrors[garch])",
    )
    _add_calendar(p)
    p.set_defaults(func=commands["backtest"])

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
    _add_calendar(p)
    p.set_defaults(func=commands["forecast"])

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
        type=_lag_list,
        default=1,
        metavar="{P,L1,L2,...}",
        help="autoregressive lags, P (1..P) or a list such as 1,2,24: one "
        "library per lag (default 1)",
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
    p.set_defaults(func=commands["path"])

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
    p.set_defaults(func=commands["library"])
    return parser
