"""Parallel task runner: what travels to workers, warnings, worker counts."""

from __future__ import annotations

import logging
import pickle
import warnings

import distributed
import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning

import tsmirrors.backtesting._parallel as parallel_module
from tsmirrors.backtesting import backtest
from tsmirrors.backtesting._parallel import _pack, _unpack, effective_workers


class IndexProbe(BaseEstimator):
    """Forecasts 1.0 when its training series kept its index, 0.0 otherwise."""

    def __init__(self, freq="h", tz="UTC", name="close"):
        self.freq = freq
        self.tz = tz
        self.name = name

    def fit(self, y):
        index = y.index
        self.kept_ = float(
            isinstance(index, pd.DatetimeIndex)
            and index.freqstr == self.freq
            and str(index.tz) == str(self.tz)
            and y.name == self.name
        )
        return self

    def predict(self, steps=1, last_window=None):
        return pd.Series(np.full(steps, self.kept_))


def _series(n=40, **kwargs):
    kwargs.setdefault("freq", "h")
    kwargs.setdefault("tz", "UTC")
    index = pd.date_range("2021-03-25", periods=n, **kwargs)
    return pd.Series(np.sin(np.arange(n) / 3.0) + np.arange(n), index=index,
                     name="close")


SERIES = [
    _series(),
    _series(freq="D", tz="Europe/Paris"),  # crosses a DST change
    _series(freq="ME", tz=None),
    pd.Series(np.arange(6.0), index=pd.RangeIndex(3, 15, 2), name=7),
    pd.Series(np.arange(4.0), index=pd.Index([2, 5, 9, 20], name="pos")),
]


@pytest.mark.parametrize("series", SERIES, ids=lambda s: type(s.index).__name__)
def test_series_travel_without_pandas_objects_and_come_back_equal(series):
    # A pickled pandas index is only readable by the pandas version that
    # wrote it (pandas 3 pickles fail on pandas 2 workers), so what reaches
    # a worker names no pandas class at all.
    payload = pickle.dumps(_pack(series))
    assert b"pandas" not in payload
    back = _unpack(pickle.loads(payload))
    pd.testing.assert_series_equal(back, series)
    assert getattr(back.index, "freq", None) == getattr(series.index, "freq", None)


def test_process_workers_never_unpickle_a_pandas_index(monkeypatch):
    def refuse(self):
        raise TypeError("a DatetimeIndex was pickled for a worker")

    y = _series()
    serial = backtest(IndexProbe(), y, 20, refit=4, progress=False)
    assert (serial[1]["y_pred"] == 1.0).all()
    monkeypatch.setattr(pd.DatetimeIndex, "__reduce__", refuse)
    scores, pred = backtest(IndexProbe(), y, 20, refit=4, n_jobs=2, backend="loky",
                            progress=False)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(pred, serial[1])
    pd.testing.assert_frame_equal(scores, serial[0])


# ---------------------------------------------------------------- warnings
class WarnsOnSomeFits(BaseEstimator):
    """Last value; a fit on a multiple of ``every`` values warns, as a solver
    that stops before its certificate does."""

    def __init__(self, every=3):
        self.every = every

    def fit(self, y):
        if len(y) % self.every == 0:
            warnings.warn(f"stopped before the certificate ({self.every})",
                          ConvergenceWarning, stacklevel=1)
        warnings.warn("a note from every fit", UserWarning, stacklevel=1)
        self.last_ = float(np.asarray(y)[-1])
        return self

    def predict(self, steps=1, last_window=None):
        return pd.Series(np.full(steps, float(last_window[-1])))


@pytest.mark.parametrize(("backend", "n_jobs"),
                         [("sequential", 1), ("loky", 2), ("threading", 2)])
def test_task_warnings_reach_the_caller_counted_and_mark_the_fits(backend, n_jobs):
    y = np.arange(30.0) ** 1.1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, pred = backtest(WarnsOnSomeFits(), y, 20, steps=2, refit=True,
                           window="expanding", n_jobs=n_jobs, backend=backend,
                           progress=False)
    # fits on 20, 22, ..., 28 values: 24 warns
    seen = [(w.category, str(w.message)) for w in caught]
    assert seen == [
        (UserWarning, "a note from every fit [raised by 5 of 5 tasks]"),
        (ConvergenceWarning, "stopped before the certificate (3)"),
    ]
    assert caught[1].filename == __file__  # where the fit warned
    origins = pred["origin"].to_numpy()
    np.testing.assert_array_equal(pred["certified"], (origins + 1) % 3 != 0)
    assert warnings.showwarning is not None and not type(
        warnings.showwarning).__name__.startswith("_Route")


def test_repeated_convergence_warnings_are_counted_over_tasks():
    y = np.arange(40.0) ** 1.1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, pred = backtest(WarnsOnSomeFits(every=2), y, 20, steps=2, n_jobs=2,
                           progress=False)
    assert [str(w.message) for w in caught if w.category is ConvergenceWarning] == [
        "stopped before the certificate (2) [raised by 10 of 10 tasks]"
    ]
    assert not pred["certified"].any()


# ----------------------------------------------------------------- workers
def test_effective_workers_never_exceed_tasks_or_cores():
    cores = joblib.cpu_count()
    assert effective_workers(100, 3) == min(3, cores)
    assert effective_workers(100, 1000) == cores
    assert effective_workers(-1, 1000) == cores
    assert effective_workers(-2, 1000) == max(1, cores - 1)
    assert effective_workers(-1000, 10) == 1
    assert effective_workers(None, 10, default=2) == min(2, cores)
    assert effective_workers(1, 0) == 1


class _Started(Exception):
    pass


def test_joblib_and_dask_start_at_most_one_worker_per_task_and_core(monkeypatch):
    started = []

    class Recording(joblib.Parallel):
        def __init__(self, n_jobs=None, backend=None, **kwargs):
            if kwargs.get("return_as") == "generator":
                started.append(n_jobs)
                raise _Started
            super().__init__(n_jobs=n_jobs, backend=backend, **kwargs)

    def local_cluster(n_workers, **kwargs):
        started.append(n_workers)
        raise _Started

    monkeypatch.setattr(parallel_module.joblib, "Parallel", Recording)
    monkeypatch.setattr(distributed, "LocalCluster", local_cluster)
    y = np.arange(30.0) ** 1.1
    for backend in ("loky", "dask"):
        with pytest.raises(_Started):  # 2 tasks: a fit on 20 values, one on 25
            backtest(WarnsOnSomeFits(every=1000), y, 20, steps=5, n_jobs=100,
                     backend=backend, progress=False)
    assert started == [min(2, joblib.cpu_count())] * 2


def test_threaded_dask_workers_route_warnings_then_restore_the_filters():
    y = np.arange(30.0) ** 1.1
    before = (warnings.showwarning, list(warnings.filters))
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False,
        dashboard_address=None, silence_logs=logging.ERROR,
    ) as cluster, distributed.Client(cluster) as client:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _, pred = backtest(WarnsOnSomeFits(), y, 20, steps=2, backend="dask",
                               client=client, progress=False)
    assert [str(w.message) for w in caught if w.category is ConvergenceWarning] == [
        "stopped before the certificate (3)"
    ]
    np.testing.assert_array_equal(pred["certified"],
                                  (pred["origin"].to_numpy() + 1) % 3 != 0)
    assert (warnings.showwarning, list(warnings.filters)) == before
