"""Forecaster options the command line relies on: automatic sampling of deep
libraries, neuron counts, and the size of the conformal calibration set."""

from __future__ import annotations

import numpy as np
import pytest

from tsmirrors.data import make_planted
from tsmirrors.forecasting import (
    AR1Forecaster,
    ConvexAR,
    ConvexQuantileAR,
    NaiveForecaster,
    SGDNetAR,
)
from tsmirrors.forecasting import models as models_module


@pytest.fixture(scope="module")
def series():
    return make_planted(160, random_state=0).series


def test_deep_library_over_the_budget_is_sampled_with_a_message(
    series, monkeypatch
):
    # a small budget stands in for a realistic window (ConvexAR(depth=3) on
    # 2000 prices needs ~1e10 bytes for its exact library)
    monkeypatch.setattr(models_module, "AUTO_MEMORY_BUDGET", 2**20)
    budget = r"over the memory budget of 0.000976562 GiB; sampling"
    with pytest.warns(UserWarning, match=budget):
        model = ConvexAR(depth=3, beta=0.01, random_state=0).fit(series)
    assert model.regressor_.n_library_features_[0] <= 10 * model.n_rows_
    assert np.all(np.isfinite(model.predict(3)))
    again = ConvexAR(depth=3, beta=0.01, random_state=0)
    with pytest.warns(UserWarning):
        again.fit(series)
    np.testing.assert_array_equal(again.predict(3), model.predict(3))


def test_symmetrized_network_fits_with_the_default_sampling(series, monkeypatch):
    monkeypatch.setattr(models_module, "AUTO_MEMORY_BUDGET", 2**20)
    with pytest.warns(UserWarning, match=r"\(uniform\)"):
        model = ConvexAR(
            depth=3, architecture="symmetrized", activation="relu", beta=0.01,
            random_state=0,
        ).fit(series)
    assert np.all(np.isfinite(model.predict(2)))


def test_every_forecaster_exposes_n_neurons(series):
    convex = ConvexAR(beta=0.01).fit(series)
    assert convex.n_neurons_ == convex.regressor_.n_neurons_ > 0
    sgd = SGDNetAR(n_neurons=7, epochs=2, random_state=0).fit(series)
    assert 0 < sgd.n_neurons_ <= 7
    quantile = ConvexQuantileAR(beta=0.01, max_horizon=2).fit(series)
    assert quantile.n_neurons_.shape == (2, 3)
    assert quantile.n_neurons_[0, 1] == quantile.models_[1, 1].n_neurons_
    assert AR1Forecaster().fit(series).n_neurons_ == 0
    assert NaiveForecaster().fit(series).n_neurons_ == 0


@pytest.mark.parametrize(
    ("quantiles", "need"),
    [((0.005, 0.5, 0.995), 99), ((0.025, 0.975), 19), ((0.5, 0.98), 49)],
)
def test_too_few_calibration_rows_are_refused_with_the_rule(quantiles, need):
    y = make_planted(260, random_state=1).series
    model = ConvexQuantileAR(
        quantiles=quantiles, target="level", calibration="conformal",
        calibration_size=need - 1,
    )
    with pytest.raises(ValueError, match=rf"needs at least .* = {need} calibration"):
        model.fit(y)
    model.set_params(calibration_size=need).fit(y)
    q = model.predict_quantiles(1).to_numpy()
    assert np.all(np.isfinite(q))  # with `need` rows the interval exists
