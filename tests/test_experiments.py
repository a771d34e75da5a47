"""Smoke tests of the paper's experiments (quick sizes) and their invariants."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("matplotlib")
pytest.importorskip("statsmodels")

from tsmirrors.experiments import (  # noqa: E402
    autoregression,
    depth,
    optimal_set,
    planted_path,
    quantile_regression,
)
from tsmirrors.experiments._common import (  # noqa: E402
    Dataset,
    default_data_path,
    fit_convex,
    load_hourly_close,
    markdown_table,
    paper_objective,
    planted_dataset,
    price_windows,
    sgd_trial,
    sum_beta,
)
from tsmirrors.experiments.optimal_set import (  # noqa: E402
    hit_and_run,
    lasso_optimal_set,
    min_norm_point,
)
from tsmirrors.experiments.planted import convex_path  # noqa: E402

# the package exports functions named like their modules: reach the modules
_cli = importlib.import_module("tsmirrors.experiments._cli")
common_module = importlib.import_module("tsmirrors.experiments._common")
autoregression_module = importlib.import_module("tsmirrors.experiments.autoregression")
depth_module = importlib.import_module("tsmirrors.experiments.depth")
optimal_set_module = importlib.import_module("tsmirrors.experiments.optimal_set")
planted_module = importlib.import_module("tsmirrors.experiments.planted")
quantile_module = importlib.import_module("tsmirrors.experiments.quantile")

REPO = Path(__file__).resolve().parents[1]
REL = 1e-9


@pytest.fixture(scope="module")
def prices() -> pd.Series:
    """The hourly 2017 closes when present, else a synthetic random walk."""
    path = default_data_path()
    if path.exists():
        return load_hourly_close(path)
    rng = np.random.default_rng(0)
    idx = pd.date_range("2017-01-01", periods=3000, freq="h", tz="UTC")
    return pd.Series(1000 * np.exp(np.cumsum(0.01 * rng.standard_normal(3000))),
                     index=idx, name="close")


def _exist(result) -> None:
    assert result.files
    for f in result.files:
        assert Path(f).is_file() and Path(f).stat().st_size > 0, f
    suffixes = {Path(f).suffix for f in result.files}
    assert {".png", ".csv", ".md"} <= suffixes


def _capture_figures(monkeypatch, module) -> dict:
    """Record the figures an experiment module saves, by file name."""
    figures = {}
    save = module.save_figure

    def spy(fig, path):
        figures[Path(path).name] = fig
        return save(fig, path)

    monkeypatch.setattr(module, "save_figure", spy)
    return figures


def _assert_readable(figures: dict) -> None:
    """Every panel with data says what its axes are."""
    assert figures
    for name, fig in figures.items():
        for ax in fig.axes:
            if not ax.has_data():
                continue
            # a twin axis (neurons beside the loss) shares its partner's x label
            xlabels = [a.get_xlabel() for a in ax.get_shared_x_axes().get_siblings(ax)]
            assert any(xlabels), f"{name}: {ax.get_title()!r} has no x label"
            assert ax.get_ylabel(), f"{name}: {ax.get_title()!r} has no y label"


def _convex_at_most_sgd(convex: float, sgd: np.ndarray) -> bool:
    return bool(np.all(convex <= np.asarray(sgd) * (1 + REL)))


def test_autoregression_quick(tmp_path, prices, monkeypatch):
    figures = _capture_figures(monkeypatch, autoregression_module)
    res = autoregression(tmp_path, quick=True, prices=prices)
    _exist(res)
    _assert_readable(figures)
    summary, trials = res.tables["summary"], res.tables["trials"]
    assert len(summary) == 3  # two price windows and the planted series
    for _, row in summary.iterrows():
        sgd = trials.loc[trials["dataset"] == row["dataset"], "objective"]
        assert len(sgd) == res.settings["n_trials"]
        assert _convex_at_most_sgd(row["convex_objective"], sgd)
        assert row["convex_below_all_sgd"]
        # the returned network is one of the optimal set's
        lo, hi = row["optimal_test_mse_min"], row["optimal_test_mse_max"]
        assert lo * (1 - 1e-9) <= row["convex_test_mse"] <= hi * (1 + 1e-9)
    curves = res.tables["curves"]
    assert {"epoch", "objective", "test_loss", "time_s"} <= set(curves.columns)
    per_trial = curves.groupby(["dataset", "trial"])["epoch"].max()
    assert (per_trial == res.settings["epochs"]).all()
    assert (curves.groupby(["dataset", "trial"])["time_s"]
            .apply(lambda s: s.is_monotonic_increasing).all())
    assert (tmp_path / "fig4_1_autoregression.png").is_file()
    assert (tmp_path / "fig4_2_training_time.png").is_file()


def test_depth_quick(tmp_path, prices, monkeypatch):
    figures = _capture_figures(monkeypatch, depth_module)
    res = depth(tmp_path, quick=True, prices=prices)
    _exist(res)
    _assert_readable(figures)
    # Figure 4.5: the zoom shows part of the test period, not all of it again
    full, zoom = figures["fig4_5_depth_predictions.png"].axes
    assert zoom.get_lines()[0].get_xdata().size < full.get_lines()[0].get_xdata().size
    assert "zoom: first" in zoom.get_title()
    fits = res.tables["fits"]
    cfg = res.settings
    assert len(fits) == cfg["n_windows"] * len(cfg["depths"]) * cfg["n_repeats"]
    assert np.isfinite(fits[["objective", "test_mse", "time_s"]].to_numpy()).all()
    # depth 2 is the whole library: every repeat is the same fit
    d2 = fits[fits["depth"] == 2]
    assert np.ptp(d2["objective"].to_numpy()) <= 1e-12 * d2["objective"].abs().max()
    assert (fits.loc[fits["depth"] > 2, "n_features"] <= cfg["n_features"]).all()
    assert set(res.tables["by_depth"]["depth"]) == set(cfg["depths"])


def test_planted_quick(tmp_path, monkeypatch):
    figures = _capture_figures(monkeypatch, planted_module)
    res = planted_path(tmp_path, quick=True)
    _exist(res)
    _assert_readable(figures)
    comp, trials = res.tables["comparison"], res.tables["trials"]
    for _, row in comp.iterrows():
        sel = (trials["sigma2"] == row["sigma2"]) & (trials["beta"] == row["beta"])
        assert _convex_at_most_sgd(row["convex_objective"],
                                   trials.loc[sel, "objective"])
    path = res.tables["path"]
    # along the exact path, the optimal objective increases with beta
    for _, p in path.groupby("sigma2"):
        obj = p.sort_values("beta")["objective"].to_numpy()
        assert np.all(np.diff(obj) >= -1e-9 * obj[1:])


def test_quantile_quick(tmp_path, prices, monkeypatch):
    figures = _capture_figures(monkeypatch, quantile_module)
    res = quantile_regression(tmp_path, quick=True, prices=prices)
    _exist(res)
    _assert_readable(figures)
    summary, trials = res.tables["summary"], res.tables["trials"]
    assert set(summary["tau"]) == {0.05, 0.5, 0.95}
    for _, row in summary.iterrows():
        sel = (trials["dataset"] == row["dataset"]) & (trials["tau"] == row["tau"])
        assert _convex_at_most_sgd(row["convex_objective"],
                                   trials.loc[sel, "objective"])
    cov = res.tables["coverage"]
    assert cov[["convex", "sgd_mean", "ar1_gaussian"]].apply(
        lambda c: c.between(0, 1)).all().all()


def test_optimal_set_quick(tmp_path, monkeypatch):
    figures = _capture_figures(monkeypatch, optimal_set_module)
    res = optimal_set(tmp_path, quick=True)
    _exist(res)
    _assert_readable(figures)
    s = res.tables["summary"]
    assert len(s) == 2
    assert (s["dim"] > 0).all()
    assert (s["max_objective_dev"] < 1e-8).all()
    assert (s["max_constraint_dev"] < 1e-8).all()
    assert (s["test_mse_min"] <= s["test_mse_max"]).all()


def test_optimal_set_sampling_invariants():
    # two columns equal up to a constant and a third: a 1-D optimal set
    rng = np.random.default_rng(3)
    x = np.array([-1.0, -0.3, 0.4, 1.2, 2.0])
    A = np.column_stack([x + 1.0, x + 3.0, np.abs(x)])
    y = 0.8 * x + 0.3 * np.abs(x) + 0.05 * rng.standard_normal(5)
    opt = lasso_optimal_set(A, y, 0.05)
    assert opt.dim == 1 and not opt.xi_unique
    U = hit_and_run(opt, 400, burn_in=50, thin=3, random_state=0)
    assert U.min() >= 0
    assert np.abs(U @ opt.G.T - opt.d).max() < 1e-9
    zE = U * opt.signs
    xi = opt.intercepts(A, zE)
    r = zE @ A[:, opt.support].T + xi[:, None] - y
    obj = 0.5 * (r * r).sum(axis=1) + opt.beta * np.abs(zE).sum(axis=1)
    assert np.abs(obj - opt.objective).max() < 1e-9 * max(1.0, opt.objective)
    # samples spread over the chord; the min-norm point has the least norm
    assert np.ptp(U[:, 0]) > 0
    u0 = min_norm_point(opt)
    assert u0 @ u0 <= (U * U).sum(axis=1).min() + 1e-12


def test_sgd_trial_chained_epochs_equal_one_run():
    ds, _ = planted_dataset(60, random_state=1)
    kw = {"beta": 0.1, "lr": 0.05, "seed": 4, "n_neurons": 8, "epochs": 5}
    a = sgd_trial(ds.x_train, ds.y_train, ds.x_test, ds.y_test, **kw)
    b = sgd_trial(ds.x_train, ds.y_train, ds.x_test, ds.y_test, track_test=True,
                  **kw)
    np.testing.assert_allclose(a["history"]["objective"], b["history"]["objective"],
                               rtol=1e-12)
    assert a["objective"] == pytest.approx(b["objective"], rel=1e-12)
    assert b["history"]["test_loss"].iloc[-1] == pytest.approx(b["test_loss"])


def test_sgd_trial_halves_a_diverging_learning_rate():
    ds, _ = planted_dataset(80, random_state=2)
    res = sgd_trial(ds.x_train, ds.y_train, ds.x_test, ds.y_test, beta=0.01,
                    lr=20.0, seed=0, n_neurons=10, epochs=3, max_halvings=12)
    assert res["halvings"] >= 1 and res["lr"] < 20.0
    assert not res["diverged"] and np.isfinite(res["objective"])


def test_objective_scaling_matches_4_3():
    import torch

    ds, _ = planted_dataset(80, random_state=3)
    beta = 0.05
    model, info = fit_convex(ds, beta)
    f = model.predict(ds.x_train[:, None])
    direct = np.mean((f - ds.y_train) ** 2) + beta * np.abs(model.coef_).sum()
    assert info["objective"] == pytest.approx(direct, rel=1e-10)
    res = sgd_trial(ds.x_train, ds.y_train, ds.x_test, ds.y_test, beta=beta,
                    lr=0.02, seed=0, n_neurons=6, epochs=2)
    assert res["objective"] >= info["objective"] * (1 - REL)
    # the network objective of (4.3): mean squared error + beta/2 ||theta_w||^2
    from tsmirrors.models.sgd import SGDNetRegressor

    m = SGDNetRegressor(n_neurons=6, epochs=2, beta=sum_beta(beta, ds.T),
                        random_state=0).fit(ds.x_train[:, None], ds.y_train)
    net = m.net_
    with torch.no_grad():
        pen = float(net.alpha.pow(2).sum() + net.weights.pow(2).sum())
    mse = np.mean((m.predict(ds.x_train[:, None]) - ds.y_train) ** 2)
    assert paper_objective(m.objective_, ds.T) == pytest.approx(
        mse + beta / 2 * pen, rel=1e-10)


def test_convex_path_matches_direct_fit():
    ds, _ = planted_dataset(100, random_state=5, independent_test=True)
    path, bmax = convex_path(ds, [0.3, 0.02, 0.004])
    for b in (0.02, 0.004):
        _, info = fit_convex(ds, b)
        row = path.loc[np.isclose(path["beta"], b)].iloc[0]
        assert row["objective"] == pytest.approx(info["objective"], rel=1e-8)
        assert row["test_mse"] == pytest.approx(info["test_loss"], rel=1e-6)
    assert path.loc[path["beta"] > bmax, "n_neurons"].eq(0).all()


def test_price_windows_standardize_on_training_part():
    idx = pd.date_range("2017-01-01", periods=50, freq="h", tz="UTC")
    close = pd.Series(np.arange(50, dtype=float) ** 1.5 + 100, index=idx)
    w = price_windows(close, 10, 2)
    assert len(w) == 2 and isinstance(w[0], Dataset)
    raw = close.to_numpy()[21:42]
    assert w[1].mean == pytest.approx(raw[:11].mean())
    np.testing.assert_allclose(w[1].y_test * w[1].std + w[1].mean, raw[11:])
    assert w[1].outside_fraction == 1.0  # a rising series leaves its range
    with pytest.raises(ValueError, match="windows"):
        price_windows(close, 20, 2)


def test_markdown_table():
    df = pd.DataFrame({"a": [1, 2], "b": [0.5, np.inf], "c": [True, False]})
    text = markdown_table(df)
    assert text.splitlines()[0] == "| a | b | c |"
    assert "| 2 | inf | no |" in text


def test_example_script_runs(tmp_path):
    script = REPO / "examples" / "fig_e1_optimal_set.py"
    out = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "fig_e1_optimal_set.png").is_file()
    assert (tmp_path / "optimal_set.md").is_file()


def test_fit_convex_times_a_warm_solver(monkeypatch):
    """The first fit of a configuration (loading compiled code) is not timed."""
    from tsmirrors.models.convex import ConvexNetRegressor

    fits = []
    fit = ConvexNetRegressor.fit

    def counting_fit(self, X, y):
        fits.append(X.shape)
        return fit(self, X, y)

    monkeypatch.setattr(ConvexNetRegressor, "fit", counting_fit)
    monkeypatch.setattr(common_module, "_WARMED_UP", set())
    ds, _ = planted_dataset(40, sigma2=1.0, n_neurons=3, random_state=0)
    fit_convex(ds, 0.1)
    assert len(fits) == 2  # an untimed warm-up, then the timed fit
    fit_convex(ds, 0.01)
    assert len(fits) == 3  # warm already
    fit_convex(ds, 0.01, depth=3, n_features=30, random_state=0)
    assert len(fits) == 5  # a new configuration warms up again


def test_quick_help_does_not_promise_seconds(capsys):
    with pytest.raises(SystemExit):
        _cli.main(["optimal_set"], ["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "runs in seconds" not in text
    assert "about a minute per experiment" in text


def test_test_mse_range_over_a_segment_of_optimal_networks():
    """Neurons at the smallest and largest input fit a line alike."""
    from tsmirrors.features import Library
    from tsmirrors.solvers import lasso_beta_max

    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(0, 1, 30))
    y = 2.0 * x + 0.01 * rng.standard_normal(30)
    xt = rng.uniform(1.0, 2.0, 20)  # outside the training range
    yt = 2.0 * xt
    lib = Library(activation="abs")
    A, At = lib.fit_transform(x), lib.transform(xt)
    beta = 0.9 * lasso_beta_max(A, y)
    opt = lasso_optimal_set(A, y, beta)
    assert opt.dim == 1
    lo, hi = optimal_set_module.mse_range_over_optimal_set(opt, A, At, yt)
    # independently: t z |x - x_min| - (1 - t) z |x - x_max|, t in [0, 1], all
    # with the same training fit and the same |z|
    a = x - x.min()
    ac = a - a.mean()
    z = np.sign(ac @ y) * (abs(ac @ y) - beta) / (ac @ ac)  # one-column Lasso
    mse = []
    for t in np.linspace(0, 1, 10001):
        f = t * z * np.abs(x - x.min()) - (1 - t) * z * np.abs(x - x.max())
        ft = t * z * np.abs(xt - x.min()) - (1 - t) * z * np.abs(xt - x.max())
        mse.append(np.mean((ft + np.mean(y - f) - yt) ** 2))
    mse = np.array(mse)
    # rtol: the grid's step 1e-4 moves a quadratic's minimum by ~1e-8
    assert hi == pytest.approx(mse.max(), rel=1e-9)
    assert lo == pytest.approx(mse.min(), rel=1e-6)
    assert lo < 0.9 * hi  # the optimal networks really differ out of range


def test_log_axis_labels_plain_numbers_without_crowding():
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    ax.plot([1.8e-3, 2e-2], [0, 1])
    importlib.import_module("tsmirrors.experiments._axes").log_axis(ax)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels(minor=True) if t.get_text()]
    assert labels == []  # unlabelled minor ticks: "3 x 10^-3 4 x 10^-3" ran together
    shown = [
        t.get_text()
        for t in ax.get_xticklabels()
        if t.get_text() and 1.8e-3 <= t.get_position()[0] <= 2e-2
    ]
    assert shown == ["0.002", "0.005", "0.01", "0.02"]


def test_sgd_and_output_helpers_are_reexported_from_common():
    sgd = importlib.import_module("tsmirrors.experiments._sgd")
    output = importlib.import_module("tsmirrors.experiments._output")
    for module, names in [
        (sgd, ["_set_torch_threads", "_two_layer_abs", "_sgd_run", "sgd_trial",
               "_sgd_task", "run_parallel"]),
        (output, ["_fmt", "markdown_table", "write_tables", "new_figure",
                  "save_figure", "plot_trials"]),
    ]:
        for name in names:
            assert getattr(common_module, name) is getattr(module, name), name
            assert getattr(module, name).__module__ == module.__name__
    # each module imports on its own, first, in a fresh interpreter
    for name in ("_sgd", "_output", "_common"):
        subprocess.run(
            [sys.executable, "-c", f"import tsmirrors.experiments.{name}"],
            check=True, cwd=REPO,
        )
