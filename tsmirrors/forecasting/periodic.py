"""Periodic volatility factor of :class:`~tsmirrors.forecasting.ScaledQuantileAR`.

Returns of intraday data are more volatile at some hours of the day than at
others, and daily returns weakly so on some days of the week. The factor of
Andersen and Bollerslev (1997) removes that pattern before the volatility
filter: with ``phase(t)`` the position of ``t`` within a period of ``P``
steps (the hour of day of hourly data, ``P = 24``; the day of week of daily
data, ``P = 7``),

    s_p^2 = (n_p m_p + K m) / ((n_p + K) m),

``m_p`` the mean square of the training changes of phase ``p`` (``n_p`` of
them), ``m`` the mean square of all of them and ``K = PRIOR_ROWS``. The
changes are divided by ``s_phase(t)`` before the filter, and the scale of a
change is ``s_phase(t)`` times the filter's scale of the deseasonalized
changes. ``K`` shrinks each ``s_p^2`` towards 1 as if ``K`` more changes of
the overall mean square had been seen at that phase: a mean square of
heavy-tailed returns over a few dozen rows (a training window of 1,000 hours
has about 42 per hour of day) has a sampling error of tens of percent. With
``K = 40`` such an hour's estimate lies about halfway between its data and
1; ``K = 10`` scored worse in the scale's cross-validation on windows of
hourly BTC returns.

Phases come from the labels of the series: the number of steps (its
frequency) since 1970-01-01 00:00 of a ``DatetimeIndex`` (in UTC for
time-zone aware ones: a regular series has regular steps in UTC), or the
integer label divided by the step of an integer index (positions, for a
plain array), modulo ``P``. For hourly data with ``P = 24`` this is the
hour of day (UTC). Labels, not positions within a window, fix the phase, so
that forecasts from any window of the series (a rolling backtest,
``predict(last_window=...)``) read the same phase for the same time.
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np
import pandas as pd

from .scale_models import cv_scale

__all__ = [
    "PRIOR_ROWS",
    "auto_period",
    "check_periodic",
    "cv_ewma",
    "deseasonalized",
    "fit_periodic_factor",
    "label_ticks",
    "phases_before",
    "phases_of",
]

#: Pseudo-rows of the overall mean square added to each phase (module
#: docstring).
PRIOR_ROWS = 40
#: ``periodic="auto"``: the period of a series by its step.
AUTO_PERIODS = {pd.Timedelta(hours=1): 24, pd.Timedelta(days=1): 7}


def check_periodic(periodic, volatility="ewma") -> None:
    """``periodic`` is ``"auto"``, None or an integer >= 2, else a ValueError.

    An integer needs ``volatility="ewma"`` (the factor divides its changes).
    """
    if periodic is None or (isinstance(periodic, str) and periodic == "auto"):
        return
    if (
        isinstance(periodic, bool)
        or not isinstance(periodic, numbers.Integral)
        or periodic < 2
    ):
        raise ValueError(
            f"periodic must be 'auto', None or an integer >= 2, got {periodic!r}"
        )
    if volatility != "ewma":
        raise ValueError(
            f"periodic={periodic!r} needs volatility='ewma', got "
            f"volatility={volatility!r}"
        )


def _fixed_step(freq):
    """The frequency as a ``Timedelta``, or None (calendar frequencies)."""
    try:
        return pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (TypeError, ValueError):
        return None


def auto_period(index_type, freq) -> int | None:
    """The period ``"auto"`` uses: 24 for hourly, 7 for daily timestamps."""
    if index_type is not pd.DatetimeIndex or freq is None:
        return None
    return AUTO_PERIODS.get(_fixed_step(freq))


def label_ticks(label, freq, step: int = 1) -> int:
    """Steps from the origin of the labels to ``label`` (module docstring).

    Parameters
    ----------
    label : pandas.Timestamp or int
    freq : pandas offset or None
        The frequency of a ``DatetimeIndex`` (a fixed one: hours, days, ...).
    step : int, default=1
        The step of an integer index.
    """
    if isinstance(label, pd.Timestamp):
        delta = _fixed_step(freq)
        if delta is None:
            raise ValueError(
                "a periodic scale needs timestamps of a fixed frequency (hours, "
                f"days, ...), got freq={freq!r}"
            )
        if label.tzinfo is not None:  # UTC: regular steps, whatever the DST
            label = label.tz_convert("UTC").tz_localize(None)
        return int((label - pd.Timestamp(0)) // delta)
    if isinstance(label, (numbers.Integral, np.integer)) and not isinstance(
        label, bool
    ):
        return int(label) // int(step)
    raise ValueError(
        "a periodic scale needs the labels of the series (pass last_window as a "
        f"pandas Series with its index), got the label {label!r}"
    )


def phases_before(last_ticks: int, n: int, period: int) -> np.ndarray:
    """Phases of ``n`` consecutive steps ending at ``last_ticks``, and the next.

    Returns an int array of ``n + 1`` entries: entry ``i < n`` is the phase of
    the step ``last_ticks - (n - 1 - i)``, entry ``n`` that of the step after.
    """
    return np.mod(last_ticks - (n - 1) + np.arange(n + 1), period)


def phases_of(last, n: int, period, freq, step: int = 1):
    """:func:`phases_before` the label ``last``; None without a ``period``."""
    if not period:
        return None
    return phases_before(label_ticks(last, freq, step), n, period)


def fit_periodic_factor(z, phases, rows, period: int) -> np.ndarray:
    """``s_p`` for ``p = 0..period - 1`` from the changes ``z[rows]``.

    ``phases[t]`` is the phase of ``z[t]``. Shrunk towards 1 by
    ``PRIOR_ROWS`` (module docstring); a phase without rows gets 1.

    Examples
    --------
    >>> z = np.array([1.0, 3.0, 1.0, 3.0])
    >>> fit_periodic_factor(z, np.array([0, 1, 0, 1]), np.arange(4), 2).round(3)
    array([0.981, 1.019])
    """
    z2 = np.asarray(z, dtype=np.float64)[rows] ** 2
    p = np.asarray(phases)[rows]
    m = float(np.mean(z2))
    if not m > 0:
        raise ValueError("the changes of the training window are all zero")
    count = np.bincount(p, minlength=period)
    total = np.bincount(p, weights=z2, minlength=period)
    return np.sqrt((total + PRIOR_ROWS * m) / ((count + PRIOR_ROWS) * m))


def deseasonalized(z, factor, phases) -> np.ndarray:
    """``z_t / s_phase(t)`` (``z`` itself when ``factor`` is None)."""
    return z if factor is None else z / factor[phases[:-1]]


def cv_ewma(z, rows, taus, phases, grids, scales, power=2):
    """Choose the period, decay and long-run weight of an EWMA scale.

    Parameters
    ----------
    z, rows, taus
        As for :func:`~tsmirrors.forecasting.scale_models.cv_scale`.
    phases : ndarray or None
        Phases of ``z`` and of the next change under the candidate period.
    grids : dict
        Candidates of ``"periodic"`` (0: no factor), ``"decay"`` and
        ``"long_run"``, in that order.
    scales : callable
        ``scales(z, phases, decay=, long_run=, long_run_var=, factor=)``:
        the scale under a setting (``ScaledQuantileAR._scales``).
    power : {1, 2}, default=2
        The power of ``|z|`` the EWMA averages: the long-run level of a
        candidate is the mean of ``|z|^power``.

    Returns
    -------
    (dict or None, tuple)
        The ``cv_scale`` results (None when every grid has one candidate;
        ``param`` names the searched settings, ``"periodic"`` only when it
        has two candidates) and the chosen ``(period, decay, long_run)``.
        A candidate's factor and long-run level are estimated on the rows
        before the first validation block only.
    """
    periods = tuple(grids["periodic"])
    names = [k for k, v in grids.items() if len(v) > 1]
    if not names:
        return None, tuple(v[0] for v in grids.values())
    names = ["periodic"] * ("periodic" in names) + ["decay", "long_run"]
    factors = {}

    def full(setting):
        return dict(zip(names, setting)).get("periodic", periods[0]), *setting[-2:]

    def scales_of(setting, fit_rows):
        p, d, w = full(setting)
        if p not in factors:  # one estimate per period (the folds share fit_rows)
            factors[p] = fit_periodic_factor(z, phases, fit_rows, p) if p else None
        v = np.mean(np.abs(deseasonalized(z, factors[p], phases)[fit_rows]) ** power)
        return scales(z, phases, decay=d, long_run=w, long_run_var=v,
                      factor=factors[p])

    grid = list(itertools.product(*(grids[k] for k in names)))
    results = cv_scale(z, rows, taus, grid, scales_of) | {"param": tuple(names)}
    return results, full(results["best"])
