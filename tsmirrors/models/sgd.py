"""Gradient-trained networks on the same objective (1.1) as the convex fit."""

from __future__ import annotations

import copy
import numbers
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from .._optional import import_optional
from .._validation import check_nonnegative, check_positive_int, check_quantile
from ..features.activations import get_activation

__all__ = ["SGDNetRegressor"]

_ARCHITECTURES = ("deep_narrow", "symmetrized", "standard")
_OPTIMIZERS = ("sgd", "adam")
_LOSSES = ("squared", "quantile")


class SGDNetRegressor(RegressorMixin, BaseEstimator):
    """A network of Section 2 trained by SGD or Adam on the objective (1.1).

    The objective is the one that :func:`tsmirrors.nets.training_objective`
    computes, with sums over samples::

        loss(f(X), y) + (beta / L~) * sum_{q in theta_w} ||q||_2^{L~}

    where the loss is ``1/2 sum (f(x_i) - y_i)^2`` or the pinball loss
    ``sum L_tau(y_i - f(x_i))``. It is the baseline against which the convex
    (Lasso) fit is compared: same architecture, same objective.

    Parameters
    ----------
    architecture : {"deep_narrow", "symmetrized", "standard"}, default="deep_narrow"
        ``"deep_narrow"`` has ``n_neurons`` parallel units per input column
        (the additive network ``f(x) = sum_k f_k(x_k)`` when X has several
        columns); a depth-2 deep narrow net is the 2-layer network.
        ``"symmetrized"`` is the 3-layer symmetrized network, ``n_neurons``
        units per input column (needs ``depth=3`` and a continuous
        activation). ``"standard"`` is the standard network (2.2) on all
        columns with ``depth - 1`` hidden layers of ``n_neurons`` neurons.
    activation : {"relu", "leaky_relu", "abs", "sign", "threshold"}, default="abs"
    depth : int, default=2
        Number of layers ``L >= 2``.
    n_neurons : int, default=200
        Units (parallel architectures) or hidden width (standard).
    beta : float, default=1.0
        Regularization strength in (1.1).
    loss : {"squared", "quantile"}, default="squared"
    quantile : float, default=0.5
        ``tau`` of the quantile loss.
    optimizer : {"sgd", "adam"}, default="sgd"
    lr : float or "auto", default="auto"
        Learning rate. Steps are taken on the objective divided by the
        number of samples ``n`` (the mean-loss scaling of Section 4), which
        has the same minimizers and keeps ``lr`` meaningful across data
        sizes; the reported objectives are unscaled. ``"auto"`` takes
        ``1 / (mean_i ||grad_theta f(x_i)||^2 + 2 beta / n)`` at the initial
        network, on up to 256 rows: the inverse of an upper bound on the
        curvature of the scaled objective (the trace of its Gauss-Newton
        matrix plus the weight decay), so that a full-batch step cannot
        overshoot however wide the network or however spread the inputs.
        The value used is ``lr_``.
    epochs : int, default=100
    batch_size : int or None, default=None
        None trains on the full batch, one step per epoch. Otherwise each
        epoch visits a random permutation in minibatches, and a minibatch
        ``B`` steps on ``(n / |B|) sum_{i in B} loss_i + penalty`` (divided by
        ``n`` as above), an unbiased estimate of the full objective whose
        expected gradient is the full-batch gradient.
    random_state : None, int, numpy or torch generator, default=None
        Seeds a local ``torch.Generator`` for initialization and minibatch
        order; global seeds are never touched.
    init : MirrorNet or None, default=None
        Network to start from (a copy is trained). Its class, activation,
        depth and input count must match the other parameters; its width
        replaces ``n_neurons``.
    negative_slope : float, default=0.01
        Leaky ReLU slope.

    Attributes
    ----------
    net_ : MirrorNet
        The trained torch network.
    objective_ : float
        ``training_objective`` of ``net_`` on the training data.
    initial_objective_ : float
        The objective before the first step.
    history_ : pandas.DataFrame
        One row per epoch with columns ``epoch`` (1-based), ``objective``
        (the full training objective after that epoch) and ``time_s``
        (cumulative training wall time in seconds; the per-epoch objective
        evaluation is not timed).
    n_iter_ : int
        Epochs run.
    lr_ : float
        The learning rate used (``lr``, or the one ``"auto"`` chose).
    n_features_in_ : int

    Notes
    -----
    Initialization follows PyTorch's default ``Linear`` scales, except that
    first-layer biases put each first-layer breakpoint at a random training
    point, where the convex dictionary has its breakpoints. Sign and
    threshold activations have zero gradient almost everywhere, so gradient
    training only moves ``alpha``, the amplitudes and ``xi``; the inner
    weights and biases keep their initial values. If the objective becomes
    non-finite, training stops at the last finite epoch with a
    ``ConvergenceWarning``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> y = np.abs(X[:, 0])
    >>> model = SGDNetRegressor(n_neurons=10, epochs=50, optimizer="adam",
    ...                         lr=0.05, beta=1e-3, random_state=0).fit(X, y)
    >>> model.history_.shape
    (50, 3)
    """

    def __init__(
        self,
        architecture: str = "deep_narrow",
        activation: str = "abs",
        depth: int = 2,
        n_neurons: int = 200,
        beta: float = 1.0,
        loss: str = "squared",
        quantile: float = 0.5,
        optimizer: str = "sgd",
        lr: float | str = "auto",
        epochs: int = 100,
        batch_size: int | None = None,
        random_state=None,
        init=None,
        negative_slope: float = 0.01,
    ):
        self.architecture = architecture
        self.activation = activation
        self.depth = depth
        self.n_neurons = n_neurons
        self.beta = beta
        self.loss = loss
        self.quantile = quantile
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.init = init
        self.negative_slope = negative_slope

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # a short gradient run is not expected to reach a good fit
        tags.regressor_tags.poor_score = True
        return tags

    def _check_params(self):
        if self.architecture not in _ARCHITECTURES:
            raise ValueError(
                f"architecture must be one of {_ARCHITECTURES}, got "
                f"{self.architecture!r}"
            )
        act = get_activation(self.activation, negative_slope=self.negative_slope)
        depth = check_positive_int(self.depth, "depth")
        if depth < 2:
            raise ValueError(f"depth must be >= 2, got {depth}")
        if self.architecture == "symmetrized":
            if depth != 3:
                raise ValueError(
                    f"the symmetrized architecture has depth 3, got depth={depth}"
                )
            if not act.is_continuous:
                raise ValueError(
                    "the symmetrized architecture supports 'relu', 'leaky_relu' "
                    f"and 'abs', got activation={act.name!r}"
                )
        check_positive_int(self.n_neurons, "n_neurons")
        beta = check_nonnegative(self.beta, "beta")
        if self.loss not in _LOSSES:
            raise ValueError(f"loss must be one of {_LOSSES}, got {self.loss!r}")
        tau = check_quantile(self.quantile, "quantile")
        if self.optimizer not in _OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {_OPTIMIZERS}, got {self.optimizer!r}"
            )
        if isinstance(self.lr, str) and self.lr == "auto":
            pass
        elif (
            isinstance(self.lr, bool)
            or not isinstance(self.lr, numbers.Real)
            or not np.isfinite(self.lr)
            or self.lr <= 0
        ):
            raise ValueError(
                f"lr must be 'auto' or a finite number > 0, got {self.lr!r}"
            )
        check_positive_int(self.epochs, "epochs")
        check_positive_int(self.batch_size, "batch_size", allow_none=True)
        return act, depth, beta, tau

    def _initial_net(self, act, depth, X, gen):
        from ..nets import DeepNarrowNet, MirrorNet, StandardNet, SymmetrizedNet

        torch = import_optional("torch")
        n, d = X.shape
        classes = {
            "deep_narrow": DeepNarrowNet,
            "symmetrized": SymmetrizedNet,
            "standard": StandardNet,
        }
        if self.init is not None:
            if not isinstance(self.init, MirrorNet):
                raise TypeError(
                    "init must be a tsmirrors.nets network, got "
                    f"{type(self.init).__name__}"
                )
            expected = classes[self.architecture]
            if type(self.init) is not expected:
                raise ValueError(
                    f"init is a {type(self.init).__name__} but architecture="
                    f"{self.architecture!r} needs a {expected.__name__}"
                )
            if self.init.activation != act:
                raise ValueError(
                    f"init has activation {self.init.activation.name!r}, "
                    f"but activation={act.name!r}"
                )
            if self.init.depth != depth:
                raise ValueError(
                    f"init has depth {self.init.depth}, but depth={depth}"
                )
            if self.init.n_inputs != d:
                raise ValueError(
                    f"init reads {self.init.n_inputs} input columns, X has {d}"
                )
            return copy.deepcopy(self.init)

        m = int(self.n_neurons)
        X_t = torch.tensor(np.array(X, dtype=np.float64, order="C"))
        with torch.no_grad():
            if self.architecture == "standard":
                net = StandardNet.random(
                    (d,) + (m,) * (depth - 1), act, random_state=gen
                )
                rows = torch.randint(n, (m,), generator=gen)
                net.biases[0].copy_(-(X_t[rows] * net.weights[0].T).sum(dim=1))
                return net
            index = np.repeat(np.arange(d), m)
            if self.architecture == "deep_narrow":
                net = DeepNarrowNet.random(
                    m * d, depth, act, random_state=gen, input_index=index,
                    n_inputs=d,
                )
                rows = torch.randint(n, (m * d,), generator=gen)
                x0 = X_t[rows, net.input_index]
                net.biases[:, 0].copy_(-net.weights[:, 0] * x0)
                return net
            net = SymmetrizedNet.random(
                m * d, act, random_state=gen, input_index=index, n_inputs=d
            )
            rows = torch.randint(n, (m * d, 2), generator=gen)
            x0 = X_t[rows, net.input_index[:, None]]
            net.first_biases.copy_(-net.first_weights * x0)
            return net

    def fit(self, X, y):
        """Train the network on ``X`` of shape (n, d) and ``y`` of shape (n,).

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        act, depth, beta, tau = self._check_params()
        torch = import_optional("torch")
        from ..nets import make_generator
        from ..nets.objective import data_term, objective_unchecked

        gen = make_generator(self.random_state)
        net = self._initial_net(act, depth, X, gen)
        X_t = torch.tensor(np.array(X, dtype=np.float64, order="C"))
        y_t = torch.tensor(np.array(y, dtype=np.float64, order="C"))
        n = X_t.shape[0]
        params = [p for p in net.parameters() if p.requires_grad]
        if isinstance(self.lr, str):
            lr = _curvature_lr(net, params, X_t, beta, gen)
        else:
            lr = float(self.lr)
        self.lr_ = lr
        if self.optimizer == "sgd":
            opt = torch.optim.SGD(params, lr=lr)
        else:
            opt = torch.optim.Adam(params, lr=lr)
        L_eff = net.effective_depth
        batch = n if self.batch_size is None else min(int(self.batch_size), n)

        def full_objective():
            with torch.no_grad():
                return float(
                    objective_unchecked(net, X_t, y_t, beta, self.loss, tau).item()
                )

        self.initial_objective_ = full_objective()
        epochs_done, objectives, times = [], [], []
        elapsed = 0.0
        last_state = copy.deepcopy(net.state_dict())
        for epoch in range(1, int(self.epochs) + 1):
            start = time.perf_counter()
            if batch >= n:
                batches = [None]
            else:
                perm = torch.randperm(n, generator=gen)
                batches = list(torch.split(perm, batch))
            for idx in batches:
                opt.zero_grad()
                if idx is None:
                    data = data_term(net(X_t), y_t, self.loss, tau)
                    scale = 1.0 / n
                else:
                    data = data_term(net(X_t[idx]), y_t[idx], self.loss, tau)
                    scale = 1.0 / idx.shape[0]
                step_obj = scale * data + (beta / (L_eff * n)) * net.penalty()
                step_obj.backward()
                opt.step()
            elapsed += time.perf_counter() - start
            value = full_objective()
            if not np.isfinite(value):
                net.load_state_dict(last_state)
                warnings.warn(
                    f"the training objective became non-finite at epoch {epoch}; "
                    f"stopped at epoch {epoch - 1}. Lower lr (got {lr:g}).",
                    ConvergenceWarning,
                    stacklevel=2,
                )
                break
            last_state = copy.deepcopy(net.state_dict())
            epochs_done.append(epoch)
            objectives.append(value)
            times.append(elapsed)

        self.net_ = net
        self.history_ = pd.DataFrame(
            {"epoch": epochs_done, "objective": objectives, "time_s": times}
        )
        self.n_iter_ = len(epochs_done)
        self.objective_ = full_objective()
        return self

    def predict(self, X) -> np.ndarray:
        """Network output at ``X`` of shape (n, d); returns shape (n,)."""
        check_is_fitted(self, "net_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        # a copy: torch refuses views with negative strides (reversed lags)
        return self.net_.predict(np.array(X, dtype=np.float64, order="C"))


def _curvature_lr(net, params, X_t, beta: float, gen, max_rows: int = 256) -> float:
    """``1 / (mean_i ||grad f(x_i)||^2 + 2 beta / n)`` on up to ``max_rows`` rows.

    The first term is the trace of the Gauss-Newton matrix of the mean
    squared loss at the initial network, an upper bound on its largest
    eigenvalue; the second bounds the curvature of the scaled weight decay.
    """
    torch = import_optional("torch")
    n = X_t.shape[0]
    rows = torch.randperm(n, generator=gen)[: min(n, max_rows)]
    total = 0.0
    for i in rows.tolist():
        out = net(X_t[i : i + 1]).sum()
        grads = torch.autograd.grad(out, params, allow_unused=True)
        total += sum(float((g**2).sum()) for g in grads if g is not None)
    curvature = total / rows.numel() + 2.0 * beta / n
    return 1.0 / curvature if curvature > 0 else 1.0
