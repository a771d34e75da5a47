"""Forecast metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from tsmirrors.metrics import (
    crps_from_quantiles,
    empirical_coverage,
    interval_score,
    mae,
    mase,
    mean_interval_width,
    mse,
    pinball_loss,
    rmse,
)

Y = np.array([1.0, 2.0, 4.0, -1.0])
P = np.array([2.0, 2.0, 1.0, 0.0])  # errors -1, 0, 3, -1


def test_point_metrics_by_hand():
    assert mse(Y, P) == pytest.approx((1 + 0 + 9 + 1) / 4)
    assert rmse(Y, P) == pytest.approx(np.sqrt(11 / 4))
    assert mae(Y, P) == pytest.approx((1 + 0 + 3 + 1) / 4)


def test_mase_by_hand():
    train = [1.0, 3.0, 2.0, 6.0]  # one-step naive errors 2, 1, 4 -> MAE 7/3
    assert mase(Y, P, train) == pytest.approx((5 / 4) / (7 / 3))
    # seasonal m = 2: errors |2 - 1|, |6 - 3| -> MAE 2
    assert mase(Y, P, train, m=2) == pytest.approx((5 / 4) / 2)


def test_pinball_by_hand():
    # residuals y - q = -1, 0, 3, -1 at tau = 0.25:
    # 0.75 * 1, 0, 0.25 * 3, 0.75 * 1
    assert pinball_loss(Y, P, 0.25) == pytest.approx((0.75 + 0 + 0.75 + 0.75) / 4)
    assert pinball_loss(Y, P, 0.5) == pytest.approx(mae(Y, P) / 2)
    Q = np.column_stack([P, P + 1])
    got = pinball_loss(Y, Q, [0.25, 0.9])
    # second column residuals -2, -1, 2, -2 at tau = 0.9
    assert got.shape == (2,)
    np.testing.assert_allclose(got, [2.25 / 4, (0.2 + 0.1 + 1.8 + 0.2) / 4])


def test_interval_metrics_by_hand():
    y = np.array([0.5, 3.0, -1.0, 2.0])
    lo = np.array([0.0, 0.0, 0.0, 1.0])
    hi = np.array([1.0, 2.0, 1.0, 2.0])
    assert empirical_coverage(y, lo, hi) == pytest.approx(0.5)
    assert mean_interval_width(lo, hi) == pytest.approx((1 + 2 + 1 + 1) / 4)
    # alpha = 0.2, penalty 2 / alpha = 10 per unit outside
    expected = (1 + (2 + 10 * 1) + (1 + 10 * 1) + 1) / 4
    assert interval_score(y, lo, hi, coverage=0.8) == pytest.approx(expected)


def test_crps_by_hand():
    y = np.array([1.0, 0.0])
    Q = np.array([[0.0, 2.0], [0.0, 2.0]])
    taus = np.array([0.25, 0.75])
    # point 1: residuals 1, -1 -> 0.25, 0.25; point 2: residuals 0, -2 -> 0, 0.5
    expected = 2 * np.mean([0.25, 0.25, 0.0, 0.5])
    assert crps_from_quantiles(y, Q, taus) == pytest.approx(expected)


def test_crps_approaches_the_normal_closed_form():
    taus = (np.arange(1, 2000) - 0.5) / 1999
    y = np.array([-1.3, 0.2, 2.5])
    Q = np.tile(norm.ppf(taus), (3, 1))
    exact = y * (2 * norm.cdf(y) - 1) + 2 * norm.pdf(y) - 1 / np.sqrt(np.pi)
    assert crps_from_quantiles(y, Q, taus) == pytest.approx(exact.mean(), rel=1e-3)


def test_bad_inputs():
    with pytest.raises(ValueError, match="different lengths: 4 and 3"):
        mse(Y, P[:3])
    with pytest.raises(ValueError, match="NaN"):
        mae([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="must be 1-D"):
        rmse(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="MASE is undefined"):
        mase(Y, P, [2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="more than m=2 values, got 2"):
        mase(Y, P, [1.0, 2.0], m=2)
    with pytest.raises(ValueError, match="m must be a positive integer, got 0"):
        mase(Y, P, [1.0, 2.0], m=0)
    with pytest.raises(ValueError, match=r"quantile must be in \(0, 1\), got 1.0"):
        pinball_loss(Y, P, 1.0)
    with pytest.raises(ValueError, match=r"q_pred must have shape \(4, 2\)"):
        pinball_loss(Y, np.ones((4, 3)), [0.1, 0.9])
    with pytest.raises(ValueError, match="lower > upper at 1 point"):
        empirical_coverage(Y, P, P - np.array([0, 0, 1, 0]))
    with pytest.raises(ValueError, match="lower > upper"):
        mean_interval_width([1.0], [0.0])
    with pytest.raises(ValueError, match=r"coverage must be in \(0, 1\), got 1.0"):
        interval_score(Y, P, P, coverage=1.0)
    with pytest.raises(ValueError, match="quantiles must be distinct"):
        crps_from_quantiles(Y, np.ones((4, 2)), [0.5, 0.5])
    with pytest.raises(ValueError, match=r"quantiles must be in \(0, 1\)"):
        crps_from_quantiles(Y, np.ones((4, 2)), [0.0, 0.5])
