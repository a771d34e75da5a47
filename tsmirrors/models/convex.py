"""Convex neural networks: the Lasso over the library of mirrors, as an estimator."""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_nonnegative, check_quantile, check_scale
from ..features import Library
from ..features.operators import TwoLayerOperator
from ..features.units import DeepNarrowUnits

__all__ = ["ConvexNetRegressor", "HStackDesign", "penalty_factor"]

LOSSES = ("squared", "quantile")
SOLVERS = ("auto", "dense", "operator")


def penalty_factor(architecture: str) -> float:
    """beta~ / beta: the Lasso penalty per unit of the network's beta.

    For deep narrow networks (and 2-layer networks) AM-GM on the per-unit
    penalty ``(beta/L) (|alpha|^L + sum_l |w_l|^L) >= beta |alpha prod w_l|``
    gives beta~ = beta. In a 3-layer symmetrized unit both weight vectors
    have two entries of equal magnitude ``c``, so ``||W||_2 = sqrt(2) c`` and
    ``(beta/3)(|alpha|^3 + ||W1||^3 + ||W2||^3) >= 2 beta |alpha c1 c2|``:
    beta~ = 2 beta. (Section 3 and Lemma D.5 state beta/2; the network's
    training objective disagrees, see the tests.)
    """
    return 2.0 if architecture == "symmetrized" else 1.0


class HStackDesign:
    """Side-by-side concatenation ``[A_1, ..., A_d]`` of dictionaries.

    Each block is a dense array or an operator with ``matvec``/``rmatvec``;
    products never build the whole matrix.
    """

    def __init__(self, blocks):
        self.blocks = list(blocks)
        self.sizes = [b.shape[1] for b in self.blocks]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.shape = (self.blocks[0].shape[0], int(self.offsets[-1]))
        from ._hstack import PackedBlocks

        # 2-layer blocks of one activation: each product in one compiled call
        self._packed = PackedBlocks(self.blocks) if PackedBlocks.supports(
            self.blocks) else None

    def _split(self, v):
        return [v[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def matvec(self, v):
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        out = np.zeros(self.shape[0])
        for block, part in zip(self.blocks, self._split(v)):
            if isinstance(block, np.ndarray):
                out += block @ part
            elif isinstance(block, TwoLayerOperator):  # no LinearOperator checks
                out += block._matvec(part)
            else:
                out += block.matvec(part)
        return out

    def rmatvec(self, r):
        r = np.ascontiguousarray(r, dtype=np.float64).reshape(-1)
        if self._packed is not None:
            return self._packed.rmatvec(r)
        out = np.empty(self.shape[1])
        for k, b in enumerate(self.blocks):
            a, e = self.offsets[k], self.offsets[k + 1]
            if isinstance(b, np.ndarray):
                out[a:e] = b.T @ r
            elif isinstance(b, TwoLayerOperator):
                out[a:e] = b._rmatvec(r)
            else:
                out[a:e] = np.asarray(b.rmatvec(r)).reshape(-1)
        return out

    def matvec_sparse(self, idx, values):
        """``A[:, idx] @ values``, touching only the columns in ``idx``."""
        idx = self._check_index(idx)
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if self._packed is not None:
            return self._packed.matvec_sparse(idx, values)
        out = np.zeros(self.shape[0])
        block_of = np.searchsorted(self.offsets, idx, side="right") - 1
        for k in np.unique(block_of):
            block, sel = self.blocks[k], block_of == k
            local = idx[sel] - self.offsets[k]
            if isinstance(block, np.ndarray):  # only the columns in use
                out += block[:, local] @ values[sel]
            elif hasattr(block, "matvec_sparse"):
                out += block.matvec_sparse(local, values[sel])
            else:
                v = np.zeros(self.sizes[k])
                np.add.at(v, local, values[sel])
                out += np.asarray(block.matvec(v)).reshape(-1)
        return out

    def _check_index(self, idx) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.intp).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.shape[1]):
            raise IndexError(f"column index out of range for {self.shape[1]} columns")
        return idx

    def columns(self, idx):
        idx = self._check_index(idx)
        if self._packed is not None:
            return self._packed.columns(idx)
        out = np.empty((self.shape[0], idx.size))
        block_of = np.searchsorted(self.offsets, idx, side="right") - 1
        for k in np.unique(block_of):
            block = self.blocks[k]
            sel = np.flatnonzero(block_of == k)
            local = idx[sel] - self.offsets[k]
            dense = isinstance(block, np.ndarray)
            out[:, sel] = block[:, local] if dense else block.columns(local)
        return out

    def column_means(self):
        return np.concatenate(
            [
                b.mean(axis=0) if isinstance(b, np.ndarray) else b.column_means()
                for b in self.blocks
            ]
        )

    def toarray(self):
        return np.hstack(
            [b if isinstance(b, np.ndarray) else b.toarray() for b in self.blocks]
        )


class ConvexNetRegressor(RegressorMixin, BaseEstimator):
    """A globally optimal neural network for 1-D inputs, fit as a Lasso.

    The network's training problem (1.1), with sums rather than means,

        1/2 sum_i (f(x_i) - y_i)^2 + (beta / L~) ||theta_w||^{L~},

    equals the Lasso (1.2) over the deep library ``A``,

        1/2 ||A z + xi 1 - y||^2 + beta~ ||z||_1,

    with ``beta~ = beta`` for 2-layer and deep narrow networks and
    ``beta~ = 2 beta`` for the 3-layer symmetrized network (see
    :func:`penalty_factor`). With ``loss="quantile"`` the pinball loss of the
    ``quantile``-quantile, ``sum_i L_tau(y_i - f(x_i))`` with
    ``L_tau(r) = 0.5 |r| + (tau - 0.5) r``, replaces the squared term.

    X of shape (n, 1) is the paper's 1-D case. With several columns the
    model is the additive network ``f(x) = xi + sum_k f_k(x_k)`` of 1-D
    parallel units, still exactly a Lasso over the concatenated per-column
    libraries.

    Parameters
    ----------
    activation : {"relu", "leaky_relu", "abs", "sign", "threshold"}, default="relu"
    depth : int, default=2
    architecture : {"deep_narrow", "symmetrized"}, default="deep_narrow"
    beta : float, default=1.0
        Weight-decay strength beta of (1.1), in the sum convention.
    loss : {"squared", "quantile"}, default="squared"
    quantile : float, default=0.5
        Quantile level tau in (0, 1), used with ``loss="quantile"``.
    n_features : int or None, default=None
        None uses the exact library; an integer samples that many features
        per input column.
    sampling : {"sequential", "uniform"}, default="sequential"
    random_state : int, RandomState instance or None, default=None
    solver : {"auto", "dense", "operator"}, default="auto"
        ``"auto"`` uses the matrix-free operator for 2-layer networks and the
        dense dictionary otherwise.
    negative_slope : float, default=0.01
    memory_budget : int, default=2**30
    tol : float or None, default=None
        Solver tolerance on the certificate; None uses the solver's default.
    fit_intercept : bool, default=True
        Fit the network's output bias ``xi`` (unpenalized). False fixes it at
        0, so that the network with no neuron predicts 0 (for a model of
        changes: no change). Sign and threshold libraries never fit it (their
        features already span the constant).

    Attributes
    ----------
    library_ : Library
        The library of the first input column (``libraries_`` holds all).
    coef_ : ndarray of shape (n_features_total,)
        Lasso coefficients z, one per library column.
    intercept_ : float
        The bias xi (0 for sign and threshold, Theorem 3.11).
    objective_ : float
        The objective above at the solution.
    n_neurons_ : int
        Nonzero coefficients: the critical width m*.
    active_units_ : list of (int, units, ndarray)
        The nonzero features as ``(input_column, units, z)`` triples.
    solver_result_ : SolverResult

    Examples
    --------
    >>> import numpy as np
    >>> from tsmirrors import ConvexNetRegressor
    >>> x = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> y = np.abs(x[:, 0])
    >>> model = ConvexNetRegressor(activation="relu", beta=1e-3).fit(x, y)
    >>> bool(np.abs(model.predict(x) - y).max() < 0.01)
    True
    """

    def __init__(
        self,
        activation="relu",
        depth: int = 2,
        architecture: str = "deep_narrow",
        beta: float = 1.0,
        loss: str = "squared",
        quantile: float = 0.5,
        n_features: int | None = None,
        sampling: str = "sequential",
        random_state=None,
        solver: str = "auto",
        *,
        negative_slope: float = 0.01,
        memory_budget: int = 2**30,
        tol: float | None = None,
        fit_intercept: bool = True,
    ):
        self.activation = activation
        self.depth = depth
        self.architecture = architecture
        self.beta = beta
        self.loss = loss
        self.quantile = quantile
        self.n_features = n_features
        self.sampling = sampling
        self.random_state = random_state
        self.solver = solver
        self.negative_slope = negative_slope
        self.memory_budget = memory_budget
        self.tol = tol
        self.fit_intercept = fit_intercept

    # ------------------------------------------------------------------ fit
    def _check_params(self):
        beta = check_nonnegative(self.beta, "beta")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        tau = check_quantile(self.quantile, "quantile")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        if self.tol is not None and (
            not isinstance(self.tol, numbers.Real) or not self.tol > 0
        ):
            raise ValueError(f"tol must be a positive number, got {self.tol!r}")
        return beta, tau

    def _wants_intercept(self) -> bool:
        fit_intercept = getattr(self, "fit_intercept", True)  # older files
        if not isinstance(fit_intercept, (bool, np.bool_)):
            raise ValueError(
                f"fit_intercept must be True or False, got {fit_intercept!r}"
            )
        return bool(fit_intercept)

    def _make_libraries(self, X):
        rs = check_random_state(self.random_state)
        seeds = rs.randint(0, 2**31 - 1, size=X.shape[1])
        libs = []
        for k in range(X.shape[1]):
            libs.append(
                Library(
                    activation=self.activation,
                    depth=self.depth,
                    architecture=self.architecture,
                    n_features=self.n_features,
                    sampling=self.sampling,
                    random_state=int(seeds[k]),
                    negative_slope=self.negative_slope,
                    memory_budget=self.memory_budget,
                )
            )
        return libs

    def _design(self, libs, X):
        two_layer = self.architecture == "deep_narrow" and self.depth == 2
        use_operator = self.solver == "operator" or (
            self.solver == "auto" and two_layer
        )
        if use_operator and not two_layer:
            raise ValueError(
                "solver='operator' needs a 2-layer network (depth=2, "
                f"architecture='deep_narrow'), got {self.architecture} "
                f"depth {self.depth}"
            )
        blocks = []
        for k, lib in enumerate(libs):
            col = X[:, k]
            if use_operator:
                lib.fit(col)
                blocks.append(lib.operator())
            else:
                blocks.append(lib.fit_transform(col))
        if len(blocks) == 1:
            return blocks[0]
        return HStackDesign(blocks)

    def fit(self, X, y, warm_start=None):
        """Fit the globally optimal network by solving its Lasso.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_inputs)
        y : array-like of shape (n_samples,)
        warm_start : WarmStart or None, default=None
            A :class:`~tsmirrors.models.warm_start.WarmStart` handle shared
            by fits on the same ``X`` (other quantile levels or penalties):
            they reuse its library and re-solve its LP from the last basis.
            The handle is updated; the fitted model does not keep it.

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        return self._fit_checked(X, y, warm_start=warm_start)

    def _fit_checked(self, X: np.ndarray, y: np.ndarray, warm_start=None):
        """``fit`` on float64 arrays that are already validated (finite, 2-D X)."""
        from ..solvers import lasso

        beta, tau = self._check_params()
        self.n_features_in_ = X.shape[1]
        if X.shape[0] < 2:
            raise ValueError(
                f"ConvexNetRegressor needs at least 2 samples, got {X.shape[0]} sample"
            )
        check_scale(X, "X")
        check_scale(y, "y")
        for k in range(X.shape[1]):
            if X[:, k].min() == X[:, k].max():
                raise ValueError(
                    f"input column {k} of X is constant; every column needs at "
                    "least 2 distinct points to define its library"
                )
        cached = None if warm_start is None else warm_start.lookup(self, X)
        if cached is None:
            libs = self._make_libraries(X)
            design = self._design(libs, X)
            if warm_start is not None:
                warm_start.remember(self, X, libs, design)
        else:
            libs, design = cached
        scale = penalty_factor(self.architecture)
        # False for sign and threshold, whose libraries span the constant (one
        # library's constant column is the whole additive network's constant)
        fit_intercept = (all(lib.fit_intercept_ for lib in libs)
                         and self._wants_intercept())
        if self.loss == "squared":
            kw = {} if self.tol is None else {"tol": self.tol}
            result = lasso(design, y, scale * beta, fit_intercept=fit_intercept, **kw)
        else:
            from ..solvers import quantile_lasso

            result = quantile_lasso(
                design, y, scale * beta, tau, fit_intercept=fit_intercept,
                warm_start=None if warm_start is None else warm_start.result,
            )
            if warm_start is not None:
                warm_start.result = result
        self.libraries_ = libs
        self.library_ = libs[0]
        self.n_library_features_ = np.array([lib.n_features_ for lib in libs])
        self.coef_ = np.asarray(result.coef, dtype=np.float64)
        self.intercept_ = float(result.intercept)
        # keep the certificate, not the solver's session (a live HiGHS model
        # cannot be copied or saved and holds megabytes per fit)
        self.solver_result_ = dataclasses.replace(result, state=None)
        self.n_neurons_ = int(np.count_nonzero(self.coef_))
        self.beta_tilde_ = scale * beta
        self.fit_intercept_ = bool(fit_intercept)
        self.active_units_ = [
            (k, lib.features_.subset(active), coef)
            for k, lib, active, coef in self._blocks()
            if active.size
        ]
        fitted = self._decision(X)
        self.objective_ = self._objective(fitted, y)
        return self

    def _objective(self, fitted, y) -> float:
        r = y - fitted
        if self.loss == "squared":
            data = 0.5 * float(r @ r)
        else:
            tau = float(self.quantile)
            data = float(np.sum(0.5 * np.abs(r) + (tau - 0.5) * r))
        return data + self.beta_tilde_ * float(np.abs(self.coef_).sum())

    # -------------------------------------------------------------- predict
    def _blocks(self):
        offsets = np.concatenate([[0], np.cumsum(self.n_library_features_)])
        for k, lib in enumerate(self.libraries_):
            coef = self.coef_[offsets[k] : offsets[k + 1]]
            active = np.flatnonzero(coef)
            yield k, lib, active, coef[active]

    def _active(self):
        """Active units per input column, as stored by ``fit``."""
        return self.active_units_

    def _decision(self, X):
        out = np.full(X.shape[0], self.intercept_)
        for k, units, coef in self._active():
            out += units.evaluate(X[:, k]) @ coef
        return out

    def predict(self, X):
        """Predict at any points through the library's feature functions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_inputs)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self._decision(X)

    # -------------------------------------------------------- reconstruction
    def breakpoints(self, lo: float | None = None, hi: float | None = None):
        """Breakpoints of the fitted 1-D function inside ``[lo, hi]``.

        The union of the active features' breakpoints, kept where the fitted
        function really changes slope. Defaults span the training inputs
        extended by half their range on each side.
        """
        check_is_fitted(self, "coef_")
        if self.n_features_in_ != 1:
            raise ValueError(
                "breakpoints are defined for one input column, got "
                f"{self.n_features_in_}"
            )
        x = self.library_.training_points_
        span = float(np.ptp(x))
        lo = float(x.min() - 0.5 * span) if lo is None else float(lo)
        hi = float(x.max() + 0.5 * span) if hi is None else float(hi)
        cand = [np.array([lo, hi])]
        for _, units, _ in self._active():
            cand += [units.breakpoints(i, lo, hi) for i in range(len(units))]
        nodes = np.unique(np.concatenate(cand))
        if nodes.size < 3:
            return np.array([], dtype=float)
        vals = self.predict(nodes[:, None])
        slopes = np.diff(vals) / np.diff(nodes)
        scale = max(1.0, float(np.abs(slopes).max()))
        change = np.abs(np.diff(slopes)) > 1e-9 * scale
        return nodes[1:-1][change]

    def to_torch(self):
        """The reconstructed parallel network (Definition B.3), in float64 torch.

        Every nonzero ``z_i`` becomes one parallel unit with the parameters of
        its library column, unscaled optimally (Definition D.17): for a
        depth-L deep narrow unit ``gamma = |z|^(1/L)`` multiplies every weight,
        the layer-l bias is multiplied by ``gamma^l`` and
        ``alpha = sign(z) gamma``; sign and threshold units take
        ``alpha = sign(z) sqrt|z|`` and amplitude ``sqrt|z|``; a symmetrized
        unit takes ``t = (2|z|)^(1/3)``, weights of magnitude ``t / sqrt(2)``
        and ``alpha = sign(z) t``. Its output equals :meth:`predict` and its
        :func:`tsmirrors.nets.training_objective` equals ``objective_``.
        """
        from ..nets import DeepNarrowNet, SymmetrizedNet

        check_is_fitted(self, "coef_")
        act = self.library_.activation_
        n_inputs = self.n_features_in_
        parts = self._active()
        if self.architecture == "symmetrized":
            w1, b1, w2, b2, alpha, idx = [], [], [], [], [], []
            for k, units, z in parts:
                t = np.cbrt(2.0 * np.abs(z))
                c = t / np.sqrt(2.0)
                w1.append(units.first_weights * c[:, None])
                b1.append(units.first_biases * c[:, None])
                w2.append(units.second_weights * c[:, None])
                b2.append(units.second_biases * c * c)
                alpha.append(np.sign(z) * t)
                idx.append(np.full(z.size, k))
            if not parts:
                return SymmetrizedNet(
                    np.ones((0, 2)),
                    np.zeros((0, 2)),
                    np.ones((0, 2)),
                    np.zeros(0),
                    np.zeros(0),
                    xi=self.intercept_,
                    activation=act,
                    n_inputs=n_inputs,
                )
            return SymmetrizedNet(
                np.vstack(w1),
                np.vstack(b1),
                np.vstack(w2),
                np.concatenate(b2),
                np.concatenate(alpha),
                xi=self.intercept_,
                activation=act,
                input_index=np.concatenate(idx),
                n_inputs=n_inputs,
            )
        n_layers = self.depth - 1
        w, b, alpha, amps, idx = [], [], [], [], []
        for k, units, z in parts:
            assert isinstance(units, DeepNarrowUnits)
            if act.is_sign_determined:
                root = np.sqrt(np.abs(z))
                w.append(units.weights)
                b.append(units.biases)
                alpha.append(np.sign(z) * root)
                amp = np.ones_like(units.weights)
                amp[:, -1] = root
                amps.append(amp)
            else:
                gamma = np.abs(z) ** (1.0 / self.depth)
                powers = gamma[:, None] ** np.arange(1, n_layers + 1)
                w.append(units.weights * gamma[:, None])
                b.append(units.biases * powers)
                alpha.append(np.sign(z) * gamma)
            idx.append(np.full(z.size, k))
        if not parts:
            w, b, alpha, idx = (
                [np.zeros((0, n_layers))],
                [np.zeros((0, n_layers))],
                [np.zeros(0)],
                [np.zeros(0, dtype=int)],
            )
            amps = [np.ones((0, n_layers))] if act.is_sign_determined else []
        return DeepNarrowNet(
            np.vstack(w),
            np.vstack(b),
            np.concatenate(alpha),
            xi=self.intercept_,
            activation=act,
            amplitudes=np.vstack(amps) if act.is_sign_determined else None,
            input_index=np.concatenate(idx).astype(int),
            n_inputs=n_inputs,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
