"""Run independent tasks serially, with joblib, or on a dask.distributed cluster.

Results always come back in task order, so every backend gives the same
output as the serial run. Each task runs with BLAS limited to one thread:
parallelism comes from the workers, not from BLAS inside them, which avoids
oversubscription and keeps floating-point results independent of the
backend.

A pandas Series shared by the tasks travels to worker processes as plain
numpy arrays and builtins (values, int64 timestamps, the time zone and the
frequency string) and is rebuilt there: a pickled pandas index is only
readable by the pandas version that wrote it, while a worker may run another
one (a dask cluster, a worker started from another environment).
"""

from __future__ import annotations

import logging
import numbers
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager, nullcontext
from functools import partial
from typing import Any, NamedTuple

import joblib
import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController

from .._optional import import_optional
from .._warnings import LOCAL

__all__ = ["certified", "check_parallel", "effective_workers", "run_tasks"]

_BACKEND_ERROR = (
    "backend must be 'dask' or the name of a joblib backend such as 'loky', "
    "'threading' or 'sequential', got {!r}"
)


def check_parallel(n_jobs, backend, client) -> None:
    """Validate ``n_jobs``, ``backend`` and ``client``; ValueError otherwise."""
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral)
        or n_jobs == 0
    ):
        raise ValueError(
            "n_jobs must be a nonzero integer or None (-1 uses all cores), got "
            f"{n_jobs!r}"
        )
    if not isinstance(backend, str):
        raise ValueError(_BACKEND_ERROR.format(backend))
    if backend != "dask":
        try:
            joblib.Parallel(n_jobs=n_jobs, backend=backend)
        except ValueError as exc:
            raise ValueError(_BACKEND_ERROR.format(backend)) from exc
        if client is not None:
            raise ValueError(
                f"client is only used with backend='dask', got backend={backend!r}"
            )


def effective_workers(n_jobs, n_tasks: int, default: int = 1) -> int:
    """Workers worth starting: ``n_jobs``, at most one per task and per core.

    ``n_jobs=-1`` means all cores, ``-2`` all but one, ...; None means
    ``default``. Cores are those this process may run on (CPU affinity and
    container quotas, as :func:`joblib.cpu_count` counts them): more workers
    than cores or tasks only cost start-up time and memory.
    """
    cores = joblib.cpu_count()
    if n_jobs is None:
        wanted = default
    elif n_jobs < 0:
        wanted = cores + 1 + int(n_jobs)
    else:
        wanted = int(n_jobs)
    return max(1, min(wanted, cores, n_tasks))


_CONTROLLER: tuple[int, ThreadpoolController] | None = None


def _limit_threads(user_api: str | None = None):
    """Limit BLAS and OpenMP (or only ``user_api``) to one thread, as a context.

    Finding the thread-pool libraries costs milliseconds, so this process's
    controller is kept and only rebuilt after new modules were imported
    (which may have loaded new libraries).
    """
    global _CONTROLLER
    n_modules = len(sys.modules)
    if _CONTROLLER is None or _CONTROLLER[0] != n_modules:
        _CONTROLLER = (n_modules, ThreadpoolController())
    return _CONTROLLER[1].limit(limits=1, user_api=user_api)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, progress: bool, desc: str):
    if not progress:
        return _NoBar()
    try:
        tqdm = import_optional("tqdm")
    except ImportError as exc:
        warnings.warn(
            f"{exc}; running without a progress bar (pass progress=False to "
            "silence this warning)",
            UserWarning,
            stacklevel=4,
        )
        return _NoBar()
    return tqdm.tqdm(total=total, desc=desc, unit="fit")


def run_tasks(
    func: Callable,
    tasks: Sequence[tuple],
    *,
    n_jobs: int | None = 1,
    backend: str = "loky",
    client: Any = None,
    progress: bool = False,
    desc: str = "backtest",
    shared: Any = None,
    return_warnings: bool = False,
):
    """``[func(*args) for args in tasks]``, in parallel, results in task order.

    Tasks travel to the workers in chunks of consecutive tasks (about
    ``CHUNKS_PER_WORKER`` per worker), one dispatch each. The warnings a
    task raises are recorded where it runs (whatever the filters there) and
    issued again here, in the caller, once per distinct message and
    category, with the number of tasks that raised it; the caller's own
    warning filters then apply.

    Parameters
    ----------
    func : callable
        A module-level function (picklable for process backends).
    tasks : sequence of tuple
        Positional arguments of each call.
    n_jobs : int or None, default=1
        Workers for joblib (``-1``: all cores). With ``backend="dask"``, the
        workers of the LocalCluster started when no ``client`` is given
        (None: 2); ignored with a ``client``. Capped by
        :func:`effective_workers` at the number of tasks and of cores.
    backend : str, default="loky"
        A joblib backend name, or ``"dask"``.
    client : distributed.Client or None, default=None
        A dask client to run on (``backend="dask"`` only); left open.
    progress : bool, default=False
        Show a tqdm bar over tasks.
    desc : str, default="backtest"
        Label of the progress bar.
    shared : object, default=None
        Data every task reads (e.g. the whole series). When given, the calls
        are ``func(shared, *args)`` and ``shared`` is sent once per chunk
        (scattered once to a dask cluster) instead of once per task.
    return_warnings : bool, default=False
        Also return the warnings of every task.

    Returns
    -------
    results : list
        One result per task, in the order of ``tasks``.
    warnings : list of list of tuple
        Only with ``return_warnings=True``: per task, the ``(category,
        message, filename, lineno)`` of each warning it raised.
    """
    check_parallel(n_jobs, backend, client)
    tasks = list(tasks)
    bar = _progress_bar(len(tasks), progress, desc)
    try:
        if backend == "dask":
            pairs = _run_dask(func, tasks, n_jobs, client, bar, shared)
        else:
            pairs = _run_joblib(func, tasks, n_jobs, backend, bar, shared)
    finally:
        bar.close()
    results = [result for result, _ in pairs]
    records = [record for _, record in pairs]
    _reissue(records)
    return (results, records) if return_warnings else results


def certified(records: Sequence[Sequence[tuple]]) -> np.ndarray:
    """Per task, True unless it raised a ``ConvergenceWarning``."""
    return np.array(
        [not any(issubclass(r[0], ConvergenceWarning) for r in record)
         for record in records],
        dtype=bool,
    )


def _reissue(records: list) -> None:
    """Issue the tasks' warnings here, once per (category, message), counted."""
    counts: dict[tuple, list] = {}
    for record in records:
        for category, message, filename, lineno in record:
            key = (category, message)
            if key in counts:
                counts[key][0] += 1
            else:
                counts[key] = [1, filename, lineno]
    for (category, message), (count, filename, lineno) in counts.items():
        if count > 1:
            message = f"{message} [raised by {count} of {len(records)} tasks]"
        warnings.warn_explicit(message, category, filename, lineno)


# Warnings of tasks that run in threads of one process: a process-wide
# catch_warnings cannot tell the threads apart (and is not thread-safe), so
# the process routes each warning to the record of the thread that raised it.
_LOCAL = LOCAL  # shared with tsmirrors._warnings.quiet


class _RouteToTask:
    """``warnings.showwarning`` that records a task's warnings in its thread."""

    def __init__(self, fallback):
        self.fallback = fallback

    def __call__(self, message, category, filename, lineno, file=None, line=None):
        if issubclass(category, getattr(_LOCAL, "quiet", ())):
            return None  # silenced by this thread (tsmirrors._warnings.quiet)
        record = getattr(_LOCAL, "record", None)
        if record is None:
            return self.fallback(message, category, filename, lineno, file, line)
        record.append((category, str(message), filename, lineno))
        return None


_ROUTE_LOCK = threading.Lock()
_ROUTE_STATE: dict = {"tasks": 0, "saved": None}


@contextmanager
def _routed_warnings():
    """While tasks run in this process's threads: every warning is shown
    ("always"), a task's to its record, the others as before. The first task
    in installs the router, the last one out restores the process's filters."""
    with _ROUTE_LOCK:
        if _ROUTE_STATE["tasks"] == 0 and not isinstance(warnings.showwarning,
                                                         _RouteToTask):
            saved = warnings.catch_warnings()
            saved.__enter__()
            warnings.simplefilter("always")
            warnings.showwarning = _RouteToTask(warnings.showwarning)
            _ROUTE_STATE["saved"] = saved
        _ROUTE_STATE["tasks"] += 1
    try:
        yield
    finally:
        with _ROUTE_LOCK:
            _ROUTE_STATE["tasks"] -= 1
            saved = _ROUTE_STATE["saved"]
            if _ROUTE_STATE["tasks"] == 0 and saved is not None:
                _ROUTE_STATE["saved"] = None
                saved.__exit__(None, None, None)


def _call_recorded(func: Callable, args: tuple, threads: bool) -> tuple:
    """``(func(*args), warnings it raised)``."""
    if threads:  # the router is installed: record in this thread
        _LOCAL.record = record = []
        try:
            return func(*args), record
        finally:
            _LOCAL.record = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = func(*args)
    return result, [(w.category, str(w.message), w.filename, w.lineno)
                    for w in caught]


#: Chunks per worker: a chunk of tasks is one dispatch (one round trip to a
#: worker, one thread-limit context); several per worker keep the load
#: balanced when tasks differ in cost (expanding windows).
CHUNKS_PER_WORKER = 8


def _chunks(tasks: list, n_workers: int) -> list[list]:
    """Consecutive chunks of ``tasks``, about ``CHUNKS_PER_WORKER`` per worker."""
    n_chunks = max(1, min(len(tasks), CHUNKS_PER_WORKER * n_workers))
    bounds = np.linspace(0, len(tasks), n_chunks + 1).round().astype(int)
    return [tasks[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


_NOTHING = object()


class _SeriesPayload(NamedTuple):
    """A pandas Series as numpy arrays and builtins, readable by any pandas."""

    values: np.ndarray
    name: Any
    index: np.ndarray | None  # int64 timestamps, or the labels of other indexes
    unit: str | None  # resolution of the timestamps (None: not timestamps)
    tz: Any  # a tzinfo (datetime, zoneinfo, pytz, dateutil), not pandas'
    freq: str | None
    index_name: Any
    range: tuple[int, int, int] | None  # start, stop, step of a RangeIndex


def _pack(shared: Any) -> Any:
    """``shared`` ready for another process: a Series becomes a payload."""
    if not isinstance(shared, pd.Series):
        return shared
    index = shared.index
    common = {"values": shared.to_numpy(), "name": shared.name,
              "index_name": index.name}
    if isinstance(index, pd.RangeIndex):
        return _SeriesPayload(index=None, unit=None, tz=None, freq=None,
                              range=(index.start, index.stop, index.step), **common)
    if isinstance(index, pd.DatetimeIndex):
        # UTC instants: wall times would be ambiguous at DST changes
        stamps = index if index.tz is None else index.tz_convert("UTC")
        stamps = stamps.tz_localize(None).to_numpy()
        unit = np.datetime_data(stamps.dtype)[0]
        return _SeriesPayload(index=stamps.view(np.int64), unit=unit, tz=index.tz,
                              freq=index.freqstr, range=None, **common)
    return _SeriesPayload(index=index.to_numpy(), unit=None, tz=None, freq=None,
                          range=None, **common)


def _unpack(shared: Any) -> Any:
    """Rebuild the Series of a :func:`_pack` payload (other objects as they are)."""
    if not isinstance(shared, _SeriesPayload):
        return shared
    if shared.range is not None:
        index = pd.RangeIndex(*shared.range, name=shared.index_name)
    elif shared.unit is not None:
        index = pd.DatetimeIndex(shared.index.view(f"datetime64[{shared.unit}]"))
        if shared.tz is not None:
            index = index.tz_localize("UTC").tz_convert(shared.tz)
        try:
            index = pd.DatetimeIndex(index, freq=shared.freq, name=shared.index_name)
        except ValueError:  # an alias this pandas spells otherwise ("H", "h")
            index = pd.DatetimeIndex(index, freq="infer", name=shared.index_name)
    else:
        index = pd.Index(shared.index, name=shared.index_name)
    return pd.Series(shared.values, index=index, name=shared.name, copy=False)


def _call_chunk(func: Callable, chunk: list, limit_blas: bool,
                shared: Any = _NOTHING, threads: bool = False) -> list:
    """``[(func([shared,] *args), warnings)]`` for the chunk's tasks.

    ``threads``: tasks may run concurrently in threads of this process, so
    their warnings are routed per thread (see :class:`_RouteToTask`).
    """
    shared = _unpack(shared)
    extra = () if shared is _NOTHING else (shared,)
    # BLAS thread counts are process-wide, but OpenMP's is per thread: a task
    # in a worker thread limits OpenMP itself, the caller limits the rest.
    with _limit_threads(None if limit_blas else "openmp"), (
        _routed_warnings() if threads else nullcontext()
    ):
        return [_call_recorded(func, (*extra, *args), threads) for args in chunk]


def _run_joblib(func, tasks, n_jobs, backend, bar, shared=None) -> list:
    results = []
    n_workers = effective_workers(n_jobs, len(tasks),
                                  default=joblib.effective_n_jobs(None))
    extra = () if shared is None else (shared,)
    if backend == "sequential" or n_workers == 1:
        with _limit_threads():
            for args in tasks:
                results.append(_call_recorded(func, (*extra, *args), False))
                bar.update(1)
        return results
    threads = backend == "threading"
    if shared is not None and not threads:
        extra = (_pack(shared),)
    # the tasks of the threading backend run here: route their warnings
    with _limit_threads() if threads else nullcontext(), (
        _routed_warnings() if threads else nullcontext()
    ):
        try:
            parallel = joblib.Parallel(
                n_jobs=n_workers, backend=backend, return_as="generator"
            )
        except ValueError:  # e.g. "multiprocessing": results arrive all at once
            parallel = joblib.Parallel(n_jobs=n_workers, backend=backend)
        chunks = _chunks(tasks, n_workers)
        calls = (joblib.delayed(_call_chunk)(func, chunk, not threads, *extra,
                                             threads=threads)
                 for chunk in chunks)
        for chunk_results in parallel(calls):
            results.extend(chunk_results)
            bar.update(len(chunk_results))
    return results


def _run_dask(func, tasks, n_jobs, client, bar, shared=None) -> list:
    distributed = import_optional("distributed")
    own = client is None
    cluster = None
    if own:
        cluster = distributed.LocalCluster(
            n_workers=effective_workers(n_jobs, len(tasks), default=2),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = distributed.Client(cluster)
    try:
        nthreads = client.nthreads().values()
        n_workers = max(1, sum(nthreads))
        chunks = _chunks(tasks, n_workers)
        # a worker running several tasks at once records them per thread
        call = partial(_call_chunk, func, limit_blas=True,
                       threads=any(n > 1 for n in nthreads))
        kwargs = {}
        if shared is not None:  # sent once; map resolves the future per call
            kwargs["shared"] = client.scatter(_pack(shared), broadcast=True)
        futures = client.map(call, chunks, pure=False, **kwargs)
        sizes = {f.key: len(c) for f, c in zip(futures, chunks)}
        for future in distributed.as_completed(futures):
            if future.status == "error":
                try:
                    future.result()  # raises the task's exception
                finally:
                    client.cancel(futures)
            bar.update(sizes[future.key])
        return [r for chunk_results in client.gather(futures) for r in chunk_results]
    finally:
        if own:
            client.close()
            cluster.close()
