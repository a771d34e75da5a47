"""A warm-start handle for repeated fits of :class:`ConvexNetRegressor`.

Fitting several quantile levels (or penalties) on the same inputs repeats
the same library and the same linear program with other costs or bounds.
A :class:`WarmStart` passed to ``fit`` keeps what the next fit can reuse:
the fitted libraries and the design on these inputs, and the solver's live
HiGHS model, re-solved from its last optimal basis. The handle lives outside
the fitted models (they keep only the certificate, so they stay picklable,
deep-copyable and saveable); drop it when the fits are done.
"""

from __future__ import annotations

import numpy as np

__all__ = ["WarmStart"]

#: Parameters that decide the library and the design.
_LIBRARY_PARAMS = ("activation", "depth", "architecture", "n_features", "sampling",
                   "random_state", "negative_slope", "memory_budget", "solver")


class WarmStart:
    """Reusable solver state across fits on the same inputs.

    The libraries are reused only when a new fit would build the same ones:
    ``random_state`` an integer, or None with the exact library
    (``n_features=None``); the result of each fit equals a
    cold fit's objective, which the solver certifies.

    Examples
    --------
    >>> import numpy as np
    >>> from tsmirrors import ConvexNetRegressor
    >>> from tsmirrors.models.warm_start import WarmStart
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(80, 2)), rng.normal(size=80)
    >>> handle = WarmStart()
    >>> fits = [ConvexNetRegressor(activation="abs", beta=1.0, loss="quantile",
    ...                            quantile=q, n_features=5, random_state=0
    ...                            ).fit(X, y, warm_start=handle)
    ...         for q in (0.1, 0.5, 0.9)]
    >>> all(f.solver_result_.converged for f in fits)
    True
    """

    def __init__(self):
        self._key = None
        self._X = None
        self.libraries = None
        self.design = None
        self.result = None

    @staticmethod
    def _params(model):
        params = tuple(getattr(model, name) for name in _LIBRARY_PARAMS)
        seed = model.random_state
        seeded = isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
        if not seeded and not (seed is None and model.n_features is None):
            # sampled features drawn anew at every fit (the exact library
            # draws nothing)
            return None
        return params

    def lookup(self, model, X):
        """``(libraries, design)`` of an earlier fit on ``X``, or None."""
        key = self._params(model)
        if (key is None or key != self._key or self._X is None
                or self._X.shape != X.shape or not np.array_equal(self._X, X)):
            return None
        return self.libraries, self.design

    def remember(self, model, X, libraries, design) -> None:
        """Keep the libraries and design of a fit on ``X`` (drops the result)."""
        key = self._params(model)
        self._key = key
        self._X = None if key is None else np.array(X, copy=True)
        self.libraries = libraries
        self.design = design
        self.result = None
