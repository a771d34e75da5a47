"""Walk-forward backtesting of forecasters: one pure function, no leakage.

:func:`backtest` turns a :class:`~tsmirrors.backtesting.BacktestSplit` into
tasks, one per fit: a task fits a fresh clone of the forecaster on its
training slice and issues the forecasts of every fold until the next refit.
A task cuts the series at its last origin before it reads anything, and
each forecast only receives the observations before its own origin, so
nothing after the origin can reach a fit, a target transform or a forecast.
"""

from __future__ import annotations

import copy
import inspect
import numbers
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import clone

from .._validation import check_quantile
from ..data import validate_series
from ..forecasting.base import check_quantiles
from ..forecasting.transforms import TARGETS, make_transform
from ._parallel import certified, check_parallel, run_tasks
from ._scoring import _assemble
from .folds import BacktestSplit

__all__ = ["DEFAULT_METRICS", "METRICS", "backtest", "min_train_size"]

#: Every metric :func:`backtest` can report.
METRICS = (
    "mse",
    "rmse",
    "mae",
    "mase",
    "pinball",
    "coverage",
    "width",
    "interval_score",
    "crps",
)
#: Metrics that need quantile forecasts; NaN for point forecasters.
DEFAULT_METRICS = ("mse", "mae", "mase", "pinball", "coverage", "width")


# ------------------------------------------------------------------ checks
def _check_metrics(metrics) -> tuple[str, ...]:
    names = (metrics,) if isinstance(metrics, str) else metrics
    try:
        names = tuple(names)
    except TypeError:
        raise ValueError(
            f"metrics must be a metric name or a sequence of names from {METRICS}, "
            f"got {metrics!r}"
        ) from None
    if not names:
        raise ValueError(f"metrics must name at least one of {METRICS}, got none")
    for name in names:
        if name not in METRICS:
            raise ValueError(f"unknown metric {name!r}; choose from {METRICS}")
    if len(set(names)) != len(names):
        raise ValueError(f"metrics must not repeat a name, got {names}")
    return names


def _check_forecaster(forecaster) -> None:
    if not callable(getattr(forecaster, "fit", None)) or not (
        callable(getattr(forecaster, "predict_point", None))
        or callable(getattr(forecaster, "predict", None))
    ):
        raise TypeError(
            "forecaster must have fit(y) and predict_point(steps, last_window) or "
            f"predict(steps, last_window) methods, got {type(forecaster).__name__}"
        )


def _accepts_exog(method) -> bool:
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):  # no signature to read: let the call decide
        return True
    return any(
        p.name == "exog" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params
    )


def _check_takes_exog(forecaster, quantiles: bool) -> None:
    """Raise a ValueError unless every method a backtest calls takes ``exog``."""
    point = "predict_point" if callable(
        getattr(forecaster, "predict_point", None)) else "predict"
    names = ["fit", point] + (["predict_quantiles"] if quantiles else [])
    refused = [n for n in names if not _accepts_exog(getattr(forecaster, n))]
    if refused:
        raise ValueError(
            f"{type(forecaster).__name__} does not take exog (no exog parameter "
            f"in {', '.join(refused)}); leave exog out for it"
        )


def _lags_and_target(forecaster) -> tuple[int, str | None]:
    lags = getattr(forecaster, "lags", 1)
    if isinstance(lags, (list, tuple, np.ndarray, str)) and callable(
        getattr(forecaster, "_n_lags", None)
    ):
        try:  # a list of lags (or "auto"): the largest one
            lags = forecaster._n_lags()
        except ValueError:
            lags = 1
    if isinstance(lags, bool) or not isinstance(lags, numbers.Integral) or lags < 1:
        lags = 1
    target = getattr(forecaster, "target", None)
    if target == "auto":  # its candidates consume at most one observation
        target = "difference"
    return int(lags), target if target in TARGETS else None


def min_train_size(forecaster) -> int:
    """Fewest training observations a forecaster can be fit on.

    ``lags + 2`` values of the transformed series (the smallest series a
    forecaster accepts), plus the observations its target transform
    consumes (one for ``"difference"`` and ``"log_return"``), and at least
    the series that the cross-validation of an ``"auto"`` setting needs.
    ``lags`` and ``target`` are read from the forecaster's parameters (1 and
    ``"level"`` when it has none). A forecaster whose fit needs more (a
    burn-in, one network per horizon) says so with ``_min_fit_size()``.

    Parameters
    ----------
    forecaster : object
        A forecaster, fitted or not.

    Returns
    -------
    int
    """
    return max(_size_requirements(forecaster).values())


def _size_requirements(forecaster) -> dict[str, int]:
    """Each requirement on the training size, by what it is for."""
    lags, _ = _lags_and_target(forecaster)
    own = getattr(forecaster, "_min_fit_size", None)  # what its own fit needs
    return {
        "lags + 2 values after the target transform": _embedding_size(forecaster),
        "the cross-validation folds of its 'auto' settings":
            _cross_validation_size(forecaster, lags),
        "what its fit holds out (burn-in, calibration rows or one network "
        "per horizon)": own() if callable(own) else 0,
    }


def _embedding_size(forecaster) -> int:
    """``lags + 2`` transformed values and what the transform consumes."""
    lags, target = _lags_and_target(forecaster)
    return lags + 2 + (make_transform(target).offset if target is not None else 0)


def _cross_validation_size(forecaster, lags: int) -> int:
    """Fewest observations whose folds hold a setting chosen by cross-validation.

    0 when nothing is "auto". Otherwise the smallest series whose
    rolling-origin folds (``cv`` blocks, ``cv_gap``, at least 10 training
    rows; see :func:`~tsmirrors.forecasting.selection.rolling_folds`) fit,
    for the smallest candidate lags (``lags="auto"`` starts from lag 1).
    """
    params = ("beta", "lags", "target")
    if not any(getattr(forecaster, name, None) == "auto" for name in params):
        return 0
    from ..forecasting.selection import rolling_folds

    first = lags + 1  # rows of the target start after the largest lag
    for n in range(first + 1, 100_000):
        try:
            rolling_folds(n - first, n_folds=getattr(forecaster, "cv", 3),
                          gap=getattr(forecaster, "cv_gap", 0),
                          min_train=max(10, 2 * lags))
        except ValueError:
            continue
        return n
    return first + 1


def _check_initial_size(forecaster, size: int) -> None:
    needs = _size_requirements(forecaster)
    why = max(needs, key=needs.get)  # the requirement that sets the minimum
    minimum = needs[why]
    if size < minimum:
        _, target = _lags_and_target(forecaster)
        given = getattr(forecaster, "lags", 1)  # as the user gave them
        given = given if isinstance(given, (str, numbers.Integral)) else list(given)
        described = f"lags={given!r}" + ("" if target is None else
                                         f", target={forecaster.target!r}")
        raise ValueError(
            f"initial_train_size must be at least {minimum} for "
            f"{type(forecaster).__name__} ({described}): {why}, got {size}"
        )


def _quantile_levels(forecaster) -> np.ndarray | None:
    quantiles = getattr(forecaster, "quantiles", None)
    predict_quantiles = getattr(forecaster, "predict_quantiles", None)
    if quantiles is None or not callable(predict_quantiles):
        return None
    return check_quantiles(quantiles)


def _interval_columns(levels: np.ndarray, coverage: float) -> tuple[int, int]:
    """Positions of the levels ``(1 - coverage) / 2`` and ``(1 + coverage) / 2``."""
    lo, hi = (1.0 - coverage) / 2.0, (1.0 + coverage) / 2.0
    found = [np.flatnonzero(np.isclose(levels, level)) for level in (lo, hi)]
    if found[0].size and found[1].size:
        return int(found[0][0]), int(found[1][0])
    symmetric = [
        round(1.0 - 2.0 * float(tau), 10)
        for tau in levels
        if tau < 0.5 and np.any(np.isclose(levels, 1.0 - tau))
    ]
    hint = f"; it supports coverage in {symmetric}" if symmetric else ""
    raise ValueError(
        f"coverage={coverage:g} needs the quantile levels {lo:g} and {hi:g}, but the "
        f"forecaster has {levels.tolist()}{hint}"
    )


def _default_coverage(levels: np.ndarray | None) -> float:
    """The coverage of the outermost symmetric pair ``(tau, 1 - tau)``.

    0.9 for point forecasters (no interval is scored).
    """
    if levels is None:
        return 0.9
    pairs = [
        1.0 - 2.0 * float(tau)
        for tau in levels
        if tau < 0.5 and np.any(np.isclose(levels, 1.0 - tau))
    ]
    if not pairs:
        raise ValueError(
            f"the forecaster's quantile levels {levels.tolist()} have no symmetric "
            "pair (tau, 1 - tau) to score as an interval; give it one"
        )
    return round(max(pairs), 10)


def _window_scales(values: np.ndarray, layout: dict[str, np.ndarray]) -> np.ndarray:
    """In-sample MAE of the one-step naive forecast on each fold's training window.

    The window of the fit that issued the fold's forecasts:
    ``mean |y[t] - y[t - 1]|`` over ``train_start < t < train_stop``.
    """
    steps = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(values)))])
    start, stop = layout["train_start"], layout["train_stop"]
    scales = (steps[stop - 1] - steps[start]) / (stop - start - 1)
    flat = np.flatnonzero(scales == 0)
    if flat.size:
        k = int(flat[0])
        raise ValueError(
            f"mase is undefined: the training window y[{start[k]}:{stop[k]}] of "
            f"fold {k} is constant, so its one-step naive MAE is 0"
        )
    return scales


def _check_horizon(forecaster, horizon: int) -> None:
    max_horizon = getattr(forecaster, "max_horizon", None)
    if (
        isinstance(max_horizon, numbers.Integral)
        and not isinstance(max_horizon, bool)
        and max_horizon < horizon
    ):
        raise ValueError(
            f"the forecaster forecasts at most max_horizon={max_horizon} steps, but "
            f"gap + steps = {horizon}; set its max_horizon to at least {horizon}"
        )


# ------------------------------------------------------------------- tasks
class _Task(NamedTuple):
    """One fit and the forecasts it issues until the next refit.

    Positions only: the series itself is shared by all tasks (sent once per
    chunk of tasks), and :func:`_fit_predict` cuts it at the last origin
    before reading anything.
    """

    train: slice  # positions of the training slice
    start: int  # first position of the history the forecasts read
    origins: tuple[int, ...]
    lengths: tuple[int, ...]  # forecasts kept per fold
    gap: int
    window_size: int  # length of each last_window
    quantiles: bool


def _make_tasks(layout: dict[str, np.ndarray], cv: BacktestSplit, quantiles: bool
                ) -> list[_Task]:
    """One task per refit, covering the folds up to the next refit."""
    size = cv.initial_train_size
    lengths = layout["test_stop"] - layout["test_start"]
    firsts = np.flatnonzero(layout["refit"])
    bounds = np.append(firsts, layout["origin"].size)
    return [
        _Task(
            train=slice(int(layout["train_start"][a]), int(layout["train_stop"][a])),
            start=int(layout["origin"][a]) - size,
            origins=tuple(layout["origin"][a:b].tolist()),
            lengths=tuple(lengths[a:b].tolist()),
            gap=cv.gap,
            window_size=size,
            quantiles=quantiles,
        )
        for a, b in zip(bounds[:-1], bounds[1:])
    ]


def _forecast_values(out, horizon: int, method: str) -> np.ndarray:
    if isinstance(out, pd.DataFrame):
        raise TypeError(
            f"forecaster.{method} returned a DataFrame; point forecasts must be a "
            "Series (quantile forecasters provide predict_point)"
        )
    arr = np.asarray(out, dtype=np.float64)
    if arr.shape != (horizon,):
        raise ValueError(
            f"forecaster.{method}(steps={horizon}) returned shape {arr.shape}, "
            f"expected ({horizon},)"
        )
    return arr


def _fit_predict(series: pd.Series, forecaster, task: _Task, exog=None) -> tuple:
    """Fit a clone on the task's training slice and forecast its folds.

    Returns ``(point, quantiles, levels)`` for the task's folds, one after
    the other: ``point`` of shape ``(sum(task.lengths),)``, ``quantiles`` of
    shape ``(sum(task.lengths), n_levels)`` (None for point forecasts) and the
    ``levels`` the forecaster returned (None for point forecasts).
    """
    # Cut first: nothing from the task's last origin on is ever read.
    seen = series.iloc[: task.origins[-1]]
    history = seen.to_numpy()[task.start :]
    # ``forecaster`` is the unfitted clone made once by :func:`backtest`; a
    # deep copy of it is that clone again, without re-reading its signature
    model = copy.deepcopy(forecaster)
    if exog is None:
        model.fit(seen.iloc[task.train])
    else:  # future-known inputs: the training rows, then each forecast's rows
        model.fit(seen.iloc[task.train], exog=exog.iloc[task.train])
    method = "predict_point" if callable(getattr(model, "predict_point", None)) else (
        "predict"
    )
    predict = getattr(model, method)
    out = []
    batch = getattr(model, "predict_one_step", None)
    if (
        callable(batch)
        and exog is None
        and not task.quantiles
        and task.gap == 0
        and all(length == 1 for length in task.lengths)
    ):
        # every fold is a one-step forecast: one vectorized call for the task
        stops = np.asarray(task.origins) - task.start
        width = int(stops.min() - max(0, stops.min() - task.window_size))
        rows = np.stack([history[stop - width : stop] for stop in stops])
        values = np.asarray(batch(rows), dtype=np.float64).reshape(-1)
        if values.shape != (len(stops),):
            raise ValueError(
                f"forecaster.predict_one_step returned {values.size} values for "
                f"{len(stops)} origins"
            )
        return values, None, None
    for origin, length in zip(task.origins, task.lengths):
        first = max(origin - task.window_size, task.start) - task.start
        window = history[first : origin - task.start]
        if getattr(model, "_timed_windows", False):  # the forecast reads labels
            window = seen.iloc[task.start + first : origin]
        horizon = task.gap + length
        kw = {} if exog is None else {"exog": exog.iloc[origin : origin + horizon]}
        point = _forecast_values(
            predict(horizon, last_window=window, **kw), horizon, method
        )[task.gap :]
        q = levels = None
        if task.quantiles:
            frame = model.predict_quantiles(horizon, last_window=window, **kw)
            q = np.asarray(frame, dtype=np.float64)
            if q.ndim != 2 or q.shape[0] != horizon:
                raise ValueError(
                    f"forecaster.predict_quantiles(steps={horizon}) returned shape "
                    f"{q.shape}, expected ({horizon}, n_quantiles)"
                )
            q = q[task.gap :]
            levels = np.asarray(frame.columns, dtype=np.float64)
        out.append((point, q, levels))
    point = np.concatenate([p for p, _, _ in out])
    if not task.quantiles:
        return point, None, None
    return point, np.concatenate([q for _, q, _ in out]), out[0][2]


# ----------------------------------------------------------------- scoring
def backtest(
    forecaster,
    y,
    initial_train_size: int,
    steps: int = 1,
    refit: bool | int = True,
    window: str = "expanding",
    gap: int = 0,
    metrics: str | Sequence[str] = DEFAULT_METRICS,
    coverage: float | None = None,
    n_jobs: int | None = 1,
    backend: str = "loky",
    progress: bool = True,
    client: Any = None,
    exog=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Walk-forward backtest of a forecaster, without leakage, in parallel.

    Fold ``k`` has the origin ``t = initial_train_size + k * steps``: the
    forecaster has seen ``y[:t]`` and forecasts ``y[t + gap : t + gap +
    steps]`` (the last fold may be shorter). At a refit fold a fresh clone of
    the forecaster is fit on ``y[:t]`` (``window="expanding"``) or on
    ``y[t - initial_train_size : t]`` (``"rolling"``); between refits the
    latest fit forecasts from the newest observations through
    ``last_window`` (the ``initial_train_size`` values before the origin),
    without refitting. Every fit, target transform included, and every
    forecast issued at origin ``t`` sees only ``y[:t]``.

    Parameters
    ----------
    forecaster : forecaster
        Follows the tsmirrors forecaster contract: ``fit(y)`` and
        ``predict_point(steps, last_window=None)`` (or ``predict``) returning
        ``steps`` point forecasts. When it has ``quantiles`` (not None) and
        ``predict_quantiles(steps, last_window=None)``, its quantile
        forecasts are backtested too; when its ``online_calibrator()``
        returns a calibrator (``calibration="adaptive"``), the quantiles are
        recalibrated online from past outcomes only (see
        :class:`~tsmirrors.forecasting.calibration.AdaptiveConformal`), and
        a point forecast that is the forecaster's level nearest 0.5 becomes
        that recalibrated column, as with ``calibration="conformal"``.
        It is never modified: it is cloned
        once (``sklearn.base.clone``) and every fit works on a deep copy of
        that clone.
    y : pandas.Series or array-like of shape (n,)
        The series, checked by :func:`tsmirrors.data.validate_series`
        (timestamps with a frequency, or positions).
    initial_train_size : int
        Observations in the first training window (and in every rolling
        window): at least :func:`min_train_size` of the forecaster
        (``lags + 2`` after the target transform), and
        ``initial_train_size + gap < n``.
    steps : int, default=1
        Forecasts per fold, ``>= 1``.
    refit : bool or int, default=True
        ``True``: fit at every fold; ``False``: only at the first; an integer
        ``k``: at every ``k``-th fold.
    window : {"expanding", "rolling"}, default="expanding"
    gap : int, default=0
        Observations skipped between the origin and the first forecast; fold
        forecasts are horizons ``gap + 1 .. gap + steps``.
    metrics : str or sequence of str, default=("mse", "mae", "mase", \
"pinball", "coverage", "width")
        Any of :data:`METRICS`: ``"mse"``, ``"rmse"``, ``"mae"``, ``"mase"``
        (the mean of ``|y - yhat| / s``, where ``s`` is the in-sample MAE of
        the one-step naive forecast on the training window of the fit that
        issued the forecast, so every refit of a rolling or expanding window
        brings its own scale), ``"pinball"`` (averaged over the
        forecaster's quantile levels), ``"coverage"`` and ``"width"`` of the
        central interval, ``"interval_score"`` (Winkler) and ``"crps"``
        (from the quantiles). Quantile metrics are NaN for point forecasters.
    coverage : float or None, default=None
        Nominal coverage of the central interval, whose bounds are the
        quantile levels ``(1 - coverage) / 2`` and ``(1 + coverage) / 2``;
        a quantile forecaster must forecast both. None takes the coverage of
        the forecaster's outermost symmetric pair of levels (0.9 for
        ``(0.05, 0.5, 0.95)``).
    n_jobs : int or None, default=1
        Parallel workers (``-1``: all cores). Tasks are the fits, each with
        its forecasts until the next refit, so ``refit=False`` is one task.
    backend : str, default="loky"
        Any joblib backend (``"loky"``, ``"threading"``,
        ``"multiprocessing"``, ``"sequential"``, ...), or ``"dask"`` to run
        the tasks on a dask.distributed cluster: ``client`` when given,
        otherwise a ``LocalCluster(processes=True, threads_per_worker=1)``
        with ``n_jobs`` workers (2 when ``n_jobs`` is None), started and
        closed by this call. Every backend gives the serial results exactly,
        in the same order; BLAS runs one thread per task.
    progress : bool, default=True
        Show a tqdm progress bar over the fits (needs the ``progress``
        extra; without tqdm a warning is issued and the run goes on).
        ``False`` prints nothing.
    client : distributed.Client or None, default=None
        A dask client to run on, with ``backend="dask"`` only. It is left
        open.
    exog : pandas.DataFrame or array-like of shape (n, k), default=None
        Future-known inputs (calendar features), one row per value of ``y``
        (matched by timestamp when both have them). A fit receives the rows
        of its training slice; a forecast from origin ``t`` receives only the
        rows of its forecast times ``t .. t + gap + steps - 1``.

    Returns
    -------
    scores : pandas.DataFrame
        One row per fold (index ``0 .. n_folds - 1``, named ``"fold"``) and a
        last row ``"overall"`` computed over all predictions (not an average
        of folds), one column per requested metric.
    predictions : pandas.DataFrame
        One row per forecast, ordered by fold and step, with columns
        ``fold``, the number of the forecast origin (as in skforecast: a fold
        is one origin, not one fit); ``refit``, the number of the fit that
        issued the forecast (0 for every fold with ``refit=False``);
        ``origin``, the label of the last observation available
        when the forecast was issued (``y.index[t - 1]``); ``timestamp``, the
        label of the forecast target; ``step``, ``1 .. steps`` within the
        fold (horizon ``gap + step``); ``y_true``; ``y_pred``, the point
        forecast (the recalibrated median column when the forecaster's point
        forecast is its median and it recalibrates online). Quantile
        forecasters add one column per level (``"q_0.05"``, ...; all digits
        when six do not tell two levels apart) and the central interval
        ``lower`` and ``upper``. A last column ``certified`` is False for the forecasts
        of a fit that raised a ``ConvergenceWarning`` (its solver did not
        certify the optimum).

    Raises
    ------
    ValueError
        With the reason: a bad series (see
        :func:`~tsmirrors.data.validate_series`); ``steps < 1``;
        ``initial_train_size`` below :func:`min_train_size` or leaving
        nothing to forecast; ``gap < 0``; an unknown ``window``, ``refit``,
        ``backend`` or metric; an invalid ``n_jobs``; a ``coverage`` whose
        interval the forecaster does not forecast; ``steps + gap`` beyond a
        forecaster's ``max_horizon``; NaN or inf forecasts.
    TypeError
        If ``forecaster`` lacks ``fit`` or a prediction method.

    Warns
    -----
    Warning
        The warnings of the fits and forecasts, whatever the backend: the
        tasks record them where they run and they are issued again in the
        caller, once per distinct message, with the number of fits that
        raised it.

    See Also
    --------
    BacktestSplit : the fold description used here.

    Notes
    -----
    With ``backend="dask"`` and no ``client``, call :func:`backtest` under
    ``if __name__ == "__main__":`` in scripts: the cluster starts worker
    processes that import the main module.

    Examples
    --------
    >>> import numpy as np
    >>> from tsmirrors.backtesting import backtest
    >>> from tsmirrors.forecasting import NaiveForecaster
    >>> y = np.array([1.0, 2.0, 4.0, 3.0, 5.0, 6.0, 5.0])
    >>> scores, predictions = backtest(
    ...     NaiveForecaster(), y, initial_train_size=3, steps=2, progress=False
    ... )
    >>> predictions[["fold", "origin", "timestamp", "step", "y_true", "y_pred"]]
       fold  origin  timestamp  step  y_true  y_pred
    0     0       2          3     1     3.0     4.0
    1     0       2          4     2     5.0     4.0
    2     1       4          5     1     6.0     5.0
    3     1       4          6     2     5.0     5.0
    >>> scores["mse"].tolist()  # folds 0 and 1, then overall
    [1.0, 0.5, 0.75]
    """
    cv = BacktestSplit(
        initial_train_size, steps=steps, refit=refit, window=window, gap=gap
    )
    names = _check_metrics(metrics)
    if coverage is not None:
        coverage = check_quantile(coverage, "coverage")
    check_parallel(n_jobs, backend, client)
    if not isinstance(progress, (bool, np.bool_)):
        raise ValueError(f"progress must be True or False, got {progress!r}")
    _check_forecaster(forecaster)
    _check_initial_size(forecaster, cv.initial_train_size)
    series = validate_series(y, min_length=2)
    layout = cv._layout(series.size)
    _check_horizon(forecaster, cv.gap + cv.steps)
    levels = _quantile_levels(forecaster)
    if exog is not None:
        _check_takes_exog(forecaster, quantiles=levels is not None)
    if coverage is None:
        coverage = _default_coverage(levels)
    interval = None if levels is None else _interval_columns(levels, coverage)
    values = series.to_numpy()
    scales = _window_scales(values, layout) if "mase" in names else None

    tasks = _make_tasks(layout, cv, quantiles=levels is not None)
    template = clone(forecaster, safe=False)
    extra = () if exog is None else (_aligned_exog(exog, y, series),)
    results, records = run_tasks(
        _fit_predict,
        [(template, task, *extra) for task in tasks],
        shared=series,
        n_jobs=n_jobs,
        backend=backend,
        client=client,
        progress=bool(progress),
        desc=f"backtest {type(forecaster).__name__}",
        return_warnings=True,
    )
    # forecasters with calibration="adaptive" recalibrate online (past outcomes)
    calibrator = getattr(forecaster, "online_calibrator", None)
    calibrator = calibrator() if callable(calibrator) and levels is not None else None
    scores, predictions = _assemble(
        series, values, layout, results, names, levels, interval, scales, coverage,
        calibrator,
    )
    rows = [sum(task.lengths) for task in tasks]  # forecasts of each fit
    predictions["certified"] = np.repeat(certified(records), rows)
    return scores, predictions


def _aligned_exog(exog, y, series) -> pd.DataFrame:
    """Future-known inputs, one row per value of the series (by position)."""
    from ..forecasting.exog import check_exog

    values, columns = check_exog(exog, y, series.size)
    return pd.DataFrame(values, columns=columns)

