"""A value-at-risk report of a quantile backtest, and its plot.

:func:`risk_report` turns the ``predictions`` of
:func:`tsmirrors.backtesting.backtest` (one-step quantile forecasts of a
price series) into the numbers a risk user checks: pinball loss in basis
points of the price, hit rates, Kupiec and Christoffersen rejections per
level, coverage of the central interval in calm and volatile periods, and
the correlation of the interval's width with realized volatility.
:func:`plot_var_backtest` draws the returns with the value-at-risk bands and
marks the exceedances.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._optional import import_optional
from .risk_metrics import (
    christoffersen_test,
    coverage_by_volatility,
    dynamic_quantile_test,
    hit_sequence,
    kupiec_pof,
    trailing_volatility,
)

__all__ = ["risk_report", "plot_var_backtest"]


def _levels(predictions: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    cols = [c for c in predictions.columns if str(c).startswith("q_")]
    if not cols:
        raise ValueError("predictions have no quantile columns ('q_<level>')")
    return np.array([float(c[2:]) for c in cols]), cols


def _band_levels(levels) -> tuple[float, float]:
    """Two distinct quantile levels in (0, 1), sorted."""
    try:
        pair = [float(v) for v in levels]
    except (TypeError, ValueError):
        raise ValueError(
            f"levels must be two quantile levels, got {levels!r}"
        ) from None
    if len(pair) != 2 or pair[0] == pair[1]:
        raise ValueError(
            f"levels must be exactly two distinct quantile levels, got {levels!r}"
        )
    if not all(0 < v < 1 for v in pair):
        raise ValueError(f"levels must lie in (0, 1), got {levels!r}")
    lo, hi = sorted(pair)
    return lo, hi


def _aligned(y, predictions: pd.DataFrame):
    """Outcomes, previous prices, quantiles and target positions."""
    if (predictions["step"] != 1).any():
        raise ValueError("the risk report needs one-step forecasts (steps=1, gap=0)")
    stamps = pd.Index(predictions["timestamp"])
    if not isinstance(y, pd.Series):
        if not pd.api.types.is_integer_dtype(stamps.dtype):
            # an array has positions only: matching timestamps to positions
            # would guess where the series starts
            raise ValueError(
                "predictions are labelled by timestamps but y is an array: "
                "pass y as the pandas Series that was backtested"
            )
        series = pd.Series(np.asarray(y, dtype=np.float64))
    else:
        series = y
    pos = series.index.get_indexer(stamps)
    if (pos < 1).any():
        raise ValueError(
            "predictions do not match the series' labels: pass the series "
            "that was backtested (each forecast time needs the price before it)"
        )
    values = series.to_numpy(dtype=np.float64)
    return values, pos


def risk_report(y, predictions: pd.DataFrame, coverage: float = 0.9,
                vol_window: int = 20, test_level: float = 0.05) -> dict:
    """Value-at-risk summary of one-step quantile forecasts of prices.

    Parameters
    ----------
    y : pandas.Series or array-like
        The backtested price series (as passed to ``backtest``). An array
        is matched by position and only to predictions labelled by
        positions (a backtest of an array); predictions labelled by
        timestamps need the Series itself.
    predictions : pandas.DataFrame
        The predictions of ``backtest`` (one-step, with ``q_<level>``
        columns).
    coverage : float, default=0.9
        The central interval whose coverage and width are reported.
    vol_window : int, default=20
        Returns in the trailing realized volatility known at each origin.
    test_level : float, default=0.05
        Size of the Kupiec, Christoffersen and DQ tests.

    Returns
    -------
    dict
        ``pinball_bp`` (mean pinball loss of ``(y - q) / y_prev`` in basis
        points, over levels and points), ``hit`` (hit rate per level),
        ``kupiec_rejected``, ``cc_rejected``, ``dq_rejected`` (lists of the
        rejected levels), ``coverage_calm`` and ``coverage_volatile``
        (lowest and highest tercile of trailing volatility),
        ``width_vol_corr``, ``n``.
    """
    taus, cols = _levels(predictions)
    values, pos = _aligned(y, predictions)
    prev = values[pos - 1]
    yt = values[pos]
    q = predictions[cols].to_numpy(dtype=np.float64)
    rel = (yt[:, None] - q) / prev[:, None] * 1e4
    pinball = np.mean(np.maximum(taus * rel, (taus - 1.0) * rel))
    returns = np.concatenate([[0.0], values[1:] / values[:-1] - 1.0])
    vol = trailing_volatility(returns, vol_window)[pos]
    if np.isnan(vol).any():
        raise ValueError(f"the first origin needs {vol_window} returns before it")
    hit, kup, cc, dq = {}, [], [], []
    for j, tau in enumerate(taus):
        h = hit_sequence(yt, q[:, j], tau)
        p = min(tau, 1 - tau)
        hit[float(tau)] = float(h.mean())
        if kupiec_pof(h, p).pvalue < test_level:
            kup.append(float(tau))
        if christoffersen_test(h, p)["conditional_coverage"].pvalue < test_level:
            cc.append(float(tau))
        try:
            if dynamic_quantile_test(yt / prev, q[:, j] / prev, tau).pvalue < (
                test_level
            ):
                dq.append(float(tau))
        except ValueError:  # collinear regressors: no hit at all, say
            dq.append(float(tau))
    lo_level, hi_level = (1 - coverage) / 2, (1 + coverage) / 2
    lo = q[:, int(np.argmin(np.abs(taus - lo_level)))]
    hi = q[:, int(np.argmin(np.abs(taus - hi_level)))]
    terciles = coverage_by_volatility(yt, lo, hi, vol, 3)
    width = (hi - lo) / prev
    corr = float(np.corrcoef(width, vol)[0, 1]) if np.ptp(width) > 0 else float("nan")
    return {
        "pinball_bp": float(pinball),
        "hit": hit,
        "kupiec_rejected": kup,
        "cc_rejected": cc,
        "dq_rejected": dq,
        "coverage": float(np.mean((lo <= yt) & (yt <= hi))),
        "coverage_calm": float(terciles[0]),
        "coverage_volatile": float(terciles[-1]),
        "width_vol_corr": corr,
        "n": int(yt.size),
    }


def plot_var_backtest(y, predictions: pd.DataFrame, levels=(0.05, 0.95), ax=None,
                      title: str | None = None):
    """Returns with the value-at-risk bands, exceedances marked.

    Parameters
    ----------
    y : pandas.Series or array-like
        The backtested price series; an array only for predictions labelled
        by positions (see :func:`risk_report`).
    predictions : pandas.DataFrame
        One-step predictions of ``backtest`` with ``q_<level>`` columns.
    levels : pair of float, default=(0.05, 0.95)
        The two distinct quantile levels drawn as the band's edges, both
        among the predictions' columns (in either order).
    ax : matplotlib Axes or None
    title : str or None

    Returns
    -------
    matplotlib Axes
    """
    plt = import_optional("matplotlib.pyplot")
    levels = _band_levels(levels)
    taus, cols = _levels(predictions)
    values, pos = _aligned(y, predictions)
    prev = values[pos - 1]
    ret = 100.0 * (values[pos] / prev - 1.0)
    band = {}
    for level in levels:
        j = np.flatnonzero(np.isclose(taus, level))
        if not j.size:
            raise ValueError(f"predictions have no quantile level {level}")
        band[level] = 100.0 * (predictions[cols[j[0]]].to_numpy() / prev - 1.0)
    x = pd.Index(predictions["timestamp"])
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 4))
    ax.plot(x, ret, color="0.35", lw=0.6, label="return (%)")
    lo, hi = band[levels[0]], band[levels[1]]
    ax.fill_between(x, lo, hi, color="tab:blue", alpha=0.2,
                    label=f"VaR band {levels[0]:g}-{levels[1]:g}")
    out = (ret < lo) | (ret > hi)
    ax.scatter(x[out], ret[out], color="tab:red", s=10, zorder=3,
               label=f"exceedances ({int(out.sum())} of {out.size})")
    ax.set_ylabel("one-step return (%)")
    ax.set_xlabel("forecast time")
    ax.legend(loc="upper left", fontsize=8)
    if title:
        ax.set_title(title)
    return ax
