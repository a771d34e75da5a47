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

import math
import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._validation import check_1d_inputs, check_finite_array, check_positive_int
from .activations import Activation, get_activation
from .units import DeepNarrowUnits, SymmetrizedUnits

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


def _n_sign_patterns(activation: Activation, depth: int, architecture: str) -> int:
    if architecture == "symmetrized":
        return 16
    if activation.is_symmetric:
        # |w (h - h0)| does not depend on w = +-1 (Lemma D.15), and neither
        # does a 2-layer sign feature up to the constant column.
        return 1
    return 2 ** (depth - 1)


def _use_midpoints(midpoints, activation: Activation, depth: int, architecture):
    if midpoints == "auto":
        return (
            architecture == "deep_narrow"
            and depth == 3
            and activation.is_continuous
            and not activation.is_monotone
        )
    if not isinstance(midpoints, bool):
        raise ValueError(f"midpoints must be 'auto', True or False, got {midpoints!r}")
    if midpoints and (architecture != "deep_narrow" or depth < 3):
        raise ValueError(
            "first-layer midpoint feature biases exist only for deep narrow "
            f"networks of depth >= 3 (Definition 3.9), got {architecture} depth {depth}"
        )
    return midpoints


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


class _IndexSpace:
    """Mixed-radix index of every candidate feature of the deep library.

    A deep narrow code is (sign pattern, first-layer bias, j_2, ..., j_{L-1});
    the first-layer bias is a data point ``j_1 < u`` or, when midpoints are
    on, a pair ``j_1 < j'_1``. A symmetrized code is (signs, j_1, j_2, j_3).
    """

    def __init__(self, act, depth, architecture, n_knots, midpoints):
        self.act = act
        self.depth = depth
        self.architecture = architecture
        self.u = int(n_knots)
        self.midpoints = _use_midpoints(midpoints, act, depth, architecture)
        self.n_signs = _n_sign_patterns(act, depth, architecture)
        u = self.u
        if architecture == "symmetrized":
            self.radix = [self.n_signs, u, u, u]
        else:
            first = u + (u * (u - 1) // 2 if self.midpoints else 0)
            self.radix = [self.n_signs, first] + [u] * (depth - 2)
        self.size = math.prod(self.radix)

    def all_digits(self) -> np.ndarray:
        """Every candidate, simplest first.

        Candidates are ordered by how many layers add a new training point
        (a bias at the same point as the layer before reproduces the
        shallower feature), so that de-duplication keeps the representative
        with the fewest breakpoints, e.g. ``|x-2|`` rather than ``||x|-2|``.
        """
        if len(self.radix) == 2 and not self.midpoints:
            # 2 layers: one breakpoint each, all equally simple
            n_signs, u = self.radix
            return np.stack([np.repeat(np.arange(n_signs), u),
                             np.tile(np.arange(u), n_signs)], axis=1)
        grids = np.meshgrid(*[np.arange(r) for r in self.radix], indexing="ij")
        digits = np.stack([g.reshape(-1) for g in grids], axis=1)
        if self.architecture == "symmetrized":
            j = digits[:, 1:]
            novelty = (j[:, 1] != j[:, 0]).astype(int) + (
                (j[:, 2] != j[:, 0]) & (j[:, 2] != j[:, 1])
            )
        else:
            first = digits[:, 1]
            novelty = (first >= self.u).astype(int)
            prev = np.where(first >= self.u, -1, first)
            for k in range(2, digits.shape[1]):
                novelty += digits[:, k] != prev
                prev = digits[:, k]
        return digits[np.argsort(novelty, kind="stable")]

    def random_digits(self, rng, n: int) -> np.ndarray:
        cols = [rng.integers(0, r, size=n) for r in self.radix]
        return np.stack(cols, axis=1)

    def codes(self, digits: np.ndarray) -> np.ndarray:
        """Linear codes (object dtype when they overflow int64)."""
        if self.size < 2**62:
            code = np.zeros(len(digits), dtype=np.int64)
            for k, r in enumerate(self.radix):
                code = code * r + digits[:, k]
            return code
        code = np.zeros(len(digits), dtype=object)
        for k, r in enumerate(self.radix):
            code = code * r + digits[:, k].astype(object)
        return code

    def sign_matrix(self, sign_code: np.ndarray, n_layers: int) -> np.ndarray:
        if self.n_signs == 1:
            return np.ones((len(sign_code), n_layers))
        bits = (sign_code[:, None] >> np.arange(n_layers - 1, -1, -1)) & 1
        return np.where(bits == 1, -1.0, 1.0)


def _pair_from_index(q: np.ndarray, u: int) -> tuple[np.ndarray, np.ndarray]:
    """Row-major upper-triangle pair (j, k), j < k, of linear index q."""
    q = q.astype(np.int64)
    n_pairs = u * (u - 1) // 2
    # j is the row: the number of pairs in rows < j is j*u - j*(j+1)/2.
    r = n_pairs - 1 - q
    t = np.floor((np.sqrt(8.0 * r + 1) - 1) / 2).astype(np.int64)
    j = u - 2 - t
    # fix rare floating rounding
    start = j * u - j * (j + 1) // 2
    over = q < start
    j[over] -= 1
    start = j * u - j * (j + 1) // 2
    nxt = (j + 1) * u - (j + 1) * (j + 2) // 2
    under = q >= nxt
    j[under] += 1
    start = j * u - j * (j + 1) // 2
    k = q - start + j + 1
    return j, k


def _build_units(space: _IndexSpace, knots: np.ndarray, digits: np.ndarray):
    """Turn index digits into unit parameters with their data feature biases."""
    act = space.act
    p = len(digits)
    if space.architecture == "symmetrized":
        signs = space.sign_matrix(digits[:, 0], 4)
        w1, w2 = signs[:, :2], signs[:, 2:]
        j = digits[:, 1:4]
        b1 = -w1 * knots[j[:, :2]]
        t3 = knots[j[:, 2]]
        h0 = act(w1[:, 0] * t3 + b1[:, 0])
        h1 = act(w1[:, 1] * t3 + b1[:, 1])
        b2 = -(w2[:, 0] * h0 + w2[:, 1] * h1)
        return SymmetrizedUnits(act, w1, b1, w2, b2, j.astype(np.int64))

    n_layers = space.depth - 1
    weights = space.sign_matrix(digits[:, 0], n_layers)
    first = digits[:, 1].astype(np.int64)
    knot_index = np.empty((p, n_layers), dtype=np.int64)
    partner = np.full(p, -1, dtype=np.int64)
    is_pair = first >= space.u
    knot_index[:, 0] = np.where(is_pair, 0, first)
    if is_pair.any():
        jj, kk = _pair_from_index(first[is_pair] - space.u, space.u)
        knot_index[is_pair, 0] = jj
        partner[is_pair] = kk
    knot_index[:, 1:] = digits[:, 2:]
    biases = np.zeros((p, n_layers))
    biases[:, 0] = -weights[:, 0] * knots[knot_index[:, 0]]
    if is_pair.any():
        w0 = weights[is_pair, 0]
        biases[is_pair, 0] = act.normalized_midpoint(
            w0 * knots[knot_index[is_pair, 0]], w0 * knots[partner[is_pair]]
        )
    units = DeepNarrowUnits(act, weights, biases, knot_index, partner)
    for layer in range(1, n_layers):
        h = units.evaluate_pointwise(knots[knot_index[:, layer]], n_layers=layer)
        biases[:, layer] = -weights[:, layer] * h
    return units


def _unique_columns(a: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """Indices of the first occurrence of each distinct nonzero column.

    Columns are compared after rounding to ``rtol`` times the largest entry.
    They are grouped by a random projection of the rounded values, and
    groups are confirmed entry by entry, so the result is exact.
    """
    scale = max(float(a.max()), -float(a.min()))
    if scale == 0.0:
        return np.array([], dtype=np.int64)
    q = a * (1.0 / (scale * rtol))
    np.rint(q, out=q)
    nonzero = np.flatnonzero((q.max(axis=0) != 0) | (q.min(axis=0) != 0))
    if nonzero.size == 0:
        return nonzero
    # Integer arithmetic (wrapping on overflow) makes equal columns give
    # bit-identical signatures, whatever the memory layout.
    proj = np.random.default_rng(0).integers(1, 2**31, size=q.shape[0])
    qi = (q if nonzero.size == q.shape[1] else q[:, nonzero]).astype(np.int64)
    qi *= proj[:, None]
    signature = qi.sum(axis=0)
    order = np.lexsort((nonzero, signature))
    sig_sorted = signature[order]
    starts = np.flatnonzero(np.concatenate([[True], sig_sorted[1:] != sig_sorted[:-1]]))
    sizes = np.diff(np.append(starts, order.size))
    keep = [nonzero[order[starts[sizes == 1]]]]
    for s0, size in zip(starts[sizes > 1], sizes[sizes > 1]):
        group = nonzero[order[s0 : s0 + size]]
        while group.size:  # confirm: equal signature need not mean equal
            same = np.all(q[:, group] == q[:, [group[0]]], axis=0)
            keep.append(group[:1])
            group = group[~same]
    return np.sort(np.concatenate(keep).astype(np.int64))


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
        Largest dense dictionary, in bytes, that ``fit`` may build.
    deduplicate : bool, default=True
        Drop columns that vanish or repeat on the training points, keeping
        the first in enumeration order.

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
            what = (
                f"the exact {self._describe(act, depth)} library on {n} points "
                f"would have {space.size:,} candidate features"
                if exact
                else f"{n_cols:,} sampled features on {n} points"
            )
            raise ValueError(
                f"{what} ({bytes_needed / 2**30:.2f} GiB as float64), over the "
                f"memory budget of {budget / 2**30:.2f} GiB; "
                + (
                    "pass n_features=K to sample K features "
                    "(sampling='sequential' or 'uniform') or raise memory_budget"
                    if exact
                    else "sample fewer features or raise memory_budget"
                )
            )

        if exact:
            digits = space.all_digits()
        elif self.sampling == "uniform":
            digits = self._uniform_digits(space, n_features)
        else:
            digits = self._sequential_digits(space, x, knots, n_features)

        units = _build_units(space, knots, digits)
        codes = space.codes(digits)
        matrix = None
        if self.deduplicate:
            if two_layer:
                keep = ~_two_layer_redundant(
                    act, units.weights, units.knot_index, knots.size
                )
                keep_idx = np.flatnonzero(keep)
                if not exact:  # sampled codes may repeat
                    _, first = np.unique(codes[keep_idx], return_index=True)
                    keep_idx = np.sort(keep_idx[first])
            else:
                matrix = units.evaluate(x)
                keep_idx = _unique_columns(matrix)
                if keep_idx.size < matrix.shape[1]:
                    matrix = matrix[:, keep_idx]
            units = units.subset(keep_idx)
            codes = codes[keep_idx]

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
        self.fit_intercept_ = not act.is_sign_determined
        self.n_features_in_ = 1
        if need_matrix:
            return units.evaluate(x) if matrix is None else matrix
        return None

    def _describe(self, act, depth):
        return f"{self.architecture} depth-{depth} {act.name}"

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

        knots = self.knots_[self.features_.knot_index[:, 0]]
        return TwoLayerOperator(
            self.training_points_, self.activation_, knots, self.features_.weights[:, 0]
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True
        return tags
