"""Parallel task runner: what travels to workers, warnings, worker counts."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from tsmirrors.backtesting import backtest
from tsmirrors.backtesting._parallel import _pack, _unpack


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
