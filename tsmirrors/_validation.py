"""Input checks shared across tsmirrors (clear ValueErrors, nothing silent)."""

from __future__ import annotations

import numbers

import numpy as np


def check_finite_array(a, name: str, ndim: int | None = None) -> np.ndarray:
    """Return ``a`` as a float64 array, raising ValueError on NaN/inf or bad ndim."""
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(a).__name__}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    bad = ~np.isfinite(arr)
    if bad.any():
        kind = "NaN" if np.isnan(arr[bad]).any() else "inf"
        raise ValueError(
            f"{name} contains {int(bad.sum())} non-finite value(s) ({kind})"
            + _positions(bad)
        )
    return arr


def _positions(bad: np.ndarray, shown: int = 5) -> str:
    """Where ``bad`` is True: " at index [3, 7]" (1-D) or (row, column) pairs."""
    if bad.ndim == 0:
        return ""
    hits = np.argwhere(bad)[:shown]
    if bad.ndim == 1:
        where, label = [int(i[0]) for i in hits], "index"
    else:
        where = [tuple(int(k) for k in i) for i in hits]
        label = "(row, column)" if bad.ndim == 2 else "position"
    more = " ..." if bad.sum() > shown else ""
    return f" at {label} {where}{more}"


def check_1d_inputs(x, name: str = "x", min_distinct: int = 2) -> np.ndarray:
    """Validate 1-D training inputs given as shape (n,) or (n, 1)."""
    arr = np.asarray(x, dtype=object) if not hasattr(x, "shape") else x
    arr = check_finite_array(arr, name)
    if arr.ndim == 2:
        if arr.shape[1] != 1:
            raise ValueError(
                f"{name} must be 1-D data of shape (n,) or (n, 1), got shape "
                f"{arr.shape} with {arr.shape[1]} columns"
            )
        arr = arr[:, 0]
    elif arr.ndim != 1:
        raise ValueError(f"{name} must have shape (n,) or (n, 1), got {arr.shape}")
    if min_distinct <= 2:  # cheap: one pass instead of a sort
        n_distinct = int(arr.size > 0) + int(arr.size > 0 and arr.min() < arr.max())
    else:
        n_distinct = np.unique(arr).size
    if n_distinct < min_distinct:
        raise ValueError(
            f"{name} needs at least {min_distinct} distinct points, got "
            f"{n_distinct} distinct among {arr.size}"
        )
    return np.ascontiguousarray(arr)


def check_positive_int(value, name: str, allow_none: bool = False):
    """Validate a positive integer parameter."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def check_nonnegative(value, name: str) -> float:
    """Validate a finite, nonnegative real parameter (e.g. beta)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a nonnegative number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def check_quantile(tau, name: str = "quantile") -> float:
    """Validate a quantile level strictly inside (0, 1)."""
    if isinstance(tau, bool) or not isinstance(tau, numbers.Real):
        raise ValueError(f"{name} must be a number in (0, 1), got {tau!r}")
    tau = float(tau)
    if not (0.0 < tau < 1.0):
        raise ValueError(f"{name} must be in (0, 1), got {tau}")
    return tau


# The solvers square and sum values: squares overflow float64 above about
# 1e154 and lose all precision below about 1e-154, and sums over many samples
# need headroom on both sides. Data within these bounds is left alone.
MAX_MAGNITUDE = 1e100
MIN_SPREAD = 1e-100


def check_scale(a, name: str) -> None:
    """Raise a ValueError when finite data is too large or too flat for float64.

    ``a`` is 1-D or 2-D (columns checked one by one); it must already be
    finite. The message gives the magnitude found and a factor to rescale by.
    """
    arr = np.asarray(a, dtype=np.float64)
    if arr.size == 0:
        return
    columns = arr.reshape(arr.shape[0], -1) if arr.ndim > 1 else arr[:, None]
    magnitude = float(np.max(np.abs(columns)))
    if magnitude > MAX_MAGNITUDE:
        factor = 10.0 ** np.floor(np.log10(magnitude))
        raise ValueError(
            f"{name} has values of magnitude {magnitude:.3g}, beyond the scale the "
            f"solvers handle in float64 (at most {MAX_MAGNITUDE:.0e}: squares "
            f"overflow); divide it by {factor:.0e} and scale the results back"
        )
    spread = np.ptp(columns, axis=0)
    tiny = np.flatnonzero((spread > 0) & (spread < MIN_SPREAD))
    if tiny.size:
        k = int(tiny[0])
        where = f" (column {k})" if columns.shape[1] > 1 else ""
        factor = 10.0 ** -np.floor(np.log10(spread[k]))
        raise ValueError(
            f"{name}{where} varies only by {spread[k]:.3g}, below the scale the "
            f"solvers resolve in float64 (at least {MIN_SPREAD:.0e}: squares "
            f"underflow); multiply it by {factor:.0e} and scale the results back"
        )
