"""Shared test helpers."""

from __future__ import annotations

from sklearn.utils.estimator_checks import estimator_checks_generator


def sklearn_checks(*estimators):
    """scikit-learn's estimator checks, without the array API one (unsupported)."""
    return [
        (est, check)
        for estimator in estimators
        for est, check in estimator_checks_generator(estimator, mark="xfail")
        if getattr(check, "func", check).__name__ != "check_array_api_input"
    ]


def check_id(value):
    """Readable test ids: the check's name, or the estimator's repr."""
    if callable(value):
        return getattr(value, "func", value).__name__
    return type(value).__name__


#: quantile levels of the value-at-risk tests
VAR_TAUS = (0.01, 0.05, 0.1, 0.5, 0.9, 0.95, 0.99)


def garch_like(n=400, seed=0):
    """A random walk whose step size switches between calm and volatile."""
    import numpy as np

    rng = np.random.default_rng(seed)
    sd = np.where((np.arange(n) // 100) % 2 == 0, 1.0, 4.0)
    return 1000 + np.cumsum(sd * rng.standard_normal(n))
