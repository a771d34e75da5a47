"""Figures 4.3, 4.5, 4.6, 4.7 and E.2: deep narrow abs networks of depth 2 to 5."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from ._axes import count_axis, log_axis, time_axis, unit_mse
from ._common import (
    DEFAULT_OUT,
    Dataset,
    ExperimentResult,
    ar1_baseline,
    fit_convex,
    load_hourly_close,
    price_windows,
)
from ._output import new_figure, save_figure, write_tables
from ._sgd import run_parallel

__all__ = ["depth"]

FULL = {"T": 1000, "n_windows": 4, "n_features": 1000, "n_repeats": 200}
QUICK = {"T": 120, "n_windows": 1, "n_features": 80, "n_repeats": 4}


def _depth_task(ds: Dataset, depth: int, seeds: list[int], n_features: int | None,
                beta: float) -> list[dict]:
    rows = []
    for seed in seeds:
        _, info = fit_convex(ds, beta, depth=depth, n_features=n_features,
                             random_state=seed)
        rows.append({
            "window": ds.name, "depth": depth, "repeat": seed,
            "objective": info["objective"], "train_mse": info["train_loss"],
            "test_mse": info["test_loss"],
            "test_mse_in_range": info["test_loss_in_range"], "time_s": info["time_s"],
            "n_neurons": info["n_neurons"], "n_features": info["n_features"],
        })
    return rows


def depth(
    out_dir: str | Path = DEFAULT_OUT,
    *,
    quick: bool = False,
    n_jobs: int | None = 1,
    backend: str = "loky",
    prices: pd.Series | None = None,
    data_path: str | Path | None = None,
    T: int | None = None,
    n_windows: int | None = None,
    n_features: int | None = None,
    n_repeats: int | None = None,
    depths: tuple[int, ...] = (2, 3, 4, 5),
    beta: float | None = None,
    chunk: int = 25,
    random_state: int = 0,
) -> ExperimentResult:
    """Deep narrow abs autoregression on subsampled libraries, by depth.

    For each of ``n_windows`` non-overlapping windows (``T`` training pairs,
    the next ``T`` pairs as test) and each depth ``L >= 3``, ``n_repeats``
    Lasso problems over ``n_features`` features drawn by the sequential
    sampling of Section 4 (data feature biases only; repeat ``r`` uses the
    same draws ``j_1, j_2, ...`` at every depth) are solved exactly with
    ``beta = 1/T`` in (4.3). Depth 2 uses the whole 2-layer library, so its
    repeats are identical fits (they time the solver).

    Parameters
    ----------
    out_dir : path-like
    quick : bool, default=False
    n_jobs : int or None, default=1
    backend : str, default="loky"
    prices : pandas.Series or None
    data_path : path-like or None
    T, n_windows, n_features, n_repeats : int or None
        Override the full (or quick) sizes.
    depths : tuple of int, default=(2, 3, 4, 5)
    beta : float or None
        ``beta`` of (4.3); None is ``1/T``.
    chunk : int, default=25
        Repeats per parallel task.
    random_state : int, default=0

    Returns
    -------
    ExperimentResult
        Tables ``fits`` (one row per network), ``summary`` (per window and
        depth), ``by_depth`` (pooled over windows) and ``ar1``.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    cfg = dict(QUICK if quick else FULL)
    for key, val in (("T", T), ("n_windows", n_windows), ("n_features", n_features),
                     ("n_repeats", n_repeats)):
        if val is not None:
            cfg[key] = int(val)
    beta = 1.0 / cfg["T"] if beta is None else float(beta)
    if prices is None:
        prices = load_hourly_close(data_path)
    windows = price_windows(prices, cfg["T"], cfg["n_windows"])
    seeds = [random_state + r for r in range(cfg["n_repeats"])]

    tasks = []
    for ds in windows:
        for L in depths:
            feats = None if L == 2 else cfg["n_features"]
            for s in range(0, len(seeds), chunk):
                tasks.append((ds, L, seeds[s : s + chunk], feats, beta))
    parts = run_parallel(_depth_task, tasks, n_jobs=n_jobs, backend=backend)
    fits = pd.DataFrame([row for part in parts for row in part])

    ar1 = {ds.name: ar1_baseline(ds) for ds in windows}
    ar1_table = pd.DataFrame([
        {"window": ds.name, "ar1_train_mse": ar1[ds.name]["train_loss"],
         "ar1_test_mse": ar1[ds.name]["test_loss"],
         "ar1_test_mse_in_range": ar1[ds.name]["test_loss_in_range"],
         "test_outside_train_range": ds.outside_fraction,
         "description": ds.description} for ds in windows
    ])

    def q(p):
        return lambda s: s.quantile(p)

    grouped = fits.groupby(["window", "depth"], sort=False)
    summary = grouped.agg(
        repeats=("test_mse", "size"),
        objective_median=("objective", "median"),
        train_mse_median=("train_mse", "median"),
        test_mse_median=("test_mse", "median"),
        test_mse_q25=("test_mse", q(0.25)),
        test_mse_q75=("test_mse", q(0.75)),
        test_mse_mean=("test_mse", "mean"),
        test_mse_in_range_median=("test_mse_in_range", "median"),
        time_s_mean=("time_s", "mean"),
        neurons_mean=("n_neurons", "mean"),
        features_mean=("n_features", "mean"),
    ).reset_index()
    summary["ar1_test_mse"] = summary["window"].map(
        {k: v["test_loss"] for k, v in ar1.items()})
    summary["ar1_test_mse_in_range"] = summary["window"].map(
        {k: v["test_loss_in_range"] for k, v in ar1.items()})
    summary["frac_below_ar1"] = grouped.apply(
        lambda g: float(np.mean(g["test_mse"].to_numpy()
                                < ar1[g.name[0]]["test_loss"])),
        include_groups=False,
    ).to_numpy()

    # Pooled over windows: test MSE relative to the window's AR(1).
    fits["test_over_ar1"] = fits["test_mse"] / fits["window"].map(
        {k: v["test_loss"] for k, v in ar1.items()})
    fits["test_in_range_over_ar1"] = fits["test_mse_in_range"] / fits["window"].map(
        {k: v["test_loss_in_range"] for k, v in ar1.items()})
    by_depth = fits.groupby("depth").agg(
        fits=("test_mse", "size"),
        objective_median=("objective", "median"),
        test_over_ar1_median=("test_over_ar1", "median"),
        test_over_ar1_q25=("test_over_ar1", q(0.25)),
        test_over_ar1_q75=("test_over_ar1", q(0.75)),
        test_in_range_over_ar1_median=("test_in_range_over_ar1", "median"),
        time_s_median=("time_s", "median"),
        time_s_mean=("time_s", "mean"),
        neurons_mean=("n_neurons", "mean"),
    ).reset_index()
    for col, name in (("test_mse_median", "windows_best_median"),
                      ("test_mse_in_range_median", "windows_best_in_range")):
        best = summary.loc[summary.groupby("window")[col].idxmin()]
        by_depth[name] = by_depth["depth"].map(
            best["depth"].value_counts()).fillna(0).astype(int)

    files = _figures(out, windows, depths, fits, ar1, cfg, beta, random_state)
    tables = {"fits": fits, "summary": summary, "by_depth": by_depth,
              "ar1": ar1_table}
    settings = dict(cfg, depths=list(depths), beta=beta, random_state=random_state,
                    quick=quick, sampling="sequential")
    notes = (
        f"Settings: {settings}. Objectives in the (4.3) scaling (beta = 1/T); "
        "test loss is the test MSE in standardized units (``in_range``: only "
        "test pairs whose input lies inside the range of the training "
        "inputs; ratios are to AR(1)+bias on the same pairs)."
    )
    files += write_tables(out, "depth", "Figures 4.3, 4.5-4.7 and E.2", tables,
                          markdown=["ar1", "summary", "by_depth"], notes=notes)
    return ExperimentResult("depth", tables, files, time.perf_counter() - t0,
                            settings)


def zoom_length(T: int) -> int:
    """Test steps in Figure 4.5's zoom: the first fifth, at most 200, at least 2."""
    return max(2, min(200, T // 5))


def _bins(values: np.ndarray, n: int = 40) -> tuple[np.ndarray, bool]:
    """Histogram bins: logarithmic when the values span a decade or more."""
    v = values[np.isfinite(values) & (values > 0)]
    lo, hi = v.min(), v.max()
    if hi <= lo * 1.0001:
        lo, hi = lo / 1.1, hi * 1.1
    if hi / lo >= 10:
        return np.geomspace(lo, hi, n), True
    return np.linspace(lo, hi, n), False


def _figures(out, windows, depths, fits, ar1, cfg, beta, random_state):
    import matplotlib as mpl

    colors = {L: mpl.colormaps["viridis"](i / max(1, len(depths) - 1))
              for i, L in enumerate(depths)}
    files = []
    nw = len(windows)

    # Figure 4.3: the example network of each depth (repeat 0), per window.
    fig, axes = new_figure(1, nw, (4.2 * nw, 3.4))
    example = fits[fits["repeat"] == random_state]
    for j, ds in enumerate(windows):
        ax = axes[0, j]
        ex = example[example["window"] == ds.name].set_index("depth")
        pos = np.arange(len(depths))
        ax.bar(pos - 0.2, ex.loc[list(depths), "train_mse"], 0.4, label="train MSE")
        ax.bar(pos + 0.2, ex.loc[list(depths), "test_mse"], 0.4, label="test MSE")
        ax.axhline(ar1[ds.name]["test_loss"], color="tab:green", ls="--",
                   label="AR(1)+bias test")
        ax.set_xticks(pos, [f"L={L}" for L in depths])
        ax.set_yscale("log")
        ax.set_xlabel("depth")
        ax.set_ylabel("MSE (standardized units)")
        ax.set_title(f"{ds.name}: one network per depth", fontsize=9)
        # below the x label: the bars fill the axes
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    files.append(save_figure(fig, out / "fig4_3_depth_losses.png"))

    # Figure 4.5: predictions of the example networks on the first window,
    # the whole test part and a zoom on its first fifth (200 h in full runs).
    ds = windows[0]
    fig, axes = new_figure(2, 1, (10, 6.4))
    t_idx = ds.index_test if ds.index_test is not None else np.arange(ds.T)
    truth = ds.y_test * ds.std + ds.mean
    a = ar1[ds.name]["pred_test"] * ds.std + ds.mean
    preds = {}
    for L in depths:
        feats = None if L == 2 else cfg["n_features"]
        _, info = fit_convex(ds, beta, depth=L, n_features=feats,
                             random_state=random_state)
        preds[L] = info["pred_test"] * ds.std + ds.mean
    n_zoom = zoom_length(ds.T)
    unit = "hours" if ds.index_test is not None else "steps"
    for ax, sl in zip(axes[:, 0], (slice(None), slice(0, n_zoom))):
        ax.plot(t_idx[sl], truth[sl], color="black", lw=1.2, label="price")
        ax.plot(t_idx[sl], a[sl], color="tab:green", lw=0.9, ls="--",
                label="AR(1)+bias")
        for L in depths:
            ax.plot(t_idx[sl], preds[L][sl], color=colors[L], lw=0.9,
                    label=f"cvxNN L={L}")
        ax.set_ylabel("close (USD)")
        time_axis(ax, t_idx)
        what = (f"all {ds.T} test {unit}" if sl.stop is None
                else f"zoom: first {n_zoom} of {ds.T} test {unit}")
        ax.set_title(f"{ds.name}: one-step predictions on the test part ({what})",
                     fontsize=9)
        ax.legend(fontsize=7, ncol=3)
    files.append(save_figure(fig, out / "fig4_5_depth_predictions.png"))

    # Figures 4.6 / 4.7: histograms of training and test loss per depth.
    fig, axes = new_figure(nw, 2, (10, 2.9 * nw))
    for i, ds in enumerate(windows):
        sub = fits[fits["window"] == ds.name]
        for j, (col, label) in enumerate((("objective", "training objective (4.3)"),
                                          ("test_mse", "test MSE"))):
            ax = axes[i, j]
            bins, log = _bins(sub[col].to_numpy())
            for L in depths:
                v = sub.loc[sub["depth"] == L, col]
                ax.hist(v, bins=bins, histtype="step", lw=1.4, color=colors[L],
                        label=f"L={L}")
            if col == "test_mse":
                ax.axvline(ar1[ds.name]["test_loss"], color="tab:green", ls="--",
                           label="AR(1)+bias")
            count_axis(ax)
            if log:
                log_axis(ax)
            else:
                ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
            ax.set_title(f"{ds.name}: {label}", fontsize=9)
            ax.set_xlabel(label if col == "objective" else unit_mse(ds))
            ax.set_ylabel("feature draws")
            ax.legend(fontsize=7)
    files.append(save_figure(fig, out / "fig4_6_4_7_depth_histograms.png"))

    # Figure E.2: training time per depth.
    fig, axes = new_figure(1, 1, (6, 3.4))
    ax = axes[0, 0]
    bins, log = _bins(fits["time_s"].to_numpy())
    for L in depths:
        ax.hist(fits.loc[fits["depth"] == L, "time_s"], bins=bins, histtype="step",
                lw=1.4, color=colors[L], label=f"L={L}")
    count_axis(ax)
    if log:
        log_axis(ax)
    ax.set_xlabel("Lasso solve time (s)")
    ax.set_ylabel("fits")
    ax.set_title("Training time by depth (all windows and repeats)", fontsize=9)
    ax.legend(fontsize=7)
    files.append(save_figure(fig, out / "fig_e2_depth_time.png"))
    return files
