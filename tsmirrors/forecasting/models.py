"""Forecasters: convex autoregressive networks (point forecasts).

The quantile version is :class:`~tsmirrors.forecasting.quantile.ConvexQuantileAR`,
the naive and AR(1) baselines are in :mod:`tsmirrors.forecasting.baselines`.

All follow :class:`~tsmirrors.forecasting.base.BaseForecaster`.

Scaling. :class:`ConvexAR` uses the Section 4 objective (4.3),
``(1/T) sum_t L(f(x_t) - x_{t+1}) + (beta/L~) ||theta_w||^{L~}`` with
``L(r) = r^2``, which equals the Lasso ``(1/T) sum (A z + xi - y)^2 +
beta ||z||_1``. In the sum convention of
:class:`~tsmirrors.models.ConvexNetRegressor` (``1/2 sum r^2``) that is
``beta_sum = T beta / 2``; for the pinball loss of
:class:`ConvexQuantileAR`, ``(1/T) sum L_tau + beta ||z||_1`` gives
``beta_sum = T beta``.

Several lags. With ``lags=p > 1`` the network is the additive network
``f(x_{t-1}, ..., x_{t-p}) = xi + sum_k f_k(x_{t-k})`` of 1-D parallel units,
one 1-D library per lag; the Lasso over the concatenated libraries is still
exactly the training problem of that network.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from ..data.embedding import _embed
from ..models.convex import ConvexNetRegressor
from .autofit import lags_in_use, resolve_settings
from .base import BaseForecaster, check_steps
from .direct import (
    _no_neuron,
    check_strategy,
    fit_direct,
    horizons_min_size,
    predict_direct,
)
from .exog import check_exog, future_exog

__all__ = [
    "AR1Forecaster",
    "ConvexAR",
    "ConvexQuantileAR",
    "NaiveForecaster",
    "SGDNetAR",
    "DEFAULT_TARGET",
]

# the baselines and the quantile forecaster live in their own modules
from .baselines import AR1Forecaster, NaiveForecaster  # noqa: E402

#: Default target transform, chosen by a backtest on the shared BTC data
#: (see the README, "Choosing the target transform").
DEFAULT_TARGET = "difference"

#: Targets that model the change of the series: without ``drift`` their
#: network has no output bias, so that with no neuron it forecasts no change.
CHANGE_TARGETS = ("difference", "log_return")

#: memory the dense libraries of one fit may take with ``n_features="auto"``
AUTO_MEMORY_BUDGET = 2**30


def _library_choice(model, n_rows: int) -> tuple[int | None, str]:
    """``(n_features, sampling)`` for a fit on ``n_rows`` rows.

    ``n_features="auto"`` keeps the exact library when its dense matrix fits
    :data:`AUTO_MEMORY_BUDGET` (2-layer networks never build it) and
    otherwise samples ``min(10 * n_rows, what fits)`` features per lag,
    with a warning that says so; it also samples when the exact library has
    more than ``10 * n_rows`` features per lag, which would be slow to
    solve. ``sampling="auto"`` is ``"sequential"`` for deep narrow networks
    and ``"uniform"`` for the symmetrized one (where sequential sampling is
    not defined).
    """
    from ..features import library_size

    sampling = model.sampling
    if sampling == "auto":
        sampling = "uniform" if model.architecture == "symmetrized" else "sequential"
    n_features = model.n_features
    if isinstance(n_features, str):
        if n_features != "auto":
            raise ValueError(
                f"n_features must be an int, None or 'auto', got {n_features!r}"
            )
        n_features = None
        two_layer = model.architecture == "deep_narrow" and model.depth == 2
        if not two_layer:
            lags = model._n_lags()
            size = library_size(
                model.activation, model.depth, model.architecture, n_points=n_rows
            )
            fit = AUTO_MEMORY_BUDGET // (8 * n_rows * lags)
            # at most 10 candidates per row: a Lasso that solves in seconds,
            # with enough candidates per point to place the kinks
            cap = max(1, min(int(fit), 10 * n_rows))
            if size > cap:
                n_features = cap
                why = (
                    f"over the memory budget of {AUTO_MEMORY_BUDGET / 2**30:g} GiB"
                    if size > fit
                    else "more than 10 per row"
                )
                warnings.warn(
                    f"{type(model).__name__}: the exact depth-{model.depth} "
                    f"{model.architecture} library on {n_rows} points has "
                    f"{size:,} features per lag, {why}; sampling {n_features:,} "
                    f"features per lag ({sampling}) instead (n_features='auto'; "
                    "pass n_features=K to choose, or None for the exact library)",
                    UserWarning,
                    stacklevel=3,
                )
    return n_features, sampling


# ------------------------------------------------------------ network AR
class _NetworkAR(BaseForecaster):
    """Recursive autoregression with a regressor on the lag embedding."""

    def _make_regressor(self, n_rows: int):
        raise NotImplementedError

    def _selection_regressor(self, n_rows: int):
        """Factory of the regressor that cross-validation uses (None: no 'auto')."""
        return None

    def fit(self, y, freq=None, exog=None):
        """Fit on a Series with a DatetimeIndex (or a 1-D array).

        Parameters
        ----------
        y : pandas.Series or array-like of shape (n,)
        freq : str or None
            Frequency of the timestamps; inferred when None.
        exog : pandas.DataFrame or array-like of shape (n, k), default=None
            Future-known inputs, one row per value of ``y``
            (:mod:`tsmirrors.forecasting.exog`).
        """
        for name in ("lags_", "direct_models_"):
            self.__dict__.pop(name, None)
        self.strategy_, max_horizon = check_strategy(self)
        if self.strategy_ != "recursive" and exog is not None:
            raise ValueError(f"strategy={self.strategy_!r} does not take exog")
        # predict reads what the fit used, never the parameters (set_params)
        self.max_horizon_ = max_horizon if self.strategy_ != "recursive" else None
        levels = self._validate_fit_series(y, freq)
        E, self.exog_columns_ = (None, []) if exog is None else check_exog(
            exog, y, levels.size)
        self.n_exog_ = len(self.exog_columns_)
        resolve_settings(
            self,
            levels,
            regressor_factory=self._selection_regressor(levels.size),
            exog=E,
        )
        z = self._scaled_target(self._fit_transform(levels, self.target_))
        X, t = _embed(z, self._n_lags())
        X = np.ascontiguousarray(X[:, self.lags_ - 1])
        if E is not None:  # each row's exog at its target's time
            pos = np.arange(t.size) + self._n_lags() + self.transform_.offset
            X = np.hstack([X, E[pos]])
        regressor = self._make_regressor(t.size)
        # the embedding is finite float64: skip the estimator's re-validation
        fit = getattr(regressor, "_fit_checked", regressor.fit)
        if getattr(self, "naive_", False):  # no neuron on this very library
            handle = _no_neuron(regressor, X, t)
            self.beta_ = 2.0 * regressor.beta / t.size  # beta_sum = T beta / 2
            self.cv_results_["beta"] = self.beta_  # the penalty actually used
            self.regressor_ = fit(X, t, warm_start=handle)
        else:
            self.regressor_ = fit(X, t)
        self.n_rows_ = int(t.size)
        self.lags_in_use_ = lags_in_use(self.regressor_, self.lags_)
        if self.strategy_ != "recursive":
            self.direct_models_ = fit_direct(self, z, self.max_horizon_)
        self.n_neurons_ = self._count_neurons()
        self._store_window(levels)
        return self

    def _min_fit_size(self) -> int:
        """Fewest levels :meth:`fit` accepts, from the parameters.

        0 for the recursive strategy (the embedding and the folds of
        :func:`~tsmirrors.backtesting.min_train_size` decide); with
        ``"direct"`` or ``"average"``, three rows for the network of the
        largest horizon: ``lags + max_horizon + 2`` transformed values.
        """
        strategy, max_horizon = check_strategy(self)
        return 0 if strategy == "recursive" else horizons_min_size(self, max_horizon)

    def _count_neurons(self) -> int:
        """Units of the fitted network with a nonzero output weight."""
        count = getattr(self.regressor_, "n_neurons_", None)
        if count is not None:
            return int(count)
        alpha = self.regressor_.net_.alpha.detach().numpy()
        return int(np.count_nonzero(alpha))

    def predict(self, steps: int = 1, last_window=None, exog=None) -> pd.Series:
        """Multi-step point forecasts, as levels.

        Recursive (the default strategy): each step feeds the previous
        forecasts back as lags; ``"direct"``: one network per step;
        ``"average"``: the mean of the two. A model fit with ``exog`` needs
        its rows for the ``steps`` forecast times.
        """
        check_is_fitted(self, "regressor_")
        steps = check_steps(steps)
        window, last = self._window(last_window)
        if exog is not None and not getattr(self, "n_exog_", 0):
            raise ValueError(
                f"{type(self).__name__} was fitted without exog; predict cannot "
                "use exog (refit with fit(y, exog=...) to use it)"
            )
        E = None
        if getattr(self, "n_exog_", 0):
            E = future_exog(self, exog, steps, self._exog_index(steps, last))
        direct = None
        if self.strategy_ != "recursive":
            direct = predict_direct(self, window, steps)
        if self.strategy_ == "direct":
            return pd.Series(direct, index=self._future_index(steps, last),
                             name="y_pred")
        lags = self._n_lags()
        idx = self.lags_ - 1
        buf = list(self.transform_.forward(window)[-lags:] / self.z_scale_)
        path = np.empty(steps)
        # inputs are validated here, so use the regressor's unchecked evaluation
        # when it has one (this is the hot path of a backtest)
        evaluate = getattr(self.regressor_, "_decision", self.regressor_.predict)
        for h in range(steps):
            x = np.asarray(buf[::-1])[idx][None, :]
            if E is not None:
                x = np.hstack([x, E[h : h + 1]])
            path[h] = evaluate(x)[0]
            buf.append(path[h])
        levels = self.transform_.path_to_levels(path * self.z_scale_, window[-1])
        if direct is not None:  # "average"
            levels = 0.5 * (levels + direct)
        return pd.Series(levels, index=self._future_index(steps, last), name="y_pred")

    predict_point = predict

    def predict_interval(self, steps: int = 1, coverage: float = 0.9,
                         last_window=None):
        """Not available: this model gives point forecasts only."""
        raise NotImplementedError(
            f"{type(self).__name__} gives point forecasts only; for prediction "
            "intervals use ConvexQuantileAR (or ScaledQuantileAR for one step)"
        )

    @staticmethod
    def _fitted_state_from_params(state: dict) -> dict:
        """Fitted attributes a model file of an earlier version lacks.

        Such a file predicted from its parameters, which then matched its fit.
        """
        out = {}
        if "regressor_" in state and "strategy_" not in state:
            strategy = state.get("strategy", "recursive")
            out["strategy_"] = strategy
            out["max_horizon_"] = (
                int(state["max_horizon"]) if strategy != "recursive" else None
            )
        return out

    def _exog_index(self, steps, last):
        return self._future_index(steps, last) if isinstance(
            last, pd.Timestamp) else None

    @property
    def objective_(self) -> float:
        """Training objective in the Section 4 scaling (4.3)."""
        check_is_fitted(self, "regressor_")
        return self.regressor_.objective_ * 2.0 / self.n_rows_

    def predict_one_step(self, windows) -> np.ndarray:
        """One-step forecasts from many origins at once (no refit).

        Parameters
        ----------
        windows : array-like of shape (n_origins, window_length)
            Each row holds the most recent observed levels before an origin,
            oldest first; only the last ``lags`` (+1 for differences) are used.

        Returns
        -------
        ndarray of shape (n_origins,)
            The same values as ``predict(1, last_window=row)`` for every row.
        """
        check_is_fitted(self, "regressor_")
        if getattr(self, "n_exog_", 0):
            raise ValueError("a model fit with exog forecasts through predict(exog=)")
        windows = np.asarray(windows, dtype=np.float64)
        lags = self._n_lags()
        need = lags + self.transform_.offset
        if windows.ndim != 2 or windows.shape[1] < need:
            raise ValueError(
                f"windows must have shape (n_origins, >= {need}), got {windows.shape}"
            )
        if not np.all(np.isfinite(windows[:, -need:])):
            raise ValueError("windows contain NaN or inf")
        z = self.transform_.forward(windows[:, -need:]) / self.z_scale_
        x = np.ascontiguousarray(z[:, ::-1][:, self.lags_ - 1])
        evaluate = getattr(self.regressor_, "_decision", self.regressor_.predict)
        return self.transform_.to_level(evaluate(x) * self.z_scale_, windows[:, -1])


class ConvexAR(_NetworkAR):
    """Convex autoregressive network: the globally optimal AR network.

    Fits ``z_t = f(z_{t-1}, ..., z_{t-p}) + eps_t`` on the transformed series
    ``z`` with ``f`` a 2-layer, deep narrow or symmetrized network trained to
    global optimality through its Lasso, in the Section 4 scaling (4.3).

    Parameters
    ----------
    lags : int, list of int or "auto", default="auto"
        ``p`` (lags 1..p), a list of lags such as ``[1, 2, 24]`` (one 1-D
        library per lag: the additive network), or ``"auto"``: lags 1..10
        (fewer on short series, see
        :func:`~tsmirrors.forecasting.selection.check_lags`) plus
        ``seasonal_period``, the cross-validated Lasso choosing among them
        (``lags_in_use_``).
    activation : str, default="abs"
    depth : int, default=2
    architecture : {"deep_narrow", "symmetrized"}, default="deep_narrow"
    beta : float or "auto", default="auto"
        beta of (4.3): ``(1/T) sum r^2 + beta ||z||_1``. ``"auto"`` chooses
        it by rolling-origin cross-validation on the exact path
        (:mod:`tsmirrors.forecasting.selection`), using only the training
        window.
    n_features : int, None or "auto", default="auto"
        Sampled features per lag (None: the exact library). ``"auto"`` uses
        the exact library when it fits in memory (always for 2-layer
        networks) and has at most ``10 n`` features per lag on ``n`` rows,
        and otherwise samples ``min(10 n, what fits)`` features per lag,
        with a warning that says so.
    target : {"difference", "level", "log_return", "standardize", "auto"}, \
default="auto"
        ``"auto"`` picks among level, difference (and log_return for a
        positive series) by the cross-validation folds, in original units.
        Without ``drift``, the naive forecast (the difference network with
        no neuron) is a candidate too, and it is kept unless the best
        candidate beats it by more than one standard error of its fold
        losses: a network has to earn its place against the last value.
    random_state : int, RandomState or None, default=None
    sampling : {"auto", "sequential", "uniform"}, default="auto"
        ``"auto"``: sequential for deep narrow networks, uniform for the
        symmetrized one.
    normalize : bool, default=True
        Divide the transformed series by its training standard deviation
        before fitting, so that ``beta`` does not depend on the price scale.
        ``normalize=False`` with ``target="level"`` is the paper's setting.
    seasonal_period : int or None, default=None
        Added to the lags (to ``1..p`` for an int, to a list, to the
        candidates of ``"auto"``).
    cv : int, default=3
        Rolling-origin validation blocks (the last 20% of the window).
    cv_gap : int, default=0
        Rows left out between each fold's training rows and its block.
    cv_rule : {"min", "1se"}, default="min"
        Lowest mean validation loss, or the sparsest network within one
        standard error of it.
    strategy : {"recursive", "direct", "average"}, default="recursive"
        Multi-step forecasts by feeding forecasts back, by one network
        per horizon up to ``max_horizon``, or by the mean of the two
        (:mod:`tsmirrors.forecasting.direct`).
    max_horizon : int or None, default=None
        Largest ``steps`` of a direct or average model (required with them).
    drift : bool, default=False
        With a change target (``difference``, ``log_return``), whether the
        network has an output bias: a constant expected change. Without it
        (the default) the network with no neuron is the naive forecast (the
        last value), so every neuron has to earn its place against it; with
        it, that network is a random walk with drift (the training mean
        change, ``h`` times over ``h`` steps), which on prices usually costs
        more than it gains. Level targets always have the bias, and sign
        and threshold networks have none either way (their libraries span
        the constant).

    Attributes
    ----------
    beta_, target_ : float, str
        The settings used (chosen ones when "auto").
    lags_, lags_in_use_ : ndarray of int
        The model's lags, and those with at least one neuron.
    strategy_, max_horizon_ : str, int or None
        The strategy of the fit and, for "direct" and "average", its largest
        ``steps``
        (forecasts use these, not the parameters).
    naive_ : bool
        Whether the cross-validation kept the naive forecast (no neuron, no
        drift: the last value) over every network it scored.
    cv_results_ : dict
        With any "auto" setting: ``betas``, ``mean_loss``, ``std_loss``,
        ``fold_loss``, ``neurons``, ``target_scores``
        (see :func:`~tsmirrors.forecasting.selection.plot_cv_results`).
    regressor_ : ConvexNetRegressor
    objective_ : float
        The value of (4.3) at the optimum.
    n_neurons_ : int
        Neurons of the fitted network (nonzero Lasso coefficients).
    transform_ : TargetTransform
    z_scale_ : float
        The training standard deviation of the transformed series (1.0 with
        ``normalize=False``); the network works on ``z / z_scale_``.

    Examples
    --------
    >>> from tsmirrors.data import make_planted
    >>> from tsmirrors.forecasting import ConvexAR
    >>> y = make_planted(300, random_state=0).series
    >>> model = ConvexAR(target="level", beta=1e-3).fit(y)
    >>> model.predict(3).shape
    (3,)
    """

    def __init__(
        self,
        lags="auto",
        activation="abs",
        depth: int = 2,
        architecture: str = "deep_narrow",
        beta="auto",
        n_features: int | str | None = "auto",
        target: str = "auto",
        random_state=None,
        sampling: str = "auto",
        normalize: bool = True,
        seasonal_period: int | None = None,
        cv: int = 3,
        cv_gap: int = 0,
        cv_rule: str = "min",
        strategy: str = "recursive",
        max_horizon: int | None = None,
        drift: bool = False,
    ):
        self.lags = lags
        self.activation = activation
        self.depth = depth
        self.architecture = architecture
        self.beta = beta
        self.n_features = n_features
        self.target = target
        self.random_state = random_state
        self.sampling = sampling
        self.normalize = normalize
        self.seasonal_period = seasonal_period
        self.cv = cv
        self.cv_gap = cv_gap
        self.cv_rule = cv_rule
        self.strategy = strategy
        self.max_horizon = max_horizon
        self.drift = drift

    def _fit_intercept_for(self, target: str) -> bool:
        """Whether the network of ``target`` has its output bias."""
        drift = getattr(self, "drift", True)  # models saved before the option
        if not isinstance(drift, (bool, np.bool_)):
            raise ValueError(f"drift must be True or False, got {drift!r}")
        return bool(drift) or target not in CHANGE_TARGETS

    def _selection_regressor(self, n_rows):
        return lambda: self._make_regressor_at(1.0, n_rows)

    def _make_regressor(self, n_rows):
        return self._make_regressor_at(n_rows * self.beta_ / 2.0, n_rows)

    def _make_regressor_at(self, beta_sum, n_rows):
        n_features, sampling = _library_choice(self, n_rows)
        return ConvexNetRegressor(
            activation=self.activation,
            depth=self.depth,
            architecture=self.architecture,
            beta=beta_sum,
            n_features=n_features,
            sampling=sampling,
            random_state=self.random_state,
            fit_intercept=self._fit_intercept_for(
                getattr(self, "target_", self.target)),
        )

    def to_torch(self):
        """The reconstructed network, on the scale the model was fit on.

        The network does not work on prices. Its input ``k`` (``k = 0 ..
        lags - 1``) is ``z[t - 1 - k] / z_scale_``, where ``z =
        transform_.forward(levels)`` is the transformed series (differences
        by default) and ``z_scale_`` its training standard deviation (1.0
        with ``normalize=False``); its output is the next ``z / z_scale_``.
        The price forecast is
        ``transform_.to_level(net(x) * z_scale_, last_level)``, which is what
        :meth:`predict` computes.

        Returns
        -------
        tsmirrors.nets.MirrorNet
            Its output equals ``regressor_.predict`` on the lag inputs.
        """
        check_is_fitted(self, "regressor_")
        return self.regressor_.to_torch()


class SGDNetAR(_NetworkAR):
    """The same autoregressive network trained by SGD or Adam (baseline).

    Parameters mirror :class:`ConvexAR` plus those of
    :class:`~tsmirrors.models.sgd.SGDNetRegressor`; the objective is the
    same (4.3) scaling, ``beta_sum = T beta / 2``.

    Attributes
    ----------
    n_neurons_ : int
        Units of the trained network with a nonzero output weight.
    """

    def __init__(
        self,
        lags: int = 1,
        activation="abs",
        depth: int = 2,
        architecture: str = "deep_narrow",
        beta: float = 1.0,
        n_neurons: int = 200,
        optimizer: str = "sgd",
        lr: float | str = "auto",
        epochs: int = 100,
        batch_size: int | None = None,
        target: str = DEFAULT_TARGET,
        random_state=None,
        normalize: bool = True,
    ):
        self.lags = lags
        self.activation = activation
        self.depth = depth
        self.architecture = architecture
        self.beta = beta
        self.n_neurons = n_neurons
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.target = target
        self.random_state = random_state
        self.normalize = normalize

    def _make_regressor(self, n_rows):
        from ..models.sgd import SGDNetRegressor

        return SGDNetRegressor(
            architecture=self.architecture,
            activation=self.activation,
            depth=self.depth,
            n_neurons=self.n_neurons,
            beta=n_rows * self.beta_ / 2.0,
            optimizer=self.optimizer,
            lr=self.lr,
            epochs=self.epochs,
            batch_size=self.batch_size,
            random_state=self.random_state,
        )


from .quantile import ConvexQuantileAR  # noqa: E402  (it uses _library_choice)
