"""Shared pieces of the experiments: data, scalings, baselines, convex fits.

The SGD trials (:mod:`._sgd`) and the outputs (:mod:`._output`) are
re-exported from here.

Scaling conventions
-------------------
Section 4 writes the training problem as (4.3),

    (1/T) sum_t L(f(x_t) - x_{t+1}) + (beta / 2) ||theta_w||^2,

with ``L(r) = r^2`` (autoregression) or the pinball loss ``L_tau`` (quantile
regression). The estimators of :mod:`tsmirrors.models` use the sum
convention ``1/2 sum (f - y)^2 + (beta_sum / 2) ||theta_w||^2`` (squared) and
``sum L_tau + (beta_sum / 2) ||theta_w||^2`` (pinball). Multiplying (4.3) by
``T / 2`` (squared) or ``T`` (pinball) gives the sum convention with

* squared loss: ``beta_sum = T beta / 2`` and ``(4.3) = 2 objective_sum / T``;
* pinball loss: ``beta_sum = T beta`` and ``(4.3) = objective_sum / T``.

Every objective reported by the experiments is in the (4.3) scaling and every
``beta`` and learning rate is the one of (4.3). :class:`SGDNetRegressor` steps
on ``objective_sum / T``, which is (4.3) divided by 2 for the squared loss, so
a learning rate ``lr`` on (4.3) is ``2 lr`` there (``lr`` for the pinball
loss). Test losses are ``(1/T') sum L`` on the test pairs, without penalty.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_OUT",
    "Dataset",
    "ExperimentResult",
    "ar1_baseline",
    "default_data_path",
    "fit_convex",
    "load_hourly_close",
    "lr_factor",
    "markdown_table",
    "mean_loss",
    "paper_objective",
    "planted_dataset",
    "price_windows",
    "run_parallel",
    "sgd_trial",
    "simulate_planted",
    "sum_beta",
]

#: Default output directory (the project's git-ignored output folder).
DEFAULT_OUT = "tsmirrors-output/experiments"

_DATA_ENV = "TSMIRRORS_BTC_HOURLY"
_DATA_RELATIVE = Path("shared") / "data" / "btc" / "BTCUSD_gemini_1h_2017.csv"


# ---------------------------------------------------------------- results
@dataclass
class ExperimentResult:
    """What an experiment returns.

    Attributes
    ----------
    name : str
        Short name, also the stem of the markdown file.
    tables : dict of str to pandas.DataFrame
        Every table the experiment computed (also written as CSV).
    files : list of pathlib.Path
        Files written (PNG, CSV, markdown).
    wall_time_s : float
        Wall-clock time of the whole experiment.
    settings : dict
        The sizes and hyperparameters that were used.
    """

    name: str
    tables: dict[str, pd.DataFrame]
    files: list[Path] = field(default_factory=list)
    wall_time_s: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------- data
@dataclass(frozen=True)
class Dataset:
    """One autoregression problem: training pairs and test pairs.

    Attributes
    ----------
    name : str
    x_train, y_train : ndarray of shape (T,)
        Inputs ``x_t`` and targets ``x_{t+1}`` of the training part.
    x_test, y_test : ndarray of shape (T_test,)
        The same for the test part.
    series_train : ndarray of shape (T + 1,)
        ``x_1, ..., x_{T+1}``, for the AR(1) fit.
    index_test : pandas.Index or None
        Time stamps of the test targets.
    mean, std : float
        Standardization applied to the raw values (0 and 1 when none).
    description : str
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    series_train: np.ndarray
    index_test: pd.Index | None = None
    mean: float = 0.0
    std: float = 1.0
    description: str = ""

    @property
    def T(self) -> int:
        """Number of training pairs."""
        return int(self.y_train.size)

    @property
    def in_range(self) -> np.ndarray:
        """Mask of test pairs whose input lies in the range of training inputs."""
        lo, hi = self.x_train.min(), self.x_train.max()
        return (self.x_test >= lo) & (self.x_test <= hi)

    @property
    def outside_fraction(self) -> float:
        """Fraction of test inputs outside the range of the training inputs."""
        return float(1.0 - np.mean(self.in_range))

    def test_losses(self, pred, loss: str = "squared", tau: float = 0.5):
        """Test loss on all test pairs and on those inside the training range."""
        mask = self.in_range
        pred = np.asarray(pred, dtype=float)
        inside = (mean_loss(pred[mask], self.y_test[mask], loss, tau)
                  if mask.any() else np.nan)
        return mean_loss(pred, self.y_test, loss, tau), inside


def default_data_path() -> Path:
    """Where the hourly 2017 BTC file is looked for.

    ``$TSMIRRORS_BTC_HOURLY`` when set, else ``../shared/data/btc/`` next to
    the repository holding this package.
    """
    env = os.environ.get(_DATA_ENV)
    if env:
        return Path(env)
    root = Path(__file__).resolve().parents[2]
    return root.parent / _DATA_RELATIVE


def load_hourly_close(path: str | os.PathLike | None = None) -> pd.Series:
    """Hourly closes of 2017 as a float Series on a UTC time index.

    Parameters
    ----------
    path : path-like or None
        The CSV file; None uses :func:`default_data_path`.

    Returns
    -------
    pandas.Series
    """
    from ..data import load_prices

    path = default_data_path() if path is None else Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"price file {path} not found; pass its path or set ${_DATA_ENV}"
        )
    close = load_prices(path)["close"].dropna()
    return close.astype(np.float64)


def price_windows(
    close: pd.Series, T: int, n_windows: int, *, standardize: bool = True
) -> list[Dataset]:
    """Non-overlapping windows of ``2T + 1`` consecutive prices.

    Window ``k`` holds the values ``x_1, ..., x_{2T+1}`` starting at position
    ``k (2T + 1)``; its first ``T`` pairs ``(x_t, x_{t+1})`` train and the next
    ``T`` pairs test. Values are standardized with the mean and standard
    deviation of the training part ``x_1, ..., x_{T+1}``.

    Parameters
    ----------
    close : pandas.Series
    T : int
    n_windows : int
    standardize : bool, default=True

    Returns
    -------
    list of Dataset
    """
    values = close.to_numpy(dtype=np.float64)
    length = 2 * T + 1
    if n_windows * length > values.size:
        raise ValueError(
            f"{n_windows} windows of {length} values need {n_windows * length} "
            f"prices, the series has {values.size}"
        )
    out = []
    for k in range(n_windows):
        start = k * length
        w = values[start : start + length]
        idx = close.index[start : start + length]
        train = w[: T + 1]
        mean, std = (float(train.mean()), float(train.std())) if standardize else (
            0.0, 1.0)
        z = (w - mean) / std
        first = pd.Timestamp(idx[0])
        last = pd.Timestamp(idx[-1])
        out.append(
            Dataset(
                name=f"BTC window {k + 1}",
                x_train=z[:T],
                y_train=z[1 : T + 1],
                x_test=z[T : 2 * T],
                y_test=z[T + 1 :],
                series_train=z[: T + 1],
                index_test=idx[T + 1 :],
                mean=mean,
                std=std,
                description=(
                    f"hourly close {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}"
                    f" (train {train.min():.0f}-{train.max():.0f} USD, test "
                    f"{w[T + 1:].min():.0f}-{w[T + 1:].max():.0f} USD)"
                ),
            )
        )
    return out


def simulate_planted(network, T: int, sigma2: float, rng) -> np.ndarray:
    """``x_1 ~ N(0, sigma2)``, ``x_t = f(x_{t-1}) + eps_t``: ``T + 1`` values."""
    sigma = float(np.sqrt(sigma2))
    noise = rng.normal(0.0, sigma, size=T + 1)
    x = np.empty(T + 1)
    x[0] = noise[0]
    for t in range(1, T + 1):
        x[t] = network(x[t - 1]) + noise[t]
    return x


def planted_dataset(
    T: int,
    *,
    sigma2: float = 1.0,
    n_neurons: int = 10,
    random_state: int = 0,
    independent_test: bool = False,
) -> tuple[Dataset, Any]:
    """A planted series (4.1)-(4.2) cut into training and test pairs.

    Parameters
    ----------
    T : int
        Training pairs (and test pairs).
    sigma2 : float, default=1.0
    n_neurons : int, default=10
        Planted neurons ``p``.
    random_state : int, default=0
    independent_test : bool, default=False
        False continues the training series for ``T`` more steps (as the
        price windows do); True draws an independent test series from the
        same network, as in Figure 4.4.

    Returns
    -------
    dataset : Dataset
    network : PlantedNetwork
    """
    from ..data import make_planted

    if independent_test:
        planted = make_planted(T, n_neurons, sigma2, "abs", random_state)
        train = planted.values
        test = simulate_planted(
            planted.network, T, sigma2, np.random.default_rng(random_state + 7919)
        )
        x_te, y_te = test[:T], test[1:]
    else:
        planted = make_planted(2 * T, n_neurons, sigma2, "abs", random_state)
        train = planted.values[: T + 1]
        x_te, y_te = planted.values[T : 2 * T], planted.values[T + 1 :]
    ds = Dataset(
        name=f"planted sigma2={sigma2:g}",
        x_train=train[:T],
        y_train=train[1:],
        x_test=x_te,
        y_test=y_te,
        series_train=train,
        description=(
            f"planted 2-layer abs network, p={n_neurons}, sigma^2={sigma2:g}, "
            + ("independent test series" if independent_test else
               "test = the next T steps")
        ),
    )
    return ds, planted.network


# --------------------------------------------------------------- scalings
def sum_beta(beta: float, T: int, loss: str = "squared") -> float:
    """``beta`` of (4.3) in the estimators' sum convention."""
    return T * beta / 2.0 if loss == "squared" else T * beta


def paper_objective(objective_sum: float, T: int, loss: str = "squared") -> float:
    """A sum-convention objective in the (4.3) scaling."""
    return 2.0 * objective_sum / T if loss == "squared" else objective_sum / T


def lr_factor(loss: str = "squared") -> float:
    """SGDNetRegressor's learning rate per unit of learning rate on (4.3)."""
    return 2.0 if loss == "squared" else 1.0


def pinball(residual: np.ndarray, tau: float) -> np.ndarray:
    """``L_tau(r) = 0.5 |r| + (tau - 0.5) r`` with ``r = y - f``."""
    return 0.5 * np.abs(residual) + (tau - 0.5) * residual


def mean_loss(pred, y, loss: str = "squared", tau: float = 0.5) -> float:
    """``(1/n) sum L`` of (4.3): mean squared error or mean pinball loss."""
    r = np.asarray(y, dtype=float) - np.asarray(pred, dtype=float)
    if loss == "squared":
        return float(np.mean(r * r))
    return float(np.mean(pinball(r, tau)))


# -------------------------------------------------------------- baselines
def ar1_baseline(ds: Dataset, loss: str = "squared", tau: float = 0.5) -> dict:
    """AR(1)+bias fitted by conditional least squares (statsmodels AutoReg).

    For the pinball loss the tau-quantile of its Gaussian predictive
    distribution, ``a + b x + sigma z_tau``, is the forecast.

    Returns
    -------
    dict
        ``fit`` (AR1Fit), ``pred_train``, ``pred_test``, ``train_loss``,
        ``test_loss`` and ``test_loss_in_range`` (means, no penalty; the
        last over test pairs whose input is inside the training range).
    """
    from scipy.stats import norm

    from ..models.baselines import ar1_bias_fit

    fit = ar1_bias_fit(ds.series_train)
    shift = 0.0
    if loss != "squared":
        shift = float(np.sqrt(fit.sigma2) * norm.ppf(tau))
    pred_train = fit.intercept + fit.slope * ds.x_train + shift
    pred_test = fit.intercept + fit.slope * ds.x_test + shift
    test, inside = ds.test_losses(pred_test, loss, tau)
    return {
        "fit": fit,
        "pred_train": pred_train,
        "pred_test": pred_test,
        "train_loss": mean_loss(pred_train, ds.y_train, loss, tau),
        "test_loss": test,
        "test_loss_in_range": inside,
    }


#: configurations (depth, loss, full library) already fitted in this process
_WARMED_UP: set[tuple] = set()


def fit_convex(
    ds: Dataset,
    beta: float,
    *,
    loss: str = "squared",
    tau: float = 0.5,
    depth: int = 2,
    n_features: int | None = None,
    random_state: int | None = None,
) -> tuple[Any, dict]:
    """Fit the convex (Lasso) network of (4.3) and time it.

    Parameters
    ----------
    ds : Dataset
    beta : float
        ``beta`` of (4.3).
    loss : {"squared", "quantile"}
    tau : float
    depth : int
        Deep narrow abs depth.
    n_features : int or None
        Sampled features (sequential sampling of Section 4); None is the
        whole library.
    random_state : int or None

    Returns
    -------
    model : ConvexNetRegressor
    info : dict
        ``objective`` (4.3), ``train_loss``, ``test_loss``,
        ``test_loss_in_range``, ``time_s``, ``n_neurons``, ``n_features`` and
        ``pred_test``. ``time_s`` is the solve time without the one-off
        loading of compiled code: the first fit of each configuration in a
        process is preceded by an untimed warm-up fit.
    """
    from sklearn.base import clone

    from ..models.convex import ConvexNetRegressor

    model = ConvexNetRegressor(
        activation="abs",
        depth=depth,
        beta=sum_beta(beta, ds.T, loss),
        loss=loss,
        quantile=tau,
        n_features=n_features,
        sampling="sequential",
        random_state=random_state,
    )
    # The first fit of a configuration in a process also loads the solvers'
    # compiled code from the numba cache (seconds); an untimed warm-up fit
    # keeps that out of the reported solve time.
    key = (depth, loss, n_features is None)
    if key not in _WARMED_UP:
        clone(model).fit(ds.x_train[:, None], ds.y_train)
        _WARMED_UP.add(key)
    start = time.perf_counter()
    model.fit(ds.x_train[:, None], ds.y_train)
    elapsed = time.perf_counter() - start
    pred_train = model.predict(ds.x_train[:, None])
    pred_test = model.predict(ds.x_test[:, None])
    test, inside = ds.test_losses(pred_test, loss, tau)
    return model, {
        "objective": paper_objective(model.objective_, ds.T, loss),
        "train_loss": mean_loss(pred_train, ds.y_train, loss, tau),
        "test_loss": test,
        "test_loss_in_range": inside,
        "time_s": elapsed,
        "n_neurons": int(model.n_neurons_),
        "n_features": int(model.library_.n_features_),
        "pred_test": pred_test,
    }


# The output helpers live in ._output and the SGD trials in ._sgd, which
# imports the scalings above; re-exported here once those are defined.
from ._output import (  # noqa: E402, F401
    _fmt,
    markdown_table,
    new_figure,
    plot_trials,
    save_figure,
    write_tables,
)
from ._sgd import (  # noqa: E402, F401
    _set_torch_threads,
    _sgd_run,
    _sgd_task,
    _two_layer_abs,
    run_parallel,
    sgd_trial,
)
