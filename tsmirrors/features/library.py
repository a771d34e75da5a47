"""The library of mirrors: Lasso dictionaries of 1-D neural networks.

For 1-D training inputs, training a 2-layer network, a deep narrow network
or a 3-layer symmetrized network is a Lasso problem whose dictionary is the
*deep library* of Definition 3.10: the outputs, at the training points, of
every parallel unit whose inner weights are +1 or -1 and whose biases are
data feature biases (or, for a non-monotone activation at depth 3, a
first-layer midpoint feature bias, Definition 3.9).

:class:`Library` enumerates that dictionary exactly when it fits a memory
budget and otherwise samples it, keeps every column's network parameters,
and evaluates the features at any new points.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._validation import check_1d_inputs, check_finite_array, check_positive_int
from ._blocked import (
    TooManyColumns,
    block_size,
    distinct_candidates,
    fill_matrix,
    work_bytes,
)
from ._candidates import _build_units, _IndexSpace
from .activations import Activation, get_activation
from .units import DeepNarrowUnits

__all__ = [
    "Library",
    "SUPPORTED",
    "check_architecture",
    "library_size",
]

#: Architectures the theory covers: (architecture, depth rule) -> activations.
SUPPORTED = {
    ("deep_narrow", "2"): ("relu", "leaky_relu", "abs", "sign", "threshold"),
    ("deep_narrow", ">=3"): ("relu", "leaky_relu", "abs"),
    ("symmetrized", "3"): ("relu", "leaky_relu"),
}

_SUPPORTED_TEXT = (
    "supported combinations: deep_narrow depth 2 with relu, leaky_relu, abs, "
    "sign or threshold; deep_narrow depth >= 3 with relu, leaky_relu or abs; "
    "symmetrized depth 3 with relu or monotone leaky_relu"
)

DEFAULT_MEMORY_BUDGET = 2**30


def check_architecture(activation: Activation, depth, architecture: str) -> int:
    """Raise a ValueError unless the theory covers this network; return depth."""
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral):
        raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
    depth = int(depth)
    if depth < 2:
        raise ValueError(f"depth must be >= 2, got {depth}")
    if architecture not in ("deep_narrow", "symmetrized"):
        raise ValueError(
            f"unknown architecture {architecture!r}; expected 'deep_narrow' or "
            f"'symmetrized' ({_SUPPORTED_TEXT})"
        )
    name = activation.name
    if architecture == "deep_narrow" and depth >= 3 and not activation.is_continuous:
        raise ValueError(
            f"activation {name!r} with depth {depth} is not covered by the "
            f"theory; {_SUPPORTED_TEXT}"
        )
    if architecture == "symmetrized":
        if depth != 3:
            raise ValueError(
                f"the symmetrized architecture has depth 3, got depth {depth}; "
                f"{_SUPPORTED_TEXT}"
            )
        if not (activation.is_continuous and activation.is_monotone):
            raise ValueError(
                f"the symmetrized architecture needs a monotone activation "
                f"(Theorem 3.13), got {name!r}"
                + (
                    f" with negative_slope {activation.a_minus}"
                    if name == "leaky_relu"
                    else ""
                )
                + f"; {_SUPPORTED_TEXT}"
            )
    return depth


def library_size(
    activation="relu",
    depth: int = 2,
    architecture: str = "deep_narrow",
    n_points: int = 10,
    midpoints="auto",
    negative_slope: float = 0.01,
) -> int:
    """Number of candidate features of the deep library, before de-duplication.

    Parameters
    ----------
    activation, depth, architecture, midpoints, negative_slope
        As in :class:`Library`.
    n_points : int
        Number of distinct training points.

    Returns
    -------
    int
        Signs x first-layer bias choices x later-layer bias choices.
    """
    act = get_activation(activation, negative_slope)
    depth = check_architecture(act, depth, architecture)
    return _IndexSpace(act, depth, architecture, n_points, midpoints).size


def _two_layer_redundant(act: Activation, weights, knot_index, u) -> np.ndarray:
    """Mask of 2-layer columns that vanish or repeat on the training points."""
    w = weights[:, 0]
    j = knot_index[:, 0]
    mask = np.zeros(len(w), dtype=bool)
    if act.name == "relu":
        # (x - max)_+ and (min - x)_+ are zero at every training point.
        mask |= (w > 0) & (j == u - 1)
        mask |= (w < 0) & (j == 0)
    elif act.name == "threshold":
        # 1{max - x >= 0} is the all-ones column 1{x - min >= 0}.
        mask |= (w < 0) & (j == u - 1)
    return mask


def _boundary_constants(act: Activation, units: DeepNarrowUnits, u: int) -> None:
    """Make the 2-layer sign/threshold columns constant on the data constant.

    ``sigma(x - x_min)`` and ``sigma(x_max - x)`` equal ``sigma(0)`` at every
    training point but change value beyond the data (``sign(x - x_min) = -1``
    below ``x_min``). They stand in for the output bias, which these Lasso
    problems do not have (Theorem 3.11), so they become the unit
    ``sigma(0 x + 1)``, the limit of moving the bias to infinity: the same
    column at the training points, hence the same Lasso problem and
    objective, and constant extrapolation. Inner weights of sign and
    threshold units are not regularized (Remark D.1), so the network's
    training objective is unchanged too. The knot index keeps the knot.
    """
    if not act.is_sign_determined or units.depth != 2:
        return
    w, j = units.weights[:, 0], units.knot_index[:, 0]
    constant = ((w > 0) & (j == 0)) | ((w < 0) & (j == u - 1))
    units.weights[constant, 0] = 0.0
    units.biases[constant, 0] = 1.0


class Library(TransformerMixin, BaseEstimator):
    """The deep library of Definition 3.10, as a scikit-learn transformer.

    Parameters
    ----------
    activation : {"relu", "leaky_relu", "abs", "sign", "threshold"}, default="relu"
        Activation of every neuron.
    depth : int, default=2
        Network depth L (number of layers, L - 1 hidden layers).
    architecture : {"deep_narrow", "symmetrized"}, default="deep_narrow"
        Deep narrow networks (one neuron per hidden layer in each parallel
        unit, any depth) or 3-layer symmetrized networks (Theorem 3.13).
    n_features : int or None, default=None
        None enumerates the whole library (it must fit ``memory_budget``);
        an integer samples that many candidate features.
    sampling : {"sequential", "uniform"}, default="sequential"
        ``"sequential"`` draws ``j_1``, then ``j_2``, ... per feature as in
        Section 4, so that with the same ``random_state`` a depth-L library
        extends the depth-(L-1) one feature by feature. ``"uniform"`` draws
        uniformly from the full index set (including midpoint biases).
    random_state : int, RandomState instance or None, default=None
        Seed of the sampling.
    negative_slope : float, default=0.01
        Negative slope of leaky ReLU.
    midpoints : {"auto", True, False}, default="auto"
        Include the first-layer midpoint feature biases of Definition 3.9.
        ``"auto"`` includes them for deep narrow depth-3 networks with a
        non-monotone activation such as abs, as the definition prescribes.
    memory_budget : int, default=2**30
        Most memory, in bytes, that building the library may take at its
        peak: the dictionary (for ``fit_transform``), the features'
        parameters and the blocks the candidates are evaluated and
        de-duplicated in. The exact library is enumerated only when its
        candidate dictionary (candidates x n float64) fits the budget; a
        library whose distinct columns do not fit is refused as soon as
        the build finds more of them than fit, before it allocates them.
    deduplicate : bool, default=True
        Drop columns that vanish or repeat on the training points, keeping
        the first in enumeration order (the simplest representative). Columns
        are compared after rounding to 1e-10 of the largest entry, by hash,
        and entry by entry when hashes are equal: the result is exact.

    Attributes
    ----------
    activation_ : Activation
    knots_ : ndarray of shape (u,)
        Sorted distinct training points.
    training_points_ : ndarray of shape (n,)
        The training inputs, in the order given.
    features_ : DeepNarrowUnits or SymmetrizedUnits
        Network parameters of every column.
    feature_codes_ : ndarray of shape (n_features_,)
        Position of every column in the full index set of candidates.
    n_features_ : int
        Number of columns.
    n_candidates_ : int
        Number of candidates in the full index set (before sampling or
        de-duplication).
    penalty_scale_ : float
        beta~ / beta: 1/2 for the symmetrized architecture, else 1.
    fit_intercept_ : bool
        False for sign and threshold, whose Lasso has xi = 0 (Theorem 3.11).

    Examples
    --------
    >>> import numpy as np
    >>> from tsmirrors.features import Library
    >>> lib = Library(activation="abs", depth=3).fit(np.array([0.0, 2.0, 3.0]))
    >>> lib.transform(np.array([4.0])).shape[1] == lib.n_features_
    True
    """

    def __init__(
        self,
        activation="relu",
        depth: int = 2,
        architecture: str = "deep_narrow",
        n_features: int | None = None,
        sampling: str = "sequential",
        random_state=None,
        *,
        negative_slope: float = 0.01,
        midpoints="auto",
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        deduplicate: bool = True,
    ):
        self.activation = activation
        self.depth = depth
        self.architecture = architecture
        self.n_features = n_features
        self.sampling = sampling
        self.random_state = random_state
        self.negative_slope = negative_slope
        self.midpoints = midpoints
        self.memory_budget = memory_budget
        self.deduplicate = deduplicate

    # ------------------------------------------------------------------ fit
    def fit(self, x, y=None):
        """Build the library on the training inputs ``x`` of shape (n,) or (n, 1)."""
        self._fit(x, need_matrix=False)
        return self

    def fit_transform(self, x, y=None, **fit_params):
        """Build the library and return its dictionary at the training points."""
        return self._fit(x, need_matrix=True)

    def _fit(self, x, need_matrix: bool):
        act = get_activation(self.activation, self.negative_slope)
        depth = check_architecture(act, self.depth, self.architecture)
        n_features = check_positive_int(self.n_features, "n_features", allow_none=True)
        if self.sampling not in ("sequential", "uniform"):
            raise ValueError(
                f"sampling must be 'sequential' or 'uniform', got {self.sampling!r}"
            )
        budget = check_positive_int(self.memory_budget, "memory_budget")
        x = check_1d_inputs(x, "x")
        knots = np.unique(x)
        space = _IndexSpace(act, depth, self.architecture, knots.size, self.midpoints)
        n = x.size

        exact = n_features is None or n_features >= space.size
        if exact:
            n_cols = space.size
        else:
            n_cols = n_features
        two_layer = self.architecture == "deep_narrow" and depth == 2
        bytes_needed = n_cols * n * 8
        if (not two_layer or need_matrix) and bytes_needed > budget:
            raise self._over_budget(
                act, depth, n, exact, space.size, n_cols,
                f"({bytes_needed / 2**30:.2f} GiB as float64)", budget,
            )

        if exact:
            sampled = None
        elif self.sampling == "uniform":
            sampled = self._uniform_digits(space, n_features)
        else:
            sampled = self._sequential_digits(space, x, knots, n_features)
        block = block_size(n, budget)

        def blocks():
            if sampled is None:
                return space.iter_digits(block)
            return (sampled[i : i + block] for i in range(0, len(sampled), block))

        # Memory of each kept column, at the largest of the build's phases:
        # de-duplication (digits in a growing array, hashes, both copied when
        # they grow), the parameters (built with as many temporaries) and the
        # matrix (values, parameters and code).
        unit_bytes, digit_bytes = self._unit_bytes(space, knots), 8 * len(space.radix)
        column_bytes = max(
            2 * digit_bytes + 32,
            digit_bytes + 2 * unit_bytes + 8,
            8 * n * need_matrix + unit_bytes + 8,
        )
        max_kept = (budget - work_bytes(n, block)) // column_bytes
        if two_layer or not self.deduplicate:
            digits = np.concatenate(list(blocks())) if sampled is None else sampled
            if self.deduplicate:  # 2-layer columns repeat only at the ends
                units = _build_units(space, knots, digits)
                keep = ~_two_layer_redundant(
                    act, units.weights, units.knot_index, knots.size
                )
                keep_idx = np.flatnonzero(keep)
                if not exact:  # sampled codes may repeat
                    _, first = np.unique(space.codes(digits[keep_idx]),
                                         return_index=True)
                    keep_idx = np.sort(keep_idx[first])
                digits = digits[keep_idx]
            if (not two_layer or need_matrix) and len(digits) > max_kept:
                raise self._over_budget(
                    act, depth, n, exact, space.size, n_cols,
                    f"({len(digits) * column_bytes / 2**30:.2f} GiB with the "
                    "features' parameters and the working blocks)", budget,
                )
        else:
            try:
                digits = distinct_candidates(
                    blocks, lambda d: _build_units(space, knots, d).evaluate(x),
                    n, len(space.radix), max_kept,
                )
            except TooManyColumns:
                raise self._over_budget(
                    act, depth, n, exact, space.size, n_cols,
                    f"(more than {max_kept:,} distinct columns, which with their "
                    "parameters and the working blocks do not fit)", budget,
                ) from None
        units = _build_units(space, knots, digits)
        if two_layer:
            _boundary_constants(act, units, knots.size)
        codes = space.codes(digits)
        del digits
        sampled = None  # the blocks are done: free the sampled candidates

        self.activation_ = act
        self.depth_ = depth
        self.knots_ = knots
        self.training_points_ = x
        self.features_ = units
        self.feature_codes_ = codes
        self.n_features_ = len(units)
        self.n_candidates_ = space.size
        self.midpoints_ = space.midpoints
        self.exact_ = bool(exact)
        self.penalty_scale_ = 0.5 if self.architecture == "symmetrized" else 1.0
        # sign-determined libraries span the constant through their column
        # constant on the data, when they hold it (a sampled 2-layer library
        # may not: then the network needs its output bias)
        self.fit_intercept_ = not act.is_sign_determined or (
            two_layer and not np.any(units.weights[:, 0] == 0.0))
        self.n_features_in_ = 1
        if need_matrix:
            return fill_matrix(units, x, block)
        return None

    def _describe(self, act, depth):
        return f"{self.architecture} depth-{depth} {act.name}"

    def _over_budget(self, act, depth, n, exact, size, n_cols, detail, budget):
        what = (
            f"the exact {self._describe(act, depth)} library on {n} points "
            f"would have {size:,} candidate features"
            if exact
            else f"{n_cols:,} sampled features on {n} points"
        )
        return ValueError(
            f"{what} {detail}, over the memory budget of {budget / 2**30:.2f} GiB; "
            + (
                "pass n_features=K to sample K features "
                "(sampling='sequential' or 'uniform') or raise memory_budget"
                if exact
                else "sample fewer features or raise memory_budget"
            )
        )

    @staticmethod
    def _unit_bytes(space, knots) -> int:
        """Bytes of one feature's parameters."""
        one = _build_units(space, knots, space.decode(np.zeros(1, dtype=np.int64)))
        return sum(v.nbytes for v in vars(one).values() if isinstance(v, np.ndarray))

    def _rngs(self):
        rs = check_random_state(self.random_state)
        seeds = rs.randint(0, 2**31 - 1, size=2)
        return np.random.default_rng(seeds[0]), np.random.default_rng(seeds[1])

    def _uniform_digits(self, space: _IndexSpace, n_features: int) -> np.ndarray:
        rng, _ = self._rngs()
        digits = space.random_digits(rng, n_features)
        # draw without replacement: replace repeated codes until all distinct
        for _ in range(100):
            _, first = np.unique(space.codes(digits), return_index=True)
            if first.size == n_features:
                break
            digits = np.concatenate(
                [
                    digits[np.sort(first)],
                    space.random_digits(rng, n_features - first.size),
                ]
            )
        return digits

    def _sequential_digits(self, space, x, knots, n_features) -> np.ndarray:
        if space.architecture == "symmetrized":
            raise ValueError(
                "sequential sampling is defined for deep narrow networks "
                "(Section 4); use sampling='uniform' for the symmetrized architecture"
            )
        idx_rng, sign_rng = self._rngs()
        n_layers = space.depth - 1
        # Layer-major draws: the first L-2 layers of a depth-L sample equal the
        # depth-(L-1) sample drawn with the same random_state.
        point_of = np.searchsorted(knots, x)
        cols = [
            point_of[idx_rng.integers(0, x.size, size=n_features)]
            for _ in range(n_layers)
        ]
        if space.n_signs == 1:
            sign_code = np.zeros(n_features, dtype=np.int64)
        else:
            bits = [sign_rng.integers(0, 2, size=n_features) for _ in range(n_layers)]
            sign_code = np.zeros(n_features, dtype=np.int64)
            for b in bits:
                sign_code = sign_code * 2 + b
        return np.stack([sign_code] + cols, axis=1)

    # ------------------------------------------------------------ transform
    def transform(self, x) -> np.ndarray:
        """Evaluate every feature at the points ``x``; returns (n, n_features_)."""
        check_is_fitted(self, "features_")
        arr = check_finite_array(x, "x")
        if arr.ndim == 2:
            if arr.shape[1] != 1:
                raise ValueError(
                    f"x must be 1-D data of shape (n,) or (n, 1), got shape {arr.shape}"
                )
            arr = arr[:, 0]
        elif arr.ndim != 1:
            raise ValueError(f"x must have shape (n,) or (n, 1), got {arr.shape}")
        return self.features_.evaluate(arr)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Readable feature names such as ``relu(x-2)`` or ``|(|x-3|-1)|``."""
        check_is_fitted(self, "features_")
        names = self.features_.names()
        if input_features is not None:
            (name,) = list(input_features)
            names = [s.replace("x", str(name)) for s in names]
        return np.asarray(names, dtype=object)

    def operator(self):
        """A matrix-free operator for the 2-layer dictionary at the training points.

        Products with it cost O(n log n) instead of O(n^2), so 2-layer models
        never build the n x 2n matrix.
        """
        if "features_" not in self.__dict__:
            check_is_fitted(self, "features_")  # raises NotFittedError
        if not isinstance(self.features_, DeepNarrowUnits) or self.depth_ != 2:
            raise ValueError(
                "a matrix-free operator exists for 2-layer dictionaries only, got "
                f"{self.architecture} depth {self.depth_}"
            )
        from .operators import TwoLayerOperator

        j = self.features_.knot_index[:, 0]
        w = self.features_.weights[:, 0]
        # a constant unit (weight 0) is the column sigma(x - x_min) or
        # sigma(x_max - x) at the training points: see _boundary_constants
        directions = np.where(w != 0, w, np.where(j == 0, 1.0, -1.0))
        return TwoLayerOperator(
            self.training_points_, self.activation_, self.knots_[j], directions
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        return tags
