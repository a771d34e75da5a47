"""SGD trials of the experiments: 2-layer abs networks trained on (4.3).

:func:`run_parallel` spreads independent trials over workers.

The ``beta`` and learning rate taken here are those of (4.3); see
:mod:`tsmirrors.experiments._common` for the scaling conventions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from .._warnings import quiet
from ._common import lr_factor, mean_loss, paper_objective, sum_beta

__all__ = ["run_parallel", "sgd_trial"]


def _set_torch_threads() -> None:
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def _two_layer_abs(net, x: np.ndarray) -> np.ndarray:
    """Output of a 2-layer deep narrow abs network at 1-D points, in numpy."""
    w = net.weights.detach().numpy()[:, 0]
    b = net.biases.detach().numpy()[:, 0]
    alpha = net.alpha.detach().numpy()
    return np.abs(np.multiply.outer(x, w) + b) @ alpha + float(net.xi.detach())


def _sgd_run(X, y, X_test, y_test, kw, epochs, seed, track_test, loss, tau):
    """One SGD run; returns (model, history rows, initial objective, ok)."""
    import torch
    from sklearn.exceptions import ConvergenceWarning

    from ..models.sgd import SGDNetRegressor

    T = y.size
    gen = torch.Generator()
    gen.manual_seed(int(seed))
    with quiet(ConvergenceWarning):
        if not track_test:
            model = SGDNetRegressor(epochs=epochs, random_state=gen, **kw).fit(X, y)
            hist = model.history_
            rows = {
                "epoch": hist["epoch"].to_numpy(),
                "objective": 2.0 * hist["objective"].to_numpy() / T
                if loss == "squared" else hist["objective"].to_numpy() / T,
                "time_s": hist["time_s"].to_numpy(),
            }
            ok = model.n_iter_ == epochs
            return model, rows, model.initial_objective_, ok
        # One epoch per fit, chained through ``init``: plain SGD keeps no
        # optimizer state and the same generator continues the minibatch
        # order, so this is the same run as a single fit with ``epochs``.
        net, elapsed, initial = None, 0.0, None
        rows = {"epoch": [], "objective": [], "time_s": [], "test_loss": []}
        model = None
        for epoch in range(1, epochs + 1):
            model = SGDNetRegressor(epochs=1, random_state=gen, init=net, **kw)
            model.fit(X, y)
            if initial is None:
                initial = model.initial_objective_
            if model.n_iter_ < 1:
                return model, rows, initial, False
            net = model.net_
            elapsed += float(model.history_["time_s"].iloc[0])
            rows["epoch"].append(epoch)
            rows["objective"].append(paper_objective(model.objective_, T, loss))
            rows["time_s"].append(elapsed)
            rows["test_loss"].append(
                mean_loss(_two_layer_abs(net, X_test[:, 0]), y_test, loss, tau)
            )
        return model, rows, initial, True


def sgd_trial(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    beta: float,
    lr: float,
    seed: int,
    loss: str = "squared",
    tau: float = 0.5,
    n_neurons: int = 200,
    epochs: int = 100,
    batches_per_epoch: int = 10,
    track_test: bool = False,
    max_halvings: int = 6,
) -> dict:
    """Train one 2-layer abs network by minibatch SGD on (4.3).

    The run starts at the learning rate ``lr`` of (4.3). If it diverges (the
    objective becomes non-finite, or ends above its initial value) it is
    restarted from the same initialization with half the learning rate, at
    most ``max_halvings`` times.

    Parameters
    ----------
    x_train, y_train, x_test, y_test : ndarray
    beta, lr : float
        ``beta`` and learning rate of (4.3).
    seed : int
        Initialization and minibatch order.
    loss : {"squared", "quantile"}
    tau : float
    n_neurons : int
    epochs : int
    batches_per_epoch : int
        Minibatches per epoch (batch size ``ceil(T / batches_per_epoch)``).
    track_test : bool
        Record the test loss after every epoch.
    max_halvings : int

    Returns
    -------
    dict
        ``history`` (DataFrame: epoch, objective, time_s[, test_loss]),
        ``objective`` and ``test_loss`` at the end, ``test_loss_in_range``
        (test pairs whose input is inside the training range), ``train_loss``,
        ``lr`` (of (4.3)) actually used, ``halvings``, ``diverged`` (True
        when every learning rate tried diverged), ``time_s`` (training
        time, objective evaluations excluded) and ``pred_test``.
    """
    _set_torch_threads()
    X = np.asarray(x_train, dtype=np.float64)[:, None]
    y = np.asarray(y_train, dtype=np.float64)
    Xt = np.asarray(x_test, dtype=np.float64)[:, None]
    yt = np.asarray(y_test, dtype=np.float64)
    T = y.size
    batch = int(np.ceil(T / batches_per_epoch))
    base = {
        "architecture": "deep_narrow",
        "activation": "abs",
        "depth": 2,
        "n_neurons": int(n_neurons),
        "beta": sum_beta(beta, T, loss),
        "loss": loss,
        "quantile": tau,
        "optimizer": "sgd",
        "batch_size": batch if batch < T else None,
    }
    current = float(lr)
    for halving in range(max_halvings + 1):
        kw = dict(base, lr=current * lr_factor(loss))
        model, rows, initial, ok = _sgd_run(
            X, y, Xt, yt, kw, epochs, seed, track_test, loss, tau
        )
        final = model.objective_ if ok else np.inf
        if ok and np.isfinite(final) and final <= initial:
            break
        if halving == max_halvings:
            break
        current /= 2.0
    diverged = not (ok and np.isfinite(final) and final <= initial)
    pred_train = model.predict(X)
    pred_test = model.predict(Xt)
    hist = pd.DataFrame(rows)
    inside = (Xt[:, 0] >= X[:, 0].min()) & (Xt[:, 0] <= X[:, 0].max())
    return {
        "history": hist,
        "objective": paper_objective(final, T, loss) if not diverged else np.inf,
        "train_loss": mean_loss(pred_train, y, loss, tau),
        "test_loss": mean_loss(pred_test, yt, loss, tau),
        "test_loss_in_range": (mean_loss(pred_test[inside], yt[inside], loss, tau)
                               if inside.any() else np.nan),
        "lr": current,
        "halvings": halving,
        "diverged": diverged,
        "time_s": float(hist["time_s"].iloc[-1]) if len(hist) else 0.0,
        "pred_test": pred_test,
    }


def _sgd_task(x_train, y_train, x_test, y_test, kwargs):
    return sgd_trial(x_train, y_train, x_test, y_test, **kwargs)


def run_parallel(
    func: Callable, tasks: Sequence[tuple], n_jobs: int | None = 1,
    backend: str = "loky",
) -> list:
    """``[func(*t) for t in tasks]`` through the backtesting joblib/Dask path."""
    from ..backtesting._parallel import run_tasks

    return run_tasks(func, tasks, n_jobs=n_jobs, backend=backend,
                     desc="experiment")
