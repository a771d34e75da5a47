"""Silencing warnings inside code that may run in parallel threads.

``warnings.catch_warnings`` changes the filters of the whole process: while
one thread of a threaded backtest silences a category, the warnings of that
category raised by every other thread are lost too (a task's
``ConvergenceWarning`` would then never mark its forecasts uncertified).
:func:`quiet` silences a category for the calling thread only when the
backtest's warning router is installed
(:mod:`tsmirrors.backtesting._parallel`), and falls back to
``catch_warnings`` otherwise.
"""

from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager

__all__ = ["LOCAL", "quiet"]

#: Per-thread state of the router: ``record`` (the running task's warnings)
#: and ``quiet`` (the categories the thread silences).
LOCAL = threading.local()


@contextmanager
def quiet(category: type[Warning] = Warning):
    """Ignore warnings of ``category`` raised in this block, in this thread."""
    from .backtesting._parallel import _RouteToTask

    if isinstance(warnings.showwarning, _RouteToTask):
        previous = getattr(LOCAL, "quiet", ())
        LOCAL.quiet = (*previous, category)
        try:
            yield
        finally:
            LOCAL.quiet = previous
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category)
        yield
