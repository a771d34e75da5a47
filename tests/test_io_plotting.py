"""Saved models and plots."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

import tsmirrors
from tsmirrors.data import make_planted
from tsmirrors.forecasting import AR1Forecaster, ConvexAR
from tsmirrors.models.convex import ConvexNetRegressor
from tsmirrors.plotting import (
    classify_breakpoints,
    plot_forecast,
    plot_learned_function,
    plot_regularization_path,
    plot_training_curves,
)

matplotlib.use("Agg")


@pytest.mark.parametrize(
    "make",
    [
        lambda: ConvexNetRegressor(
            activation="abs", depth=3, beta=0.1, n_features=60, random_state=0
        ),
        lambda: ConvexAR(beta=0.1),
        lambda: AR1Forecaster(quantiles=(0.1, 0.9)),
    ],
)
def test_save_load_round_trip_gives_identical_predictions(tmp_path, make):
    p = make_planted(200, random_state=0)
    model = make()
    if isinstance(model, ConvexNetRegressor):
        x = p.values[:-1, None]
        model.fit(x, p.values[1:])
        before = model.predict(x)
    else:
        model.fit(p.series)
        before = model.predict(3)
    path = tsmirrors.save(model, tmp_path / "m.tsm")
    loaded = tsmirrors.load(path)
    after = (
        loaded.predict(x)
        if isinstance(model, ConvexNetRegressor)
        else loaded.predict(3)
    )
    if isinstance(before, pd.Series):
        pd.testing.assert_series_equal(before, after)
    else:
        np.testing.assert_array_equal(before, after)


def test_classify_breakpoints():
    kinds = classify_breakpoints([0.0, 4.0, 3.0, 0.5], [0.0, 2.0, -1.0])
    assert kinds["kind"].tolist() == [
        "training point",
        "reflection",
        "generalized reflection",
        "other",
    ]
    assert kinds["note"].iloc[1] == "R(0, 2)"


def test_breakpoints_of_a_fitted_network():
    x = np.array([[2.0], [0.0], [-1.0], [1.0]])
    y = np.array([2.0, 0.0, 1.0, 1.0])
    model = ConvexNetRegressor(activation="relu", beta=1e-4).fit(x, y)
    bps = model.breakpoints(-5, 5)
    # a 2-layer ReLU network bends only at training points (Remark 3.14)
    assert set(np.round(bps, 9)) <= {2.0, 0.0, -1.0, 1.0}
    grid = np.linspace(-5, 5, 1001)
    f = model.predict(grid[:, None])
    slope = np.diff(f) / np.diff(grid)
    kinks = grid[1:-1][np.abs(np.diff(slope)) > 1e-6]
    for b in bps:
        assert np.min(np.abs(kinks - b)) < 0.02


def test_plots_draw(tmp_path):
    p = make_planted(300, random_state=1)
    y = p.series
    model = AR1Forecaster(quantiles=(0.05, 0.95)).fit(y.iloc[:250])
    q = model.predict_quantiles(20)
    ax = plot_forecast(
        y.iloc[200:250], model.predict(20), q[0.05], q[0.95], truth=y.iloc[250:270]
    )
    assert len(ax.collections) == 1 and len(ax.lines) == 3
    ax.figure.savefig(tmp_path / "f.png")
    ax = plot_regularization_path(
        [1e-3, 1e-2, 1e-1], [0.1, 0.5, 1.0], [5, 2, 0], sgd=[([1e-3, 1e-1], [0.2, 1.1])]
    )
    assert len(ax.lines) == 2
    x = np.array([[2.0], [0.0], [-1.0]])
    net = ConvexNetRegressor(activation="abs", depth=3, beta=1e-3).fit(
        x, [2.0, 0.0, 1.0]
    )
    ax = plot_learned_function(net, x, [2.0, 0.0, 1.0])
    assert len(ax.lines) >= 2
    hist = pd.DataFrame(
        {"epoch": [1, 2, 3], "objective": [3.0, 2.0, 1.5], "time_s": [0.1, 0.2, 0.3]}
    )
    ax = plot_training_curves(1.0, [hist, hist])
    assert ax.get_yscale() == "log"
    assert (tmp_path / "f.png").stat().st_size > 1000
