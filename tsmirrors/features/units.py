"""Feature parameters: each Lasso column is a parallel unit of a network.

A feature is not only a column of the dictionary but a function: the
parallel unit ``X^(L)(x)`` of Definition 3.10 with its weights and biases.
These containers keep the parameters of every column, evaluate all units
at any points in one vectorized pass, and give readable names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .activations import Activation

__all__ = ["DeepNarrowUnits", "SymmetrizedUnits"]


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _affine_name(inner: str, weight: float, bias: float) -> str:
    """Readable ``weight * inner + bias`` for weight in {+1, -1, 0}."""
    if weight == 0:
        return _fmt(bias)
    if weight > 0:
        if bias == 0:
            return inner
        return f"{inner}{'+' if bias > 0 else '-'}{_fmt(abs(bias))}"
    return f"-{inner}" if bias == 0 else f"{_fmt(bias)}-{inner}"


@dataclass
class DeepNarrowUnits:
    """Parameters of deep narrow parallel units, one per feature.

    Unit ``i`` computes ``h = x`` then, for ``l = 0, ..., L-2``,
    ``h = sigma(weights[i, l] * h + biases[i, l])``.

    Attributes
    ----------
    activation : Activation
    weights : ndarray of shape (p, L-1)
        Inner weights, all +1 or -1 (the rescaled problem, Lemma D.4), or 0
        for a 2-layer sign or threshold unit that is constant: the column
        ``sigma(x - x_min)`` or ``sigma(x_max - x)``, constant on the data,
        with its bias moved to infinity.
    biases : ndarray of shape (p, L-1)
        Data feature biases (Definition 3.9), or a first-layer midpoint bias.
    knot_index : ndarray of int of shape (p, L-1)
        Index into the library's knots of the training point ``x_{j_l}`` that
        defines each layer's data feature bias.
    partner_index : ndarray of int of shape (p,)
        For a first-layer midpoint feature bias, the second knot index
        ``j'_1``; -1 for a data feature bias.
    """

    activation: Activation
    weights: np.ndarray
    biases: np.ndarray
    knot_index: np.ndarray
    partner_index: np.ndarray

    architecture = "deep_narrow"

    @property
    def depth(self) -> int:
        return self.weights.shape[1] + 1

    def __len__(self) -> int:
        return self.weights.shape[0]

    def subset(self, idx) -> DeepNarrowUnits:
        idx = np.asarray(idx)
        return DeepNarrowUnits(
            self.activation,
            self.weights[idx],
            self.biases[idx],
            self.knot_index[idx],
            self.partner_index[idx],
        )

    def evaluate(self, x) -> np.ndarray:
        """Evaluate every unit at the points ``x``; returns shape (n, p)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        act = self.activation
        h = np.multiply.outer(x, self.weights[:, 0])
        h += self.biases[:, 0]
        act.apply_(h)
        for layer in range(1, self.weights.shape[1]):
            h *= self.weights[:, layer]
            h += self.biases[:, layer]
            act.apply_(h)
        return h

    def evaluate_pointwise(self, points, n_layers: int | None = None) -> np.ndarray:
        """Evaluate unit ``i`` at ``points[i]`` through its first layers."""
        h = np.asarray(points, dtype=np.float64).copy()
        n_layers = self.weights.shape[1] if n_layers is None else n_layers
        for layer in range(n_layers):
            h = self.activation(self.weights[:, layer] * h + self.biases[:, layer])
        return h

    def names(self) -> list[str]:
        act = self.activation
        out = []
        for w_row, b_row in zip(self.weights, self.biases):
            expr = "x"
            for layer, (w, b) in enumerate(zip(w_row, b_row)):
                inner = _affine_name(expr, w, b)
                if layer > 0 and act.name == "abs" and inner != expr:
                    inner = f"({inner})"
                expr = act.format(inner)
            out.append(expr)
        return out

    def params(self, i: int) -> dict:
        """Per-layer parameters of feature ``i``."""
        return {
            "architecture": self.architecture,
            "activation": self.activation.name,
            "weights": self.weights[i].tolist(),
            "biases": self.biases[i].tolist(),
            "knot_index": self.knot_index[i].tolist(),
            "partner_index": int(self.partner_index[i]),
        }

    def breakpoints(self, i: int, lo: float, hi: float) -> np.ndarray:
        """Breakpoints of feature ``i`` inside ``[lo, hi]``, found exactly.

        Each layer maps the piecewise linear function ``h`` to
        ``sigma(w h + b)``, which adds a breakpoint wherever ``w h + b``
        crosses zero, so the breakpoints are tracked layer by layer.
        """
        act = self.activation
        # h is linear between consecutive nodes; each layer adds the points
        # where its pre-activation w * h + b crosses zero.
        nodes = np.array([lo, hi], dtype=float)
        vals = nodes.copy()
        for w, b in zip(self.weights[i], self.biases[i]):
            z = w * vals + b
            seg = np.flatnonzero(z[:-1] * z[1:] < 0)
            cross = nodes[seg] - z[seg] * (nodes[seg + 1] - nodes[seg]) / (
                z[seg + 1] - z[seg]
            )
            new_nodes = np.unique(np.concatenate([nodes, cross]))
            nodes, vals = new_nodes, act(np.interp(new_nodes, nodes, z))
        # keep only points where the final function really changes slope
        return _true_kinks(nodes, vals, lo, hi)


def _true_kinks(nodes, vals, lo, hi) -> np.ndarray:
    if len(nodes) < 3:
        return np.array([], dtype=float)
    slopes = np.diff(vals) / np.diff(nodes)
    change = np.abs(np.diff(slopes)) > 1e-9 * (1 + np.abs(slopes[:-1]))
    pts = nodes[1:-1][change]
    return pts[(pts > lo) & (pts < hi)]


@dataclass
class SymmetrizedUnits:
    """Parameters of 3-layer symmetrized units (Theorem 3.13), one per feature.

    Unit ``i`` computes ``h_k = sigma(first_weights[i, k] * x +
    first_biases[i, k])`` for ``k = 0, 1`` and returns
    ``sigma(second_weights[i] @ h + second_biases[i])``.
    """

    activation: Activation
    first_weights: np.ndarray
    first_biases: np.ndarray
    second_weights: np.ndarray
    second_biases: np.ndarray
    knot_index: np.ndarray

    architecture = "symmetrized"
    depth = 3

    def __len__(self) -> int:
        return self.first_weights.shape[0]

    def subset(self, idx) -> SymmetrizedUnits:
        idx = np.asarray(idx)
        return SymmetrizedUnits(
            self.activation,
            self.first_weights[idx],
            self.first_biases[idx],
            self.second_weights[idx],
            self.second_biases[idx],
            self.knot_index[idx],
        )

    def hidden(self, x) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        act = self.activation
        h0 = act(x[:, None] * self.first_weights[:, 0] + self.first_biases[:, 0])
        h1 = act(x[:, None] * self.first_weights[:, 1] + self.first_biases[:, 1])
        return h0, h1

    def evaluate(self, x) -> np.ndarray:
        h0, h1 = self.hidden(x)
        z = h0 * self.second_weights[:, 0]
        z += h1 * self.second_weights[:, 1]
        z += self.second_biases
        return self.activation(z)

    def names(self) -> list[str]:
        act = self.activation
        out = []
        for w1, b1, w2, b2 in zip(
            self.first_weights,
            self.first_biases,
            self.second_weights,
            self.second_biases,
        ):
            terms = []
            for k in range(2):
                h = act.format(_affine_name("x", w1[k], b1[k]))
                terms.append(("+" if w2[k] > 0 else "-") + h)
            inner = "".join(terms).lstrip("+")
            if b2 != 0:
                inner += ("+" if b2 > 0 else "-") + _fmt(abs(b2))
            out.append(act.format(inner))
        return out

    def breakpoints(self, i: int, lo: float, hi: float) -> np.ndarray:
        """Breakpoints of feature ``i`` inside ``[lo, hi]``, found exactly."""
        one = self.subset([i])
        w1, b1 = self.first_weights[i], self.first_biases[i]
        nodes = np.unique(np.clip(np.concatenate([[lo, hi], -b1 / w1]), lo, hi))
        h0, h1 = one.hidden(nodes)
        z = (h0 * one.second_weights[:, 0] + h1 * one.second_weights[:, 1])[:, 0]
        z = z + self.second_biases[i]
        seg = np.flatnonzero(z[:-1] * z[1:] < 0)
        cross = nodes[seg] - z[seg] * (nodes[seg + 1] - nodes[seg]) / (
            z[seg + 1] - z[seg]
        )
        nodes = np.unique(np.concatenate([nodes, cross]))
        return _true_kinks(nodes, one.evaluate(nodes)[:, 0], lo, hi)

    def params(self, i: int) -> dict:
        return {
            "architecture": self.architecture,
            "activation": self.activation.name,
            "first_weights": self.first_weights[i].tolist(),
            "first_biases": self.first_biases[i].tolist(),
            "second_weights": self.second_weights[i].tolist(),
            "second_bias": float(self.second_biases[i]),
            "knot_index": self.knot_index[i].tolist(),
        }
