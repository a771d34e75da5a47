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
