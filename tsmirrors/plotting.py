"""Plots (matplotlib, the ``tsmirrors[plot]`` extra, imported lazily).

Every function draws on ``ax`` (a new figure when None) and returns the axes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._optional import import_optional

__all__ = [
    "plot_forecast",
    "plot_backtest",
    "price_axis_label",
    "plot_regularization_path",
    "plot_learned_function",
    "plot_training_curves",
    "classify_breakpoints",
]


def _axes(ax, figsize=(9, 4), layout=None):
    if ax is not None:
        return ax
    plt = import_optional("matplotlib.pyplot")
    _, ax = plt.subplots(figsize=figsize, layout=layout)
    return ax


_CURRENCIES = ("USDT", "USDC", "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD")


def price_axis_label(source: str, what: str = "close") -> str:
    """An axis label with the price unit read from a ticker or file name.

    ``"BTC-USD 1h"`` and ``"BTCUSD_gemini_1h_2017.csv"`` give ``"close (USD)"``;
    a source that names no known quote currency gives ``"close (price units)"``.
    """
    name = str(source).upper()
    for code in _CURRENCIES:
        if code in name:
            return f"{what} ({code})"
    return f"{what} (price units)"


def _time_axis(ax, index, xlabel=None):
    """Concise date ticks (no overlapping labels) and an x label with the zone."""
    if isinstance(index, pd.DatetimeIndex):
        mdates = import_optional("matplotlib.dates")
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        tz = index.tz
        default = f"time ({tz})" if tz is not None else "time"
    else:
        default = "time step"
    ax.set_xlabel(xlabel or default)


def plot_forecast(
    history,
    forecast=None,
    lower=None,
    upper=None,
    truth=None,
    ax=None,
    title=None,
    label="forecast",
    interval_label=None,
    coverage=None,
    ylabel=None,
    xlabel=None,
):
    """Observed series, point forecast and a shaded prediction interval.

    Date indexes get matplotlib's concise date ticks; a new figure uses the
    constrained layout, so labels never run into each other or off the page.

    Parameters
    ----------
    history : pandas.Series
        Observed values before the forecast.
    forecast : pandas.Series or None
        Point forecasts, indexed like the future.
    lower, upper : pandas.Series or None
        Interval bounds on the forecast index.
    truth : pandas.Series or None
        Realized values over the forecast period, if known.
    coverage : float or None
        Nominal coverage of the interval, shown in the legend
        (``"90% prediction interval"``).
    ylabel, xlabel : str or None
        Axis labels; the y label should carry the unit (``"close (USD)"``,
        see :func:`price_axis_label`). Defaults: the series' name and
        ``"time (UTC)"`` (the index's time zone).
    """
    if coverage is not None and not 0 < coverage < 1:
        raise ValueError(f"coverage must be in (0, 1), got {coverage}")
    for name, value in (("history", history), ("forecast", forecast),
                        ("lower", lower), ("upper", upper), ("truth", truth)):
        if value is not None and not isinstance(value, pd.Series):
            raise ValueError(
                f"{name} must be a pandas Series (its index is the time axis), "
                f"got {type(value).__name__}"
            )
    ax = _axes(ax, layout="constrained")
    ax.plot(history.index, history.to_numpy(), color="0.25", lw=1.0, label="observed")
    if truth is not None:
        ax.plot(truth.index, truth.to_numpy(), color="0.55", lw=1.0, label="realized")
    if lower is not None and upper is not None:
        ax.fill_between(
            lower.index,
            lower.to_numpy(),
            upper.to_numpy(),
            color="tab:blue",
            alpha=0.25,
            lw=0,
            label=interval_label
            or (
                f"{coverage:.0%} prediction interval"
                if coverage is not None
                else "prediction interval"
            ),
        )
    if forecast is not None:
        ax.plot(
            forecast.index, forecast.to_numpy(), color="tab:blue", lw=1.2, label=label
        )
    ax.set_title(title or "Forecast")
    _time_axis(ax, history.index, xlabel)
    name = history.name
    ax.set_ylabel(ylabel or (str(name) if name is not None else "value"))
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


_MODEL_COLORS = {
    "ConvexAR": "tab:blue",
    "ConvexQuantileAR": "tab:green",
    "AR(1)+bias": "tab:orange",
    "naive": "0.45",
    "SGD net": "tab:red",
    "GARCH(1,1)-t": "tab:purple",
    "ScaledQuantileAR": "tab:cyan",
}
#: for other models: colors no named model uses, the same one for a name
_SPARE_COLORS = ("tab:brown", "tab:pink", "tab:olive", "tab:gray")


def _model_color(model: str) -> str:
    if model in _MODEL_COLORS:
        return _MODEL_COLORS[model]
    import zlib

    return _SPARE_COLORS[zlib.crc32(str(model).encode()) % len(_SPARE_COLORS)]


def _nominal_coverage(part):
    """Nominal coverage of a model's interval from its outermost quantile columns."""
    levels = []
    for col in part.columns:
        if col.startswith("q_") and part[col].notna().any():
            try:
                levels.append(float(col[2:]))
            except ValueError:
                continue
    if len(levels) < 2:
        return None
    return max(levels) - min(levels)


def plot_backtest(
    preds,
    series,
    *,
    title=None,
    ylabel="value",
    last=500,
    zoom=48,
    interval_model="ConvexQuantileAR",
    relative_to="naive",
    figsize=(11, 9),
):
    """Three panels that tell a backtest's models apart.

    1. The observed series, each model's forecasts and ``interval_model``'s
       interval over the last ``last`` forecast times (the title says how
       many of how many are shown).
    2. A zoom on the last ``zoom`` forecast times, one marker per forecast,
       where the models' lines can be told apart.
    3. Each model's mean absolute error over all forecast times, as a
       rolling mean (window: 1/25 of the test period, at least 1), divided
       by that of ``relative_to`` when that model is in ``preds`` (on
       near-random-walk prices every model's error is close to the naive
       forecast's, and only the ratio tells them apart).

    Only the first forecast step of each origin is drawn.

    Parameters
    ----------
    preds : pandas.DataFrame
        Backtest predictions of one or more models: columns ``timestamp``,
        ``step``, ``y_true``, ``y_pred``, ``model`` and, for intervals,
        ``lower``/``upper`` (and ``q_*`` quantile columns). Without a
        ``model`` column (the output of one ``backtest`` call) the rows are
        one model, drawn as ``"forecast"`` with its interval shaded.
    series : pandas.Series
        The observed series over (at least) the test period.
    title : str or None
        Figure title.
    ylabel : str, default="value"
        Label of the series' axis, with its unit (``"close (USD)"``, see
        :func:`price_axis_label`).
    last, zoom : int
        Forecast times in the first and second panels.
    interval_model : str
        Model whose interval is shaded; its legend entry gives the nominal
        and the observed coverage.
    relative_to : str or None, default="naive"
        Reference model of the error panel; None (or a model not in
        ``preds``) draws the errors themselves.

    Returns
    -------
    matplotlib.figure.Figure
    """
    for name, value in (("last", last), ("zoom", zoom)):
        if int(value) < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")
    if "model" not in preds.columns:
        # one backtest() output: a single model, whose interval is shaded
        preds = preds.assign(model="forecast")
        interval_model = "forecast"
    missing = {"timestamp", "step", "y_true", "y_pred"} - set(preds.columns)
    if missing:
        raise ValueError(f"preds lacks the column(s) {sorted(missing)}")
    if len(preds) == 0:
        raise ValueError("preds is empty: nothing to plot")
    plt = import_optional("matplotlib.pyplot")
    first_step = int(preds["step"].min())
    frame = preds[preds["step"] == first_step].copy()
    index = series.index
    if isinstance(index, pd.DatetimeIndex):
        frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    stamps = np.sort(frame["timestamp"].unique())
    n_total = stamps.size
    shown = stamps[-int(last) :]
    zoomed = stamps[-int(zoom) :]
    kind = "one-step" if first_step == 1 else f"{first_step}-step-ahead"
    what = (
        f"all {n_total} {kind} forecasts"
        if shown.size == n_total
        else f"last {shown.size} of {n_total} {kind} forecasts"
    )
    fig, axes = plt.subplots(3, 1, figsize=figsize, layout="constrained")
    for ax, times, heading in (
        (axes[0], shown, what),
        (axes[1], zoomed, f"zoom: last {zoomed.size} forecasts"),
    ):
        lo, hi = times[0], times[-1]
        inside = (index >= lo) & (index <= hi)
        ax.plot(
            index[inside],
            series.to_numpy()[inside],
            color="black",
            lw=1.2,
            marker="o" if times is zoomed else None,
            ms=3,
            label="observed",
            zorder=3,
        )
        for model, part in frame[frame["timestamp"].isin(times)].groupby(
            "model", sort=False
        ):
            color = _model_color(model)
            if model == interval_model and {"lower", "upper"} <= set(part.columns):
                nominal = _nominal_coverage(part)
                band = f"{model} interval"
                if nominal is not None:
                    band = f"{model} {nominal:.0%} interval"
                if times is shown:
                    whole = frame[frame["model"] == model]
                    hit = (whole["y_true"] >= whole["lower"]) & (
                        whole["y_true"] <= whole["upper"]
                    )
                    band += f"\n(observed coverage {hit.mean():.1%})"
                ax.fill_between(
                    part["timestamp"],
                    part["lower"],
                    part["upper"],
                    color="tab:green",
                    alpha=0.15,
                    lw=0,
                    label=band,
                )
            ax.plot(
                part["timestamp"],
                part["y_pred"],
                color=color,
                lw=0.9,
                marker="." if times is zoomed else None,
                label=model,
            )
        ax.set_title(heading, fontsize=10)
        ax.set_ylabel(ylabel)
        _time_axis(ax, index)
        ax.grid(alpha=0.3)
    # legends beside the panels: inside, they would hide the data
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax = axes[2]
    window = max(1, n_total // 25)
    rolling = {}
    for model, part in frame.groupby("model", sort=False):
        err = (part["y_pred"] - part["y_true"]).abs().to_numpy()
        err = pd.Series(err, index=pd.Index(part["timestamp"])).sort_index()
        rolling[model] = err.rolling(window, min_periods=window).mean()
    base = rolling.get(relative_to) if relative_to is not None else None
    for model, curve in rolling.items():
        if base is not None:
            # near-identical errors (hourly prices) separate only as ratios
            curve = curve / base.reindex(curve.index)
        ax.plot(
            curve.index,
            curve.to_numpy(),
            color=_model_color(model),
            lw=1.1,
            label=model,
        )
    span = f"rolling mean over {window} forecast(s), all {n_total} forecasts"
    if base is not None:
        ax.set_title(f"mean absolute error relative to {relative_to}, {span}")
        ax.set_ylabel(f"MAE / MAE of {relative_to}")
    else:
        ax.set_title(f"mean absolute error, {span}")
        unit = ylabel[ylabel.rfind("(") :] if ylabel.endswith(")") else f"({ylabel})"
        ax.set_ylabel(f"MAE {unit}")
    ax.title.set_fontsize(10)
    _time_axis(ax, index)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


def plot_regularization_path(
    betas,
    loss,
    n_neurons=None,
    ax=None,
    title=None,
    sgd=None,
    *,
    sgd_summary=None,
    ylabel="training loss",
    xlabel="beta",
    yscale="linear",
    beta_max=None,
    certified=None,
):
    """Training loss (and neurons) against beta, on log axes.

    Parameters
    ----------
    betas, loss : array-like
        The path: loss of the optimal network at each beta.
    n_neurons : array-like or None
        Number of neurons at each beta, drawn on a second axis.
    sgd : list of (betas, loss) or None
        Gradient-trained runs drawn for comparison (noisy estimates of the path).
    sgd_summary : (betas, mean, std) or None
        Mean and standard deviation of the runs, drawn as error bars.
    ylabel : str, default="training loss"
    xlabel : str, default="beta"
    yscale : {"linear", "log"}
        Scale of the loss axis.
    beta_max : float or None
        Drawn as a dotted vertical line (above it the network is constant).
    certified : array-like of bool or None
        Whether each point is certified optimal
        (:meth:`~tsmirrors.solvers.LassoPath.certified_at`); the others are
        marked with red crosses, never drawn as if they were exact.

    All curves share one legend.
    """
    ax = _axes(ax)
    betas = np.asarray(betas, dtype=float)
    if sgd:
        for k, (b, v) in enumerate(sgd):
            ax.plot(
                b,
                v,
                color="tab:orange",
                alpha=0.35,
                lw=0.8,
                label="SGD runs" if k == 0 else None,
            )
    ax.plot(betas, loss, color="tab:blue", lw=1.8, label="convex (exact path)")
    if certified is not None:
        bad = ~np.asarray(certified, dtype=bool)
        if bad.any():
            ax.plot(
                betas[bad],
                np.asarray(loss, dtype=float)[bad],
                "x",
                color="tab:red",
                ms=6,
                label="not certified",
            )
    if sgd_summary is not None:
        b, mean, std = sgd_summary
        ax.errorbar(
            b,
            mean,
            yerr=std,
            color="black",
            lw=1.4,
            capsize=3,
            label="SGD mean +- std",
        )
    if beta_max is not None:
        ax.axvline(beta_max, color="0.5", ls=":", lw=1, label="beta_max")
    ax.set_xscale("log")
    ax.set_yscale(yscale)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if n_neurons is not None:
        ax2 = ax.twinx()
        ax2.step(
            betas, n_neurons, where="mid", color="tab:green", lw=1.0, label="neurons"
        )
        ax2.set_ylabel("neurons (nonzero z)", color="tab:green")
    ax.set_title(title or "Regularization path")
    # one legend for both axes, where the path leaves room: the loss rises and
    # the neuron count falls with beta, so the right middle is empty
    handles, labels = ax.get_legend_handles_labels()
    if n_neurons is not None:
        more = ax2.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    (ax2 if n_neurons is not None else ax).legend(
        handles, labels, loc="center right", fontsize=8
    )
    ax.grid(alpha=0.3)
    return ax


def classify_breakpoints(breakpoints, x_train, tol: float = 1e-9) -> pd.DataFrame:
    """Label each breakpoint as a training point or a reflection.

    A breakpoint that is not a training point is matched, when possible, to a
    reflection ``R(x_i, x_j) = 2 x_j - x_i``, a generalized reflection
    ``x_j + x_k - x_i``, or a double reflection ``R(R(x_i, x_j), x_k)`` of
    training points.
    """
    x = np.unique(np.asarray(x_train, dtype=float))
    rows = []
    for b in np.asarray(breakpoints, dtype=float):
        scale = tol * max(1.0, abs(b))
        if np.any(np.abs(x - b) <= scale):
            rows.append((b, "training point", ""))
            continue
        kind, note = "other", ""
        refl = 2 * x[None, :] - x[:, None]  # refl[i, j] = R(x_i, x_j) = 2 x_j - x_i
        hit = np.argwhere(np.abs(refl - b) <= scale)
        if hit.size:
            i, j = hit[0]
            kind, note = "reflection", f"R({x[i]:.4g}, {x[j]:.4g})"
        elif x.size <= 400:
            s = x[:, None] + x[None, :]
            for xi in x:
                jk = np.argwhere(np.abs(s - xi - b) <= scale)
                if jk.size:
                    j, k = jk[0]
                    kind = "generalized reflection"
                    note = f"{x[j]:.4g} + {x[k]:.4g} - {xi:.4g}"
                    break
            if kind == "other":
                # R(R(x_i, x_j), x_k) = 2 x_k - 2 x_j + x_i
                for xk in x:
                    ij = np.argwhere(
                        np.abs(2 * xk - 2 * x[None, :] + x[:, None] - b) <= scale
                    )
                    if ij.size:
                        i, j = ij[0]
                        kind = "double reflection"
                        note = f"R(R({x[i]:.4g}, {x[j]:.4g}), {xk:.4g})"
                        break
        rows.append((b, kind, note))
    return pd.DataFrame(rows, columns=["breakpoint", "kind", "note"])


def plot_learned_function(model, X, y, ax=None, title=None, lo=None, hi=None,
                          xlabel="input x", ylabel="output f(x)"):
    """A fitted 1-D network with its breakpoints, training points vs reflections.

    Parameters
    ----------
    model : ConvexNetRegressor
        Fitted on one input column.
    X, y : array-like
        Training data.
    xlabel, ylabel : str
        Axis labels.
    """
    ax = _axes(ax, figsize=(7, 4))
    x = np.asarray(X, dtype=float).reshape(-1)
    span = np.ptp(x)
    lo = x.min() - 0.5 * span if lo is None else lo
    hi = x.max() + 0.5 * span if hi is None else hi
    bps = model.breakpoints(lo, hi)
    grid = np.unique(np.concatenate([np.linspace(lo, hi, 400), bps]))
    ax.plot(
        grid,
        model.predict(grid[:, None]),
        color="tab:blue",
        lw=1.5,
        label="fitted network",
    )
    ax.scatter(x, y, color="black", s=18, zorder=3, label="training data")
    kinds = classify_breakpoints(bps, x)
    styles = {
        "training point": ("0.5", ":"),
        "reflection": ("tab:red", "--"),
        "generalized reflection": ("tab:purple", "--"),
        "double reflection": ("tab:brown", "--"),
        "other": ("tab:orange", "-."),
    }
    seen = set()
    for b, kind in zip(kinds["breakpoint"], kinds["kind"]):
        color, style = styles[kind]
        ax.axvline(
            b,
            color=color,
            ls=style,
            lw=0.9,
            label=f"breakpoint at {kind}" if kind not in seen else None,
        )
        seen.add(kind)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or "Learned function and its breakpoints")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_training_curves(
    convex_objective, histories, ax=None, title=None, column="objective", x="epoch"
):
    """Training objective per epoch of SGD runs against the convex optimum.

    Parameters
    ----------
    convex_objective : float
        The global optimum (a horizontal line).
    histories : list of pandas.DataFrame
        ``history_`` of :class:`~tsmirrors.models.sgd.SGDNetRegressor` runs.
    x : {"epoch", "time_s"}
        Horizontal axis: epochs or cumulative time.
    """
    ax = _axes(ax)
    values = []
    for k, hist in enumerate(histories):
        ax.plot(
            hist[x],
            hist[column],
            color="tab:orange",
            alpha=0.4,
            lw=0.8,
            label="SGD runs" if k == 0 else None,
        )
        values.append(hist[column].to_numpy())
    if values:
        length = min(v.size for v in values)
        mean = np.mean([v[:length] for v in values], axis=0)
        ax.plot(
            histories[0][x].to_numpy()[:length],
            mean,
            color="black",
            lw=1.5,
            label="SGD mean",
        )
    ax.axhline(
        convex_objective, color="tab:blue", lw=1.8, label="convex (global optimum)"
    )
    ax.set_yscale("log")
    ax.set_xlabel("epoch" if x == "epoch" else "time (s)")
    ax.set_ylabel("training objective")
    ax.set_title(title or "Training curves")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return ax
