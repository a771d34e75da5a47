"""Appendix E.2: quantile regression with the pinball loss, and interval coverage."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from ._common import (
    DEFAULT_OUT,
    ExperimentResult,
    ar1_baseline,
    fit_convex,
    load_hourly_close,
    planted_dataset,
    price_windows,
)
from ._output import new_figure, save_figure, write_tables
from ._sgd import _sgd_task, run_parallel

__all__ = ["quantile_regression"]

FULL = {"T": 2000, "n_windows": 1, "n_trials": 20, "epochs": 100, "n_neurons": 200}
QUICK = {"T": 150, "n_windows": 1, "n_trials": 3, "epochs": 6, "n_neurons": 20}


def _coverage(lo: np.ndarray, hi: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Fraction of ``y`` in ``[lo, hi]`` and fraction of crossed bounds."""
    return float(np.mean((y >= lo) & (y <= hi))), float(np.mean(lo > hi))


def quantile_regression(
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
    taus: tuple[float, ...] = (0.05, 0.5, 0.95),
    beta: float = 1.0,
    lr: float = 0.05,
    sensitivity_betas: tuple[float, ...] = (1.0, 0.1, 0.01, 1e-3),
    random_state: int = 0,
) -> ExperimentResult:
    """The comparisons of Figure 4.1 with the pinball loss ``L_tau``.

    On ``n_windows`` price windows and a planted series (as in
    :func:`~tsmirrors.experiments.autoregression`), the 2-layer abs quantile
    network of (4.3) with ``L = L_tau`` is fitted exactly (the quantile
    Lasso) and by ``n_trials`` SGD runs for each ``tau``; AR(1)+bias gives the
    Gaussian quantiles ``a + b x + sigma z_tau``. The interval between the
    lowest and highest ``tau`` is scored by its empirical coverage on the
    test pairs (SGD trial ``k`` pairs its runs at both ends).

    Parameters
    ----------
    out_dir : path-like
    quick : bool, default=False
    n_jobs : int or None, default=1
    backend : str, default="loky"
    prices : pandas.Series or None
    data_path : path-like or None
    T, n_windows, n_trials, epochs, n_neurons : int or None
    taus : tuple of float, default=(0.05, 0.5, 0.95)
    beta, lr : float
        ``beta`` and learning rate of (4.3).
    sensitivity_betas : tuple of float
        Extra penalties at which only the convex model is fitted.
    random_state : int, default=0

    Returns
    -------
    ExperimentResult
        Tables ``summary`` (per dataset and tau), ``coverage``, ``trials``,
        ``beta_sensitivity``.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    cfg = dict(QUICK if quick else FULL)
    for key, val in (("T", T), ("n_windows", n_windows), ("n_trials", n_trials),
                     ("epochs", epochs), ("n_neurons", n_neurons)):
        if val is not None:
            cfg[key] = int(val)
    taus = tuple(sorted(taus))
    if prices is None:
        prices = load_hourly_close(data_path)
    datasets = price_windows(prices, cfg["T"], cfg["n_windows"])
    planted, _ = planted_dataset(cfg["T"], sigma2=1.0, n_neurons=10,
                                 random_state=random_state)
    datasets.append(planted)

    convex, ar1 = {}, {}
    for ds in datasets:
        for tau in taus:
            ar1[ds.name, tau] = ar1_baseline(ds, "quantile", tau)
            _, convex[ds.name, tau] = fit_convex(ds, beta, loss="quantile", tau=tau)

    tasks, keys = [], []
    for d, ds in enumerate(datasets):
        for tau in taus:
            for k in range(cfg["n_trials"]):
                kw = {"beta": beta, "lr": lr, "loss": "quantile", "tau": tau,
                      "seed": random_state + 1000 * d + k,
                      "n_neurons": cfg["n_neurons"], "epochs": cfg["epochs"]}
                tasks.append((ds.x_train, ds.y_train, ds.x_test, ds.y_test, kw))
                keys.append((ds.name, tau, k))
    results = run_parallel(_sgd_task, tasks, n_jobs=n_jobs, backend=backend)
    by_key = dict(zip(keys, results))

    trials = pd.DataFrame([
        {"dataset": name, "tau": tau, "trial": k, "objective": r["objective"],
         "train_pinball": r["train_loss"], "test_pinball": r["test_loss"],
         "lr": r["lr"], "halvings": r["halvings"], "diverged": r["diverged"],
         "time_s": r["time_s"]}
        for (name, tau, k), r in by_key.items()
    ])

    rows, cov_rows, sens_rows = [], [], []
    lo_tau, hi_tau = taus[0], taus[-1]
    for ds in datasets:
        for tau in taus:
            c, a = convex[ds.name, tau], ar1[ds.name, tau]
            tr = trials[(trials["dataset"] == ds.name) & (trials["tau"] == tau)]
            obj = tr["objective"].to_numpy()
            rows.append({
                "dataset": ds.name, "tau": tau,
                "convex_objective": c["objective"],
                "sgd_objective_min": obj.min(), "sgd_objective_mean": obj.mean(),
                "sgd_objective_max": obj.max(),
                "convex_below_all_sgd": bool(np.all(c["objective"]
                                                    <= obj * (1 + 1e-9))),
                "convex_test_pinball": c["test_loss"],
                "sgd_test_pinball_mean": tr["test_pinball"].mean(),
                "ar1_test_pinball": a["test_loss"],
                "convex_neurons": c["n_neurons"], "convex_time_s": c["time_s"],
                "sgd_time_s_mean": tr["time_s"].mean(),
                "sgd_lr_used": ",".join(f"{v:g}" for v in sorted(tr["lr"].unique())),
                "frac_test_below_convex": float(np.mean(ds.y_test < c["pred_test"])),
            })
        m = ds.in_range

        def cover(lo, hi, mask=slice(None), ds=ds):
            return _coverage(lo[mask], hi[mask], ds.y_test[mask])

        cl = convex[ds.name, lo_tau]["pred_test"]
        ch = convex[ds.name, hi_tau]["pred_test"]
        al = ar1[ds.name, lo_tau]["pred_test"]
        ah = ar1[ds.name, hi_tau]["pred_test"]
        cv, cross = cover(cl, ch)
        sgd_cov = np.array([
            [cover(by_key[ds.name, lo_tau, k]["pred_test"],
                   by_key[ds.name, hi_tau, k]["pred_test"], mask)[0]
             for mask in (slice(None), m)]
            for k in range(cfg["n_trials"])
        ])
        cov_rows.append({
            "dataset": ds.name, "nominal": hi_tau - lo_tau, "convex": cv,
            "convex_crossing": cross, "sgd_mean": float(sgd_cov[:, 0].mean()),
            "sgd_min": float(sgd_cov[:, 0].min()),
            "sgd_max": float(sgd_cov[:, 0].max()),
            "ar1_gaussian": cover(al, ah)[0],
            "convex_in_range": cover(cl, ch, m)[0],
            "sgd_mean_in_range": float(sgd_cov[:, 1].mean()),
            "ar1_in_range": cover(al, ah, m)[0],
            "test_outside_train_range": ds.outside_fraction,
        })
        for b in sensitivity_betas:
            preds, row = {}, {"dataset": ds.name, "beta": b}
            for tau in taus:
                _, cb = fit_convex(ds, b, loss="quantile", tau=tau)
                preds[tau] = cb["pred_test"]
                row[f"test_pinball_{tau:g}"] = cb["test_loss"]
                row[f"neurons_{tau:g}"] = cb["n_neurons"]
            row["coverage"], row["crossing"] = _coverage(preds[lo_tau], preds[hi_tau],
                                                         ds.y_test)
            sens_rows.append(row)
    summary = pd.DataFrame(rows)
    coverage = pd.DataFrame(cov_rows)
    sensitivity = pd.DataFrame(sens_rows)

    # Figure: objectives per tau, and the test intervals over time.
    n = len(datasets)
    fig, axes = new_figure(2, n, (5.0 * n, 7.0))
    for j, ds in enumerate(datasets):
        ax = axes[0, j]
        for i, tau in enumerate(taus):
            tr = trials[(trials["dataset"] == ds.name) & (trials["tau"] == tau)]
            jitter = np.linspace(-0.15, 0.15, len(tr))
            ax.scatter(i + jitter, tr["objective"], s=10, color="tab:orange",
                       label="SGD runs" if i == 0 else None)
            ax.scatter([i], [convex[ds.name, tau]["objective"]], marker="_", s=900,
                       color="tab:blue", lw=2.5, label="cvxNN" if i == 0 else None)
        ax.set_xticks(range(len(taus)), [f"tau={t:g}" for t in taus])
        ax.set_yscale("log")
        ax.set_xlabel("quantile level")
        ax.set_ylabel("training objective (4.3), pinball")
        ax.set_title(f"{ds.name}: training objective per quantile", fontsize=9)
        # the middle is free: the median's objective is the largest
        ax.legend(fontsize=7, loc="center", markerscale=0.4)
        ax = axes[1, j]
        t_idx = np.arange(ds.y_test.size)
        ax.plot(t_idx, ds.y_test, color="black", lw=0.8, label="test target")
        ax.fill_between(t_idx, convex[ds.name, lo_tau]["pred_test"],
                        convex[ds.name, hi_tau]["pred_test"], color="tab:blue",
                        alpha=0.3, lw=0, label=f"cvxNN [{lo_tau:g}, {hi_tau:g}]")
        ax.plot(t_idx, ar1[ds.name, lo_tau]["pred_test"], color="tab:green",
                lw=0.7, ls="--", label="AR(1) Gaussian")
        ax.plot(t_idx, ar1[ds.name, hi_tau]["pred_test"], color="tab:green",
                lw=0.7, ls="--")
        ax.set_xlabel("test step")
        ax.set_ylabel("standardized value" if ds.index_test is not None else "value")
        ax.set_title(f"{ds.name}: test intervals", fontsize=9)
        ax.legend(fontsize=7)
    files = [save_figure(fig, out / "quantile_regression.png")]

    tables = {"summary": summary, "coverage": coverage, "trials": trials,
              "beta_sensitivity": sensitivity}
    settings = dict(cfg, taus=list(taus), beta=beta, lr=lr, batches_per_epoch=10,
                    random_state=random_state, quick=quick)
    notes = (
        f"Settings: {settings}. Objectives in the (4.3) scaling with "
        "L = L_tau; test loss is the mean pinball loss on the test pairs; "
        "``in_range``: coverage on the test pairs whose input lies inside the "
        "range of the training inputs."
    )
    files += write_tables(out, "quantile", "Appendix E.2: quantile regression",
                          tables, markdown=["summary", "coverage", "beta_sensitivity"],
                          notes=notes)
    return ExperimentResult("quantile", tables, files, time.perf_counter() - t0,
                            settings)
