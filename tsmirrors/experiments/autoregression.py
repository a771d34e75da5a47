"""Figures 4.1 and 4.2: 2-layer abs autoregression, convex vs SGD vs AR(1)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from ._axes import log_scale_if_wide, unit_mse
from ._common import (
    DEFAULT_OUT,
    ExperimentResult,
    ar1_baseline,
    fit_convex,
    load_hourly_close,
    planted_dataset,
    price_windows,
    sum_beta,
)
from ._output import new_figure, plot_trials, save_figure, write_tables
from ._sgd import _sgd_task, run_parallel

__all__ = ["autoregression"]

FULL = {"T": 2000, "n_windows": 2, "n_trials": 20, "epochs": 100, "n_neurons": 200}
QUICK = {"T": 150, "n_windows": 2, "n_trials": 3, "epochs": 6, "n_neurons": 20}


def optimal_test_range(ds, beta: float) -> tuple[int, float, float]:
    """Test MSE range over every 2-layer abs network optimal at ``beta``.

    The Lasso's optimum need not be unique: when two neurons are affine on
    the training inputs (one at the smallest and one at the largest training
    input, say) they fit the training data alike but extrapolate
    differently. Returns the dimension of the optimal set and the least and
    largest test MSE over it (NaN when the dimension exceeds 1).
    """
    from ..features import Library
    from .optimal_set import lasso_optimal_set, mse_range_over_optimal_set

    lib = Library(activation="abs")
    A = lib.fit_transform(ds.x_train)
    opt = lasso_optimal_set(A, ds.y_train, sum_beta(beta, ds.T))
    if opt.dim > 1:
        return opt.dim, np.nan, np.nan
    lo, hi = mse_range_over_optimal_set(opt, A, lib.transform(ds.x_test), ds.y_test)
    return opt.dim, lo, hi


def autoregression(
    out_dir: str | Path = DEFAULT_OUT,
    *,
    quick: bool = False,
    n_jobs: int | None = 1,
    backend: str = "loky",
    prices: pd.Series | None = None,
    data_path: str | Path | None = None,
    T: int | None = None,
    n_windows: int | None = None,
    n_trials: int | None = None,
    epochs: int | None = None,
    n_neurons: int | None = None,
    beta: float = 1.0,
    lr: float = 0.05,
    sensitivity_betas: tuple[float, ...] = (1.0, 0.1, 0.01, 1e-3, 1e-4),
    random_state: int = 0,
) -> ExperimentResult:
    """Convex training vs SGD trials vs AR(1)+bias, price windows and a planted series.

    For each dataset (``n_windows`` non-overlapping windows of the hourly
    2017 series, standardized with their training part, and one planted
    series with p = 10, sigma^2 = 1, whose test part continues the training
    part), the 2-layer abs network of (4.2) is trained on (4.3) with
    ``beta`` exactly (the Lasso), by ``n_trials`` SGD runs (``n_neurons``
    units, learning rate ``lr`` on (4.3), ``epochs`` epochs of 10
    minibatches, halved on divergence), and compared with AR(1)+bias. The
    training objective and test loss are recorded after every epoch, with
    the cumulative training time.

    Parameters
    ----------
    out_dir : path-like
        Where the PNG, CSV and markdown files go.
    quick : bool, default=False
        Small sizes for a smoke test (seconds).
    n_jobs : int or None, default=1
        Parallel SGD trials (joblib).
    backend : str, default="loky"
        joblib backend or ``"dask"``.
    prices : pandas.Series or None
        Hourly closes; None loads the 2017 file from ``data_path``.
    data_path : path-like or None
    T, n_windows, n_trials, epochs, n_neurons : int or None
        Override the full (or quick) sizes.
    beta, lr : float
        ``beta`` and learning rate of (4.3) (paper: 1 and 0.05).
    sensitivity_betas : tuple of float
        Extra penalties at which only the convex model is fitted.
    random_state : int, default=0

    Returns
    -------
    ExperimentResult
        Tables ``summary``, ``trials``, ``curves``, ``convex_curves`` and
        ``beta_sensitivity``.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    cfg = dict(QUICK if quick else FULL)
    for key, val in (("T", T), ("n_windows", n_windows), ("n_trials", n_trials),
                     ("epochs", epochs), ("n_neurons", n_neurons)):
        if val is not None:
            cfg[key] = int(val)
    if prices is None:
        prices = load_hourly_close(data_path)
    datasets = price_windows(prices, cfg["T"], cfg["n_windows"])
    planted, _ = planted_dataset(cfg["T"], sigma2=1.0, n_neurons=10,
                                 random_state=random_state)
    datasets.append(planted)

    # Convex fits and AR(1) in this process (fast, exact).
    convex, ar1, optimal = {}, {}, {}
    for ds in datasets:
        ar1[ds.name] = ar1_baseline(ds)
        _, convex[ds.name] = fit_convex(ds, beta)
        optimal[ds.name] = optimal_test_range(ds, beta)

    trial_kw = {"beta": beta, "lr": lr, "n_neurons": cfg["n_neurons"],
                "epochs": cfg["epochs"], "track_test": True}
    tasks = [
        (ds.x_train, ds.y_train, ds.x_test, ds.y_test,
         dict(trial_kw, seed=random_state + 1000 * d + k))
        for d, ds in enumerate(datasets) for k in range(cfg["n_trials"])
    ]
    results = run_parallel(_sgd_task, tasks, n_jobs=n_jobs, backend=backend)

    trial_rows, curve_parts, summary_rows, sens_rows = [], [], [], []
    per_ds: dict[str, list[dict]] = {ds.name: [] for ds in datasets}
    pairs = [(ds, k) for ds in datasets for k in range(cfg["n_trials"])]
    for (ds, k), res in zip(pairs, results):
        per_ds[ds.name].append(res)
        trial_rows.append({
            "dataset": ds.name, "trial": k, "objective": res["objective"],
            "train_mse": res["train_loss"], "test_mse": res["test_loss"],
            "test_mse_in_range": res["test_loss_in_range"], "lr": res["lr"],
            "halvings": res["halvings"],
            "diverged": res["diverged"], "time_s": res["time_s"],
        })
        h = res["history"].copy()
        h.insert(0, "trial", k)
        h.insert(0, "dataset", ds.name)
        curve_parts.append(h)
    trials = pd.DataFrame(trial_rows)
    curves = pd.concat(curve_parts, ignore_index=True)

    for ds in datasets:
        c, a = convex[ds.name], ar1[ds.name]
        tr = trials[trials["dataset"] == ds.name]
        obj = tr["objective"].to_numpy()
        summary_rows.append({
            "dataset": ds.name,
            "convex_objective": c["objective"],
            "sgd_objective_min": obj.min(),
            "sgd_objective_mean": obj[np.isfinite(obj)].mean()
            if np.isfinite(obj).any() else np.inf,
            "sgd_objective_max": obj.max(),
            "sgd_runs_below_convex": int(np.sum(obj < c["objective"] * (1 - 1e-9))),
            "convex_below_all_sgd": bool(np.all(c["objective"] <= obj * (1 + 1e-9))),
            "convex_test_mse": c["test_loss"],
            "optimal_set_dim": optimal[ds.name][0],
            "optimal_test_mse_min": optimal[ds.name][1],
            "optimal_test_mse_max": optimal[ds.name][2],
            "sgd_test_mse_mean": tr["test_mse"].mean(),
            "sgd_test_mse_min": tr["test_mse"].min(),
            "ar1_test_mse": a["test_loss"],
            "convex_test_mse_in_range": c["test_loss_in_range"],
            "sgd_test_mse_in_range_mean": tr["test_mse_in_range"].mean(),
            "ar1_test_mse_in_range": a["test_loss_in_range"],
            "convex_train_mse": c["train_loss"],
            "ar1_train_mse": a["train_loss"],
            "convex_neurons": c["n_neurons"],
            "convex_time_s": c["time_s"],
            "sgd_time_s_mean": tr["time_s"].mean(),
            "sgd_lr_used": ",".join(f"{v:g}" for v in sorted(tr["lr"].unique())),
            "sgd_diverged": int(tr["diverged"].sum()),
            "test_outside_train_range": ds.outside_fraction,
        })
        for b in sensitivity_betas:
            _, cb = fit_convex(ds, b)
            sens_rows.append({
                "dataset": ds.name, "beta": b, "convex_objective": cb["objective"],
                "convex_train_mse": cb["train_loss"],
                "convex_test_mse": cb["test_loss"], "ar1_test_mse": a["test_loss"],
                "convex_test_mse_in_range": cb["test_loss_in_range"],
                "ar1_test_mse_in_range": a["test_loss_in_range"],
                "convex_neurons": cb["n_neurons"], "convex_time_s": cb["time_s"],
            })
    summary = pd.DataFrame(summary_rows)
    sensitivity = pd.DataFrame(sens_rows)
    datasets_table = pd.DataFrame([
        {"dataset": ds.name, "T": ds.T, "mean": ds.mean, "std": ds.std,
         "description": ds.description} for ds in datasets
    ])

    # Figures 4.1 (training objective, test loss) and 4.2 (cumulative time).
    n = len(datasets)
    fig, axes = new_figure(2, n, (4.6 * n, 7.0))
    fig2, axes2 = new_figure(1, n, (4.6 * n, 3.4))
    for j, ds in enumerate(datasets):
        hists = [r["history"] for r in per_ds[ds.name]]
        c, a = convex[ds.name], ar1[ds.name]
        ax = axes[0, j]
        plot_trials(ax, hists, "objective")
        ax.axhline(c["objective"], color="tab:blue", lw=2, label="cvxNN (Lasso)")
        ax.axhline(a["train_loss"], color="tab:green", lw=2, ls="--",
                   label="AR(1)+bias (MSE, no penalty)")
        log_scale_if_wide(ax)
        ax.set_title(f"{ds.name}: training objective (4.3)", fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("objective (4.3)")
        ax.legend(fontsize=7)
        ax = axes[1, j]
        plot_trials(ax, hists, "test_loss")
        ax.axhline(c["test_loss"], color="tab:blue", lw=2, label="cvxNN (Lasso)")
        lo, hi = optimal[ds.name][1:]
        if np.isfinite(lo) and hi > lo * (1 + 1e-9):
            ax.axhspan(lo, hi, color="tab:blue", alpha=0.12, lw=0,
                       label="cvxNN, all optimal networks")
        ax.axhline(a["test_loss"], color="tab:green", lw=2, ls="--",
                   label="AR(1)+bias")
        log_scale_if_wide(ax)
        ax.set_title(f"{ds.name}: test MSE", fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel(unit_mse(ds))
        ax.legend(fontsize=7)
        ax = axes2[0, j]
        plot_trials(ax, hists, "time_s")
        ax.axhline(c["time_s"], color="tab:blue", lw=2,
                   label=f"cvxNN solve time ({c['time_s']:.2g} s)")
        # log scale: the solve takes milliseconds, SGD runs take seconds
        ax.set_yscale("log")
        ax.set_title(f"{ds.name}: cumulative training time", fontsize=9)
        ax.set_xlabel("epoch (SGD)")
        ax.set_ylabel("time (s)")
        ax.legend(fontsize=7)
    files = [save_figure(fig, out / "fig4_1_autoregression.png"),
             save_figure(fig2, out / "fig4_2_training_time.png")]

    convex_curves = pd.DataFrame([
        {"dataset": ds.name, "convex_objective": convex[ds.name]["objective"],
         "convex_test_mse": convex[ds.name]["test_loss"],
         "convex_time_s": convex[ds.name]["time_s"]} for ds in datasets
    ])
    tables = {"summary": summary, "trials": trials, "curves": curves,
              "convex_curves": convex_curves, "beta_sensitivity": sensitivity,
              "datasets": datasets_table}
    settings = dict(cfg, beta=beta, lr=lr, batches_per_epoch=10,
                    random_state=random_state, quick=quick)
    notes = (
        f"Settings: {settings}. Objectives in the (4.3) scaling; test loss is "
        "the mean squared error on the test pairs (``_in_range``: only the "
        "test pairs whose input lies inside the range of the training inputs). "
        "Price windows are standardized with the mean and std of their "
        "training part. ``optimal_test_mse_min``/``_max``: the least and "
        "largest test MSE over every network with the optimal training "
        "objective (``optimal_set_dim`` > 0: the optimum is not unique); "
        "``convex_test_mse`` is the one the solver returns."
    )
    files += write_tables(out, "autoregression", "Figures 4.1 and 4.2", tables,
                          markdown=["datasets", "summary", "beta_sensitivity"],
                          notes=notes)
    return ExperimentResult("autoregression", tables, files,
                            time.perf_counter() - t0, settings)
