"""The paper's experiments (Section 4 and Appendix E) as functions.

Each function runs one experiment, writes PNG figures, CSV tables and a
markdown summary into an output directory, and returns an
:class:`ExperimentResult` with the tables as data frames. ``quick=True``
shrinks every size so the run takes seconds; full runs spread independent
trials over ``n_jobs`` workers with the joblib/Dask path of backtesting.
"""

from __future__ import annotations

from ._common import ExperimentResult
from .autoregression import autoregression
from .depth import depth
from .optimal_set import optimal_set
from .planted import planted_path
from .quantile import quantile_regression

__all__ = [
    "ExperimentResult",
    "autoregression",
    "depth",
    "optimal_set",
    "planted_path",
    "quantile_regression",
]
