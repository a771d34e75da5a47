"""The value-at-risk report of a backtest and its plot."""

from __future__ import annotations

import numpy as np
import pytest

from tsmirrors.backtesting import backtest
from tsmirrors.forecasting import NaiveForecaster
from tsmirrors.risk_metrics import hit_rate
from tsmirrors.risk_report import plot_var_backtest, risk_report

TAUS = (0.05, 0.1, 0.9, 0.95)


@pytest.fixture(scope="module")
def backtested():
    rng = np.random.default_rng(0)
    y = 100 * np.exp(np.cumsum(0.02 * rng.standard_normal(260)))
    _, pred = backtest(NaiveForecaster(quantiles=TAUS), y, initial_train_size=60,
                       window="rolling", progress=False, metrics=("pinball",))
    return y, pred


def test_report_matches_the_metrics_computed_by_hand(backtested):
    y, pred = backtested
    report = risk_report(y, pred)
    pos = np.arange(60, 260)
    prev, yt = y[pos - 1], y[pos]
    q = pred[[f"q_{t:g}" for t in TAUS]].to_numpy()
    r = (yt[:, None] - q) / prev[:, None] * 1e4
    taus = np.array(TAUS)
    expected = np.mean(np.maximum(taus * r, (taus - 1) * r))
    assert report["pinball_bp"] == pytest.approx(expected, rel=1e-12)
    assert report["hit"][0.05] == hit_rate(yt, q[:, 0], 0.05)
    inside = (q[:, 0] <= yt) & (yt <= q[:, 3])
    assert report["coverage"] == inside.mean()
    assert report["n"] == 200
    assert set(report) >= {"kupiec_rejected", "cc_rejected", "dq_rejected",
                           "coverage_calm", "coverage_volatile", "width_vol_corr"}


def test_report_needs_one_step_forecasts(backtested):
    y, pred = backtested
    with pytest.raises(ValueError, match="one-step"):
        risk_report(y, pred.assign(step=2))


def test_plot_marks_the_exceedances(backtested):
    import matplotlib

    matplotlib.use("Agg")
    y, pred = backtested
    ax = plot_var_backtest(y, pred, levels=(0.05, 0.95))
    ret = 100 * (y[60:] / y[59:-1] - 1)
    lo = 100 * (pred["q_0.05"].to_numpy() / y[59:-1] - 1)
    hi = 100 * (pred["q_0.95"].to_numpy() / y[59:-1] - 1)
    n_out = int(((ret < lo) | (ret > hi)).sum())
    assert ax.collections[-1].get_offsets().shape[0] == n_out
    with pytest.raises(ValueError, match="no quantile level 0.01"):
        plot_var_backtest(y, pred, levels=(0.01, 0.99))
