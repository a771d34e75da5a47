"""Adaptive conformal inference: long-run coverage, past outcomes only."""

from __future__ import annotations

import numpy as np
import pytest

from tsmirrors.backtesting import backtest
from tsmirrors.forecasting.calibration import AdaptiveConformal
from tsmirrors.forecasting.volatility import ScaledQuantileAR

TAUS = np.array([0.05, 0.5, 0.95])


def _regime_change(n=3000, seed=0):
    """Outcomes whose spread jumps fivefold halfway, forecasts that ignore it."""
    rng = np.random.default_rng(seed)
    sd = np.where(np.arange(n) < n // 2, 1.0, 5.0)
    y = sd * rng.standard_normal(n)
    q = np.tile([-1.645, 0.0, 1.645], (n, 1))  # right only before the change
    return y, q


def test_long_run_coverage_converges_to_nominal_through_a_regime_change():
    y, q = _regime_change()
    gamma = 0.02
    out = AdaptiveConformal(TAUS, gamma=gamma).calibrate(q, y)
    below = (y[:, None] <= out).mean(axis=0)
    raw = (y[:, None] <= q).mean(axis=0)
    # Gibbs and Candes: |coverage - tau| <= (max(tau, 1 - tau) + gamma) /
    # (gamma T) = 0.0163 at the tails (with clipped extreme levels this is
    # the target, not a theorem; see the module)
    bound = (0.95 + gamma) / (gamma * y.size)
    np.testing.assert_allclose(below, TAUS, atol=bound)
    # without it, the tails miss badly over the volatile half
    assert raw[0] > 0.05 + 10 * bound
    # and it holds after the change too, not only on average
    late = (y[2000:, None] <= out[2000:]).mean(axis=0)
    np.testing.assert_allclose(late, TAUS, atol=0.02)


def test_no_future_outcome_is_used():
    y, q = _regime_change(600)
    aci = AdaptiveConformal(TAUS, gamma=0.05)
    out = aci.calibrate(q, y)
    cut = 400
    other = y.copy()
    other[cut:] = -other[cut:] * 10.0
    again = aci.calibrate(q, other)
    # row t uses outcomes before t: rows up to the cut are unchanged
    np.testing.assert_array_equal(out[: cut + 1], again[: cut + 1])
    assert not np.array_equal(out[cut + 1 :], again[cut + 1 :])


def test_delayed_outcomes_wait_for_their_targets():
    y, q = _regime_change(200)
    aci = AdaptiveConformal(TAUS, gamma=0.05)
    origin = np.arange(200)
    target = origin + 3  # three steps ahead: y[r] is known 3 rows later
    out = aci.calibrate(q, y, origin=origin, target=target)
    other = y.copy()
    other[150:] += 100.0
    again = aci.calibrate(q, other, origin=origin, target=target)
    np.testing.assert_array_equal(out[:154], again[:154])


def test_backtest_applies_adaptive_calibration():
    rng = np.random.default_rng(0)
    sd = np.where(np.arange(260) < 130, 1.0, 3.0)
    y = 500 + np.cumsum(sd * rng.standard_normal(260))
    kw = dict(initial_train_size=200, refit=20, window="rolling", progress=False,
              metrics=("pinball",))
    model = ScaledQuantileAR(quantiles=TAUS, random_state=0)
    _assert_backtest_recalibrated(
        model, model.set_params(calibration="adaptive"), y, kw, gamma=0.005)


def _assert_backtest_recalibrated(model, adaptive_model, y, kw, gamma):
    """The adaptive backtest is ACI applied to the plain one's forecasts."""
    _, plain = backtest(model.set_params(calibration=None), y, **kw)
    _, adaptive = backtest(adaptive_model.set_params(calibration="adaptive"), y, **kw)
    cols = [f"q_{t:g}" for t in TAUS]
    expected = AdaptiveConformal(TAUS, gamma=gamma).calibrate(
        plain[cols].to_numpy(), plain["y_true"].to_numpy()
    )
    np.testing.assert_allclose(adaptive[cols].to_numpy(), expected, rtol=1e-12)
    assert not np.allclose(adaptive[cols].to_numpy(), plain[cols].to_numpy())


def test_bad_gamma_is_refused():
    with pytest.raises(ValueError, match="gamma must be"):
        AdaptiveConformal(TAUS, gamma=0.0)


def test_convex_quantile_ar_backtest_applies_adaptive_calibration():
    from tsmirrors.forecasting import ConvexQuantileAR

    rng = np.random.default_rng(1)
    sd = np.where(np.arange(160) < 80, 1.0, 3.0)
    y = 500 + np.cumsum(sd * rng.standard_normal(160))
    kw = dict(initial_train_size=100, refit=30, window="rolling", progress=False,
              metrics=("pinball",))
    model = ConvexQuantileAR(quantiles=TAUS, lags=2, n_features=8, random_state=0,
                             adaptation_rate=0.02)
    _assert_backtest_recalibrated(model, model, y, kw, gamma=0.02)
    adaptive_model = model.set_params(calibration="adaptive")
    # the fit itself is the uncalibrated one (no rows held out)
    fitted = adaptive_model.fit(y[:100])
    assert fitted.n_calibration_ == 0
    np.testing.assert_array_equal(
        fitted.predict_quantiles(1).to_numpy(),
        model.set_params(calibration=None).fit(y[:100]).predict_quantiles(1).to_numpy(),
    )


def test_convex_quantile_ar_refuses_a_bad_adaptation_rate():
    from tsmirrors.forecasting import ConvexQuantileAR

    y = 100 + np.cumsum(np.random.default_rng(2).standard_normal(80))
    with pytest.raises(ValueError, match="gamma must be"):
        ConvexQuantileAR(calibration="adaptive", adaptation_rate=2.0).fit(y)
