"""Axis helpers shared by the experiments' figures: labels, ticks, scales."""

from __future__ import annotations


def log_scale_if_wide(ax, decades: float = 1.0) -> None:
    """A log y axis only when the drawn values span ``decades`` or more.

    On a narrow range a log axis labels its minor ticks
    (``1.1325 x 10^-2``) and the labels run into each other.
    """
    lo, hi = ax.get_ylim()
    if lo > 0 and hi / lo >= 10.0**decades:
        ax.set_yscale("log")


def log_axis(ax) -> None:
    """A log x axis labelled in plain numbers at 1, 2 and 5 times powers of 10.

    Matplotlib labels every minor tick of a log axis that spans less than a
    decade (``3 x 10^-3 4 x 10^-3 ...``), and the labels run into each other.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def count_axis(ax) -> None:
    """Whole numbers only on a y axis of counts."""
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def unit_mse(ds) -> str:
    """Axis label of a test MSE: price windows are in standardized units."""
    return "test MSE (standardized units)" if ds.index_test is not None else "test MSE"


def time_axis(ax, index) -> None:
    """Concise date ticks and a ``time (UTC)`` label, or ``time step``."""
    from ..plotting import _time_axis

    _time_axis(ax, index)
