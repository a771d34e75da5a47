"""Figures 4.4 and E.3: the regularization path on planted data, convex vs SGD."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from ._axes import log_scale_if_wide
from ._common import DEFAULT_OUT, ExperimentResult, planted_dataset, sum_beta
from ._output import new_figure, plot_trials, save_figure, write_tables
from ._sgd import _sgd_task, run_parallel

__all__ = ["planted_path", "convex_path"]

FULL = {"T": 1000, "n_trials": 20, "epochs": 100, "n_neurons": 200, "n_path": 60,
        "fractions": (1e-3, 1e-2, 1e-1, 0.5)}
QUICK = {"T": 150, "n_trials": 3, "epochs": 6, "n_neurons": 20, "n_path": 20,
         "fractions": (1e-2, 0.3)}


def convex_path(ds, betas) -> tuple[pd.DataFrame, float]:
    """The exact convex (Lasso) path of the 2-layer abs network at ``betas``.

    Parameters
    ----------
    ds : Dataset
    betas : array-like
        Penalties of (4.3).

    Returns
    -------
    path : pandas.DataFrame
        ``beta``, ``objective`` (4.3), ``train_mse``, ``test_mse`` and
        ``n_neurons`` at each beta, from the homotopy path evaluated exactly.
    beta_max : float
        The smallest beta of (4.3) whose network is constant.
    """
    from ..features import Library
    from ..solvers import lasso_beta_max, lasso_path

    T = ds.T
    lib = Library(activation="abs").fit(ds.x_train)
    op = lib.operator()
    betas = np.sort(np.asarray(betas, dtype=float))[::-1]
    sums = np.array([sum_beta(b, T) for b in betas])
    path = lasso_path(op, ds.y_train, betas=sums)
    coefs, intercepts = path.evaluate(sums)
    F_test = lib.transform(ds.x_test)
    rows = []
    for b, z, xi in zip(betas, coefs, intercepts):
        fit = op.matvec(z) + xi
        r = ds.y_train - fit
        pred = F_test @ z + xi
        mse = float(np.mean(r * r))
        rows.append({
            "beta": b, "objective": mse + b * float(np.abs(z).sum()),
            "train_mse": mse, "test_mse": float(np.mean((pred - ds.y_test) ** 2)),
            "n_neurons": int(np.count_nonzero(z)),
        })
    beta_max = 2.0 * lasso_beta_max(op, ds.y_train) / T
    return pd.DataFrame(rows), beta_max


def _beta_max(ds) -> float:
    from ..features import Library
    from ..solvers import lasso_beta_max

    op = Library(activation="abs").fit(ds.x_train).operator()
    return 2.0 * lasso_beta_max(op, ds.y_train) / ds.T


def planted_path(
    out_dir: str | Path = DEFAULT_OUT,
    *,
    quick: bool = False,
    n_jobs: int | None = 1,
    backend: str = "loky",
    T: int | None = None,
    sigma2s: tuple[float, ...] = (1.0, 0.01),
    n_planted: int = 10,
    n_trials: int | None = None,
    epochs: int | None = None,
    n_neurons: int | None = None,
    lr: float = 0.1,
    fractions: tuple[float, ...] | None = None,
    curve_beta: float = 1.0,
    random_state: int = 0,
) -> ExperimentResult:
    """Regularization path of the convex model against SGD trials, planted data.

    For each ``sigma2`` a planted series (p = ``n_planted`` neurons, T
    training pairs) and an independent test series of the same network are
    drawn. The exact convex path is evaluated on a dense grid of beta; SGD
    trials (``lr`` on (4.3), halved on divergence) are trained at the betas
    ``fractions * beta_max`` and at ``curve_beta`` (the paper's beta = 1),
    where the training curves of Figure E.3 are recorded. Trial ``k`` uses
    the same seed at every beta, so each trial traces its own path.

    Parameters
    ----------
    out_dir : path-like
    quick : bool, default=False
    n_jobs : int or None, default=1
    backend : str, default="loky"
    T, n_trials, epochs, n_neurons : int or None
        Override the full (or quick) sizes.
    sigma2s : tuple of float, default=(1.0, 0.01)
    n_planted : int, default=10
    lr : float, default=0.1
        Learning rate on (4.3).
    fractions : tuple of float or None
        SGD betas as fractions of each series' beta_max.
    curve_beta : float, default=1.0
    random_state : int, default=0

    Returns
    -------
    ExperimentResult
        Tables ``path`` (dense convex path), ``comparison`` (convex vs SGD at
        the SGD betas), ``trials`` and ``curves``.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    cfg = dict(QUICK if quick else FULL)
    for key, val in (("T", T), ("n_trials", n_trials), ("epochs", epochs),
                     ("n_neurons", n_neurons)):
        if val is not None:
            cfg[key] = int(val)
    if fractions is not None:
        cfg["fractions"] = tuple(fractions)

    series, paths, sgd_betas, tasks, keys = [], [], {}, [], []
    for i, s2 in enumerate(sigma2s):
        ds, _ = planted_dataset(cfg["T"], sigma2=s2, n_neurons=n_planted,
                                random_state=random_state + i,
                                independent_test=True)
        bmax = _beta_max(ds)
        betas_sgd = sorted({float(f * bmax) for f in cfg["fractions"]}
                           | {float(curve_beta)})
        grid = np.unique(np.concatenate([
            np.geomspace(bmax * 1e-4, bmax * 3.0, cfg["n_path"]), betas_sgd]))
        path, _ = convex_path(ds, grid)
        path.insert(0, "sigma2", s2)
        path["beta_over_beta_max"] = path["beta"] / bmax
        paths.append(path)
        series.append((s2, ds, bmax))
        sgd_betas[s2] = betas_sgd
        for b in betas_sgd:
            for k in range(cfg["n_trials"]):
                kw = {"beta": b, "lr": lr, "seed": random_state + 100 * i + k,
                      "n_neurons": cfg["n_neurons"], "epochs": cfg["epochs"],
                      "track_test": b == curve_beta}
                tasks.append((ds.x_train, ds.y_train, ds.x_test, ds.y_test, kw))
                keys.append((s2, b, k))
    results = run_parallel(_sgd_task, tasks, n_jobs=n_jobs, backend=backend)
    path_all = pd.concat(paths, ignore_index=True)

    trial_rows, curve_parts = [], []
    for (s2, b, k), res in zip(keys, results):
        trial_rows.append({
            "sigma2": s2, "beta": b, "trial": k, "objective": res["objective"],
            "train_mse": res["train_loss"], "test_mse": res["test_loss"],
            "lr": res["lr"], "halvings": res["halvings"],
            "diverged": res["diverged"], "time_s": res["time_s"],
        })
        if b == curve_beta:
            h = res["history"].copy()
            h.insert(0, "trial", k)
            h.insert(0, "sigma2", s2)
            curve_parts.append(h)
    trials = pd.DataFrame(trial_rows)
    curves = pd.concat(curve_parts, ignore_index=True)

    comp_rows = []
    for s2, _, bmax in series:
        p = path_all[path_all["sigma2"] == s2]
        for b in sgd_betas[s2]:
            c = p.loc[np.isclose(p["beta"], b, rtol=1e-12, atol=0)].iloc[0]
            tr = trials[(trials["sigma2"] == s2) & (trials["beta"] == b)]
            obj = tr["objective"].to_numpy()
            fin = obj[np.isfinite(obj)]
            comp_rows.append({
                "sigma2": s2, "beta": b, "beta_over_beta_max": b / bmax,
                "convex_objective": c["objective"],
                "sgd_objective_min": obj.min(),
                "sgd_objective_mean": fin.mean() if fin.size else np.inf,
                "sgd_objective_max": obj.max(),
                "sgd_rel_excess_median": float(np.median(obj / c["objective"] - 1)),
                "convex_below_all_sgd": bool(np.all(c["objective"]
                                                    <= obj * (1 + 1e-9))),
                "convex_test_mse": c["test_mse"],
                "sgd_test_mse_mean": tr["test_mse"].mean(),
                "sgd_test_mse_std": tr["test_mse"].std(),
                "convex_neurons": int(c["n_neurons"]),
                "sgd_lr_used": ",".join(f"{v:g}" for v in sorted(tr["lr"].unique())),
                "sgd_diverged": int(tr["diverged"].sum()),
            })
    comparison = pd.DataFrame(comp_rows)
    files = _figures(out, series, path_all, trials, curves, sgd_betas, curve_beta)
    tables = {"comparison": comparison, "path": path_all, "trials": trials,
              "curves": curves}
    settings = dict(cfg, sigma2s=list(sigma2s), n_planted=n_planted, lr=lr,
                    curve_beta=curve_beta, batches_per_epoch=10,
                    random_state=random_state, quick=quick,
                    beta_max={s2: bmax for s2, _, bmax in series})
    notes = (
        f"Settings: {settings}. Objectives in the (4.3) scaling; the test "
        "series is independent of the training series (same planted network). "
        "Raw (unstandardized) values."
    )
    files += write_tables(out, "planted", "Figures 4.4 and E.3", tables,
                          markdown=["comparison"], notes=notes)
    return ExperimentResult("planted", tables, files, time.perf_counter() - t0,
                            settings)


def _figures(out, series, path_all, trials, curves, sgd_betas, curve_beta):
    from ..plotting import plot_regularization_path

    files = []
    n = len(series)
    fig, axes = new_figure(n, 2, (11, 3.8 * n))
    for i, (s2, _, bmax) in enumerate(series):
        p = path_all[path_all["sigma2"] == s2].sort_values("beta")
        tr = trials[trials["sigma2"] == s2]
        runs = []
        for _, g in tr.groupby("trial"):
            g = g.sort_values("beta")
            runs.append((g["beta"].to_numpy(), g["objective"].to_numpy()))
        ax = axes[i, 0]
        stats = tr.groupby("beta")["objective"].agg(["mean", "std"]).reset_index()
        plot_regularization_path(
            p["beta"], p["objective"], p["n_neurons"], ax=ax, sgd=runs,
            sgd_summary=(stats["beta"], stats["mean"], stats["std"]),
            title=f"sigma^2={s2:g}: training objective (4.3)",
            ylabel="objective (4.3)", xlabel="beta in (4.3)", yscale="log",
            beta_max=bmax)
        ax.title.set_fontsize(9)
        ax = axes[i, 1]
        ax.plot(p["beta"], p["test_mse"], color="tab:blue", lw=1.8,
                label="convex (exact path)")
        for k, g in tr.groupby("trial"):
            g = g.sort_values("beta")
            ax.plot(g["beta"], g["test_mse"], color="tab:orange", alpha=0.35,
                    lw=0.8, label="SGD runs" if k == tr["trial"].min() else None)
        stats = tr.groupby("beta")["test_mse"].agg(["mean", "std"]).reset_index()
        ax.errorbar(stats["beta"], stats["mean"], yerr=stats["std"], color="black",
                    lw=1.4, capsize=3, label="SGD mean +- std")
        ax.axvline(bmax, color="0.5", ls=":", lw=1, label="beta_max")
        ax.axhline(s2, color="tab:green", ls="--", lw=1, label="noise variance")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("beta in (4.3)")
        ax.set_ylabel("test MSE")
        ax.set_title(f"sigma^2={s2:g}: test MSE (independent series)", fontsize=9)
        ax.legend(fontsize=7)
    files.append(save_figure(fig, out / "fig4_4_regularization_path.png"))

    fig, axes = new_figure(n, 2, (11, 3.6 * n))
    for i, (s2, _, _) in enumerate(series):
        cv = curves[curves["sigma2"] == s2]
        hists = [g for _, g in cv.groupby("trial")]
        p = path_all[(path_all["sigma2"] == s2)
                     & np.isclose(path_all["beta"], curve_beta)].iloc[0]
        for j, (col, label, ref) in enumerate((
                ("objective", "training objective (4.3)", p["objective"]),
                ("test_loss", "test MSE", p["test_mse"]))):
            ax = axes[i, j]
            plot_trials(ax, hists, col)
            ax.axhline(ref, color="tab:blue", lw=2, label="cvxNN (Lasso)")
            log_scale_if_wide(ax)
            ax.set_xlabel("epoch")
            ax.set_ylabel(label)
            ax.set_title(f"sigma^2={s2:g}, beta={curve_beta:g}: {label}", fontsize=9)
            ax.legend(fontsize=7)
    files.append(save_figure(fig, out / "fig_e3_planted_training_curves.png"))
    return files
