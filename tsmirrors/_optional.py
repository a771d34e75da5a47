"""Lazy imports of the heavy optional dependencies, with a message naming the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

_EXTRAS = {
    "torch": "torch",
    "statsmodels": "stats",
    "yfinance": "finance",
    "matplotlib": "plot",
    "dask": "dask",
    "distributed": "dask",
    "tqdm": "progress",
}


def import_optional(module: str) -> ModuleType:
    """Import ``module`` or raise an ImportError naming the tsmirrors extra.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"torch"`` or ``"matplotlib.pyplot"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra = _EXTRAS.get(top, "all")
        raise ImportError(
            f"{module!r} is required for this feature but is not installed. "
            f"Install it with: pip install 'tsmirrors[{extra}]'"
        ) from exc
