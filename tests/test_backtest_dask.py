"""Backtesting on dask.distributed: a real LocalCluster and a user's Client."""

from __future__ import annotations

import logging

import distributed
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from tsmirrors.backtesting import backtest
from tsmirrors.data import make_planted
from tsmirrors.forecasting import AR1Forecaster, ConvexAR


class FailsLate(BaseEstimator):
    """Fails to fit once the training data reaches ``limit`` values."""

    def __init__(self, limit=40):
        self.limit = limit

    def fit(self, y):
        if len(y) >= self.limit:
            raise ValueError(f"cannot fit {len(y)} values")
        self.last_ = float(y.iloc[-1])
        return self

    def predict(self, steps=1, last_window=None):
        return pd.Series(np.full(steps, float(last_window[-1])))


@pytest.fixture(scope="module")
def series():
    return make_planted(89, random_state=5).series + 10.0  # 90 hourly values


def test_local_cluster_equals_the_serial_run(series):
    f = ConvexAR(beta=1e-2, n_features=20, sampling="uniform", random_state=0)
    kw = {"steps": 2, "refit": 3, "window": "rolling", "progress": False}
    serial = backtest(f, series, 40, **kw)
    scores, pred = backtest(f, series, 40, backend="dask", n_jobs=2, **kw)
    pd.testing.assert_frame_equal(scores, serial[0])
    pd.testing.assert_frame_equal(pred, serial[1])
    with pytest.raises(ValueError, match="No clients found"):
        distributed.default_client()  # the call closed the cluster it started


def test_user_client_is_used_and_left_open(series):
    f = AR1Forecaster(target="difference", quantiles=(0.05, 0.5, 0.95))
    kw = {"steps": 3, "refit": 2, "progress": False}
    serial = backtest(f, series, 30, **kw)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False,
        dashboard_address=None, silence_logs=logging.ERROR,
    ) as cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as stream:
            scores, pred = backtest(f, series, 30, backend="dask", client=client,
                                    **kw)
        assert len(stream.data) == 10  # 20 folds, one fit every 2 folds
        pd.testing.assert_frame_equal(scores, serial[0])
        pd.testing.assert_frame_equal(pred, serial[1])
        assert client.status == "running"
        assert client.submit(np.add, 1, 2).result() == 3
        # an error inside a task is raised by backtest, the client stays open
        with pytest.raises(ValueError, match=r"^cannot fit \d+ values$"):
            backtest(FailsLate(), series, 30, refit=5, backend="dask",
                     client=client, progress=False)
        assert client.status == "running"
