"""Candidate features of the deep library: their index set and parameters.

Every candidate of Definition 3.10 has a mixed-radix code (sign pattern,
first-layer bias, later-layer biases); :class:`_IndexSpace` enumerates,
decodes and samples the codes, and :func:`_build_units` turns them into the
network parameters of the features, with their data feature biases.
"""

from __future__ import annotations

import math

import numpy as np

from .activations import Activation
from .units import DeepNarrowUnits, SymmetrizedUnits


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

    def novelty(self, digits: np.ndarray) -> np.ndarray:
        """How many layers of each candidate add a new training point.

        A bias at the same point as the layer before reproduces the
        shallower feature, so the candidates with the least novelty are the
        simplest: enumeration goes by novelty, so that de-duplication keeps
        the representative with the fewest breakpoints, e.g. ``|x-2|``
        rather than ``||x|-2|``.
        """
        if self.architecture == "symmetrized":
            j = digits[:, 1:]
            return (j[:, 1] != j[:, 0]).astype(int) + (
                (j[:, 2] != j[:, 0]) & (j[:, 2] != j[:, 1])
            )
        first = digits[:, 1]
        novelty = (first >= self.u).astype(int)
        prev = np.where(first >= self.u, -1, first)
        for k in range(2, digits.shape[1]):
            novelty += digits[:, k] != prev
            prev = digits[:, k]
        return novelty

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Digits of linear codes below 2**62 (the inverse of :meth:`codes`)."""
        digits = np.empty((len(codes), len(self.radix)), dtype=np.int64)
        rest = np.asarray(codes, dtype=np.int64)
        for k in range(len(self.radix) - 1, -1, -1):
            rest, digits[:, k] = np.divmod(rest, self.radix[k])
        return digits

    def iter_digits(self, block: int):
        """Every candidate, simplest first, in blocks of at most ``block``.

        The order is by :meth:`novelty`, then by code. 2-layer libraries
        without midpoints have one breakpoint per feature: code order.
        """
        if len(self.radix) == 2 and not self.midpoints:
            levels = [None]
        else:
            top = 2 if self.architecture == "symmetrized" else len(self.radix) - 1
            levels = range(top + 1)
        pending, n_pending = [], 0
        for level in levels:
            for start in range(0, self.size, block):
                digits = self.decode(
                    np.arange(start, min(start + block, self.size), dtype=np.int64)
                )
                if level is not None:
                    digits = digits[self.novelty(digits) == level]
                pending.append(digits)
                n_pending += len(digits)
                if n_pending >= block:
                    merged = np.concatenate(pending)
                    yield merged[:block]
                    pending, n_pending = [merged[block:]], n_pending - block
        if n_pending:
            yield np.concatenate(pending)

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
