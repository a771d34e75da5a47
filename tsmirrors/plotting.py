"""Plots (matplotlib, the ``tsmirrors[plot]`` extra, imported lazily).

Every function draws on ``ax`` (a new figure when None) and returns the axes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._optional import import_optional

__all__ = [
    "plot_forecast",
    "plot_regularization_path",
    "plot_learned_function",
    "plot_training_curves",
    "classify_breakpoints",
]


def _axes(ax, figsize=(9, 4)):
    if ax is not None:
        return ax
    plt = import_optional("matplotlib.pyplot")
    _, ax = plt.subplots(figsize=figsize)
    return ax


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
):
    """Observed series, point forecast and a shaded prediction interval.

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
    """
    ax = _axes(ax)
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
            label=interval_label or "prediction interval",
        )
    if forecast is not None:
        ax.plot(
            forecast.index, forecast.to_numpy(), color="tab:blue", lw=1.2, label=label
        )
    ax.set_title(title or "Forecast")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_regularization_path(
    betas, loss, n_neurons=None, ax=None, title=None, sgd=None
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
    ax.set_xscale("log")
    ax.set_xlabel("beta")
    ax.set_ylabel("training loss")
    if n_neurons is not None:
        ax2 = ax.twinx()
        ax2.step(
            betas, n_neurons, where="mid", color="tab:green", lw=1.0, label="neurons"
        )
        ax2.set_ylabel("neurons (nonzero z)", color="tab:green")
    ax.set_title(title or "Regularization path")
    ax.legend(loc="upper left", fontsize=8)
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


def plot_learned_function(model, X, y, ax=None, title=None, lo=None, hi=None):
    """A fitted 1-D network with its breakpoints, training points vs reflections.

    Parameters
    ----------
    model : ConvexNetRegressor
        Fitted on one input column.
    X, y : array-like
        Training data.
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
