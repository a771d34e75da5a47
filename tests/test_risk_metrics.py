"""Value-at-risk backtests against hand computations of their formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tsmirrors import metrics
from tsmirrors.risk_metrics import (
    christoffersen_test,
    coverage_by_volatility,
    dynamic_quantile_test,
    hit_rate,
    hit_sequence,
    kupiec_pof,
    trailing_volatility,
)

# hits 0 0 1 1 0 0 0 1 0 0: transitions n00=4, n01=2, n10=2, n11=1, 3 hits
HITS = [0, 0, 1, 1, 0, 0, 0, 1, 0, 0]


def test_hit_sequence_uses_the_tail_side_of_each_level():
    y = [1.0, -3.0, 0.0, 4.0]
    q = [-2.0, -2.0, 0.0, 3.0]
    assert hit_sequence(y, q, 0.05).tolist() == [0, 1, 0, 0]
    assert hit_sequence(y, q, 0.95).tolist() == [1, 0, 0, 1]
    assert hit_rate(y, q, 0.95) == 0.5


def test_kupiec_matches_the_hand_computed_likelihood_ratio():
    # 3 hits in 10 at p = 0.1: LR = -2 [7 ln .9 + 3 ln .1 - 7 ln .7 - 3 ln .3]
    lr = -2 * (7 * math.log(0.9) + 3 * math.log(0.1)
               - 7 * math.log(0.7) - 3 * math.log(0.3))
    res = kupiec_pof(HITS, 0.1)
    assert res.statistic == pytest.approx(lr, rel=1e-12)
    assert res.pvalue == pytest.approx(stats.chi2.sf(lr, 1), rel=1e-12)
    assert res.df == 1


def test_kupiec_with_no_hit_uses_zero_log_zero():
    # x = 0: LR = -2 T ln(1 - p)
    res = kupiec_pof([0] * 20, 0.05)
    assert res.statistic == pytest.approx(-40 * math.log(0.95), rel=1e-12)


def test_christoffersen_matches_the_hand_computed_transitions():
    n00, n01, n10, n11 = 4, 2, 2, 1
    pi01, pi11, pi = 2 / 6, 1 / 3, 3 / 9
    markov = (n00 * math.log(1 - pi01) + n01 * math.log(pi01)
              + n10 * math.log(1 - pi11) + n11 * math.log(pi11))
    iid = 6 * math.log(1 - pi) + 3 * math.log(pi)
    nominal = 6 * math.log(0.9) + 3 * math.log(0.1)
    res = christoffersen_test(HITS, 0.1)
    ind, cc = res["independence"], res["conditional_coverage"]
    # pi01 == pi11 == pi here: the hits look independent, LR_ind is 0
    assert ind.statistic == pytest.approx(-2 * (iid - markov), abs=1e-12)
    assert ind.statistic == pytest.approx(0.0, abs=1e-12)
    assert cc.statistic == pytest.approx(-2 * (nominal - markov), rel=1e-12)
    assert cc.pvalue == pytest.approx(stats.chi2.sf(cc.statistic, 2), rel=1e-12)
    # LR_cc = Kupiec on the last T - 1 hits + LR_ind
    assert cc.statistic == pytest.approx(
        kupiec_pof(HITS[1:], 0.1).statistic + ind.statistic, rel=1e-12
    )


def test_christoffersen_detects_clustered_hits():
    clustered = [0] * 20 + [1] * 5 + [0] * 20 + [1] * 5
    # n00=38, n01=2, n10=1, n11=8 (49 transitions, 10 ending in a hit)
    pi01, pi11, pi = 2 / 40, 8 / 9, 10 / 49
    markov = (38 * math.log(1 - pi01) + 2 * math.log(pi01)
              + math.log(1 - pi11) + 8 * math.log(pi11))
    iid = 39 * math.log(1 - pi) + 10 * math.log(pi)
    ind = christoffersen_test(clustered, 0.2)["independence"]
    assert ind.statistic == pytest.approx(-2 * (iid - markov), rel=1e-12)
    assert ind.pvalue < 1e-6


def test_dynamic_quantile_matches_an_ols_regression():
    import statsmodels.api as sm

    rng = np.random.default_rng(0)
    y = rng.standard_normal(300)
    q = -1.64 + 0.3 * rng.standard_normal(300)
    tau, k = 0.05, 4
    hit = (y < q).astype(float) - tau
    X = np.column_stack(
        [np.ones(300 - k)] + [hit[k - j : 300 - j] for j in range(1, k + 1)] + [q[k:]]
    )
    ols = sm.OLS(hit[k:], X).fit()
    # uncentered explained sum of squares of the OLS fit over p (1 - p)
    expected = (hit[k:] @ hit[k:] - ols.ssr) / (tau * (1 - tau))
    res = dynamic_quantile_test(y, q, tau, n_lags=k)
    assert res.statistic == pytest.approx(expected, rel=1e-9)
    assert res.df == k + 2
    assert res.pvalue == pytest.approx(stats.chi2.sf(expected, k + 2), rel=1e-9)


def test_dynamic_quantile_rejects_a_constant_forecast():
    y = np.linspace(-1, 1, 50)
    with pytest.raises(ValueError, match="collinear"):
        dynamic_quantile_test(y, np.zeros(50), 0.1)


def test_trailing_volatility_uses_only_past_changes():
    r = np.array([1.0, -1.0, 2.0, 0.0, 3.0])
    vol = trailing_volatility(r, window=2)
    assert np.isnan(vol[:2]).all()
    assert vol[2:].tolist() == pytest.approx(
        [1.0, math.sqrt(2.5), math.sqrt(2.0)], rel=1e-12
    )
    r2 = r.copy()
    r2[4] = 100.0  # the current change does not enter its own volatility
    assert trailing_volatility(r2, 2)[4] == vol[4]


def test_coverage_by_volatility_splits_by_terciles():
    y = np.array([0, 0, 0, 5, 0, 5, 5, 5, 0], dtype=float)
    vol = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9], dtype=float)
    cov = coverage_by_volatility(y, -np.ones(9), np.ones(9), vol)
    assert cov.tolist() == pytest.approx([1.0, 1 / 3, 1 / 3])


def test_bad_hits_are_refused():
    with pytest.raises(ValueError, match="only 0 and 1"):
        kupiec_pof([0, 2, 1], 0.1)
    with pytest.raises(ValueError, match="rate"):
        christoffersen_test([0, 1, 0], 1.5)


def test_metrics_module_reexports_the_risk_metrics():
    assert metrics.kupiec_pof is kupiec_pof
    assert metrics.christoffersen_test is christoffersen_test
    assert metrics.dynamic_quantile_test is dynamic_quantile_test
