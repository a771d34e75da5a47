"""Download prices with yfinance, with an on-disk cache that grows over time."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from .._atomic import atomic_open, file_lock
from .._optional import import_optional
from ._quality import DataQualityWarning
from ._yahoo_cache import CacheDamagedError, merge, missing_report, read_cache
from .loaders import PRICE_COLUMNS, _attach_frequency_report

__all__ = [
    "DataUnavailableError",
    "default_cache_dir",
    "exclusive_end",
    "load_yfinance",
]

_INTERVALS = (
    "1m",
    "2m",
    "5m",
    "15m",
    "30m",
    "60m",
    "90m",
    "1h",
    "1d",
    "5d",
    "1wk",
    "1mo",
    "3mo",
)
# What yfinance reports (in its log) when Yahoo could not be reached at all.
_NETWORK_ERROR = re.compile(
    r"DNSError|Could not resolve|resolve host|Failed to perform|curl: \(\d+\)|"
    r"ConnectionError|ConnectTimeout|ReadTimeout|timed out|Timeout|"
    r"Network is unreachable|No route to host|Max retries|Connection (?:refused|"
    r"reset|aborted)|SSLError|Temporary failure in name resolution|"
    r"Too Many Requests|Rate ?limit",
    re.IGNORECASE,
)
# What yfinance reports when Yahoo answered but has no bars in the range: the
# only empty answer that is no failure (a Yahoo status code is one).
_NO_DATA = re.compile(
    r"no price data found|Data doesn't exist for|No data found", re.IGNORECASE
)
_STATUS = re.compile(r"status_code|HTTP Error|Unauthorized|Invalid Crumb", re.I)


class DataUnavailableError(RuntimeError):
    """Prices could not be downloaded and there is no cached copy.

    Raised by :func:`load_yfinance` when Yahoo Finance cannot be reached (no
    network, rate limit, outage) and the cache directory holds nothing for
    the ticker and interval. The message names the cache directory and the
    offline alternatives: a local file (``tsmirrors backtest --csv FILE``)
    or the planted demo (``tsmirrors demo``).
    """


def default_cache_dir() -> Path:
    """The cache directory: ``$TSMIRRORS_CACHE``, else ``~/.cache/tsmirrors``."""
    env = os.environ.get("TSMIRRORS_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tsmirrors"


def _cache_file(cache_dir: Path, ticker: str, interval: str) -> Path:
    # Percent-encoding keeps tickers such as "^GSPC" or "EURUSD=X" distinct.
    return cache_dir / f"yfinance_{quote(ticker, safe='-.')}_{interval}.csv"


def _as_utc(value, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a date or timestamp, got {value!r}") from exc
    if ts is pd.NaT:
        raise ValueError(f"{name} must be a date or timestamp, got {value!r}")
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def exclusive_end(end, name: str = "end") -> pd.Timestamp | None:
    """The exclusive bound of :func:`load_yfinance` that keeps ``end`` itself.

    Read as :func:`~tsmirrors.data.gaps.select_close` reads its inclusive
    ``end``: a naive date alone keeps its whole day (``"2024-01-10"`` gives
    ``2024-01-11 00:00 UTC``), a month its whole month, and a timestamp is
    kept itself. Naive values are UTC.

    Parameters
    ----------
    end : str, datetime, pandas.Timestamp or None
        The last instant to keep.
    name : str, default="end"
        Name of the value in messages (``"--end"`` for the command line).

    Returns
    -------
    bound : pandas.Timestamp or None
        A UTC timestamp just after everything ``end`` names; None for None.
    """
    if end is None:
        return None
    stamp = _as_utc(end, name).as_unit("ns")
    if isinstance(end, str) and pd.Timestamp(end).tzinfo is None:
        try:  # as pandas' .loc slices: "2024-06" keeps June, "2024-06-30" its day
            # the start of the next period: exact, whatever unit end_time has
            return (pd.Period(end.strip()) + 1).start_time.tz_localize("UTC")
        except (TypeError, ValueError):
            pass
    return stamp + pd.Timedelta(1, "ns")


class _LogCapture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record):
        with contextlib.suppress(Exception):
            self.messages.append(record.getMessage())


def _download(yf, ticker, interval, start, end):
    """Call ``yfinance.download``; return (frame or None, yfinance's messages).

    yfinance reports most failures in its log and returns an empty frame, so
    its log is captured (and kept off the console) while it runs.
    """
    logger = logging.getLogger("yfinance")
    capture = _LogCapture()
    propagate = logger.propagate
    logger.addHandler(capture)
    logger.propagate = False
    kwargs = {
        "interval": interval,
        "auto_adjust": True,
        "progress": False,
        "threads": False,
    }
    if start is None:
        kwargs["period"] = "max"  # yfinance caps intraday history itself
    else:
        kwargs["start"] = start.to_pydatetime()
    if end is not None:
        # whole seconds for Yahoo (and no lost nanoseconds); the returned
        # frame is cut at ``end`` itself afterwards
        kwargs["end"] = end.ceil("s").to_pydatetime()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"yfinance(\.|$)")
            raw = yf.download(ticker, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any failure of the download
        capture.messages.append(f"{type(exc).__name__}: {exc}")
        return None, capture.messages
    finally:
        logger.removeHandler(capture)
        logger.propagate = propagate
    return raw, capture.messages


def _frame_from_yfinance(raw: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """yfinance's frame (MultiIndex or flat columns) -> our OHLCV frame."""
    data = raw
    if isinstance(data.columns, pd.MultiIndex):
        levels = [
            {str(v).lower() for v in data.columns.get_level_values(lvl)}
            for lvl in range(data.columns.nlevels)
        ]
        price_level = next(
            (lvl for lvl, values in enumerate(levels) if "close" in values), 0
        )
        ticker_level = 1 - price_level if data.columns.nlevels == 2 else None
        if ticker_level is not None:
            values = data.columns.get_level_values(ticker_level)
            tickers = list(dict.fromkeys(values))
            upper = ticker.upper()
            wanted = next((t for t in tickers if str(t).upper() == upper), None)
            if wanted is None:  # never file another ticker's prices under this one
                raise ValueError(f"yfinance returned tickers {tickers}, not {ticker!r}")
            data = data.xs(wanted, axis=1, level=ticker_level)
        else:
            data = data.droplevel(
                [lvl for lvl in range(data.columns.nlevels) if lvl != price_level],
                axis=1,
            )
    lower = {str(c).lower(): c for c in data.columns}
    if "close" not in lower and "adj close" in lower:
        lower["close"] = lower["adj close"]
    out = pd.DataFrame(index=data.index)
    for col in PRICE_COLUMNS:
        out[col] = (
            pd.to_numeric(data[lower[col]], errors="coerce").astype(np.float64)
            if col in lower
            else np.nan
        )
    index = pd.DatetimeIndex(out.index)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    out.index = index.as_unit("ns").rename("timestamp")
    out = out[~out.index.duplicated(keep="last")].sort_index()
    return out


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` so a reader never sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w", newline="") as fh:
        frame.to_csv(fh, index_label="timestamp")


def _lock_file(path: Path) -> Path:
    """The lock file beside a cache file (kept: removing it would race)."""
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def _cache_locked(path: Path):
    """Hold the cache file's lock, so that read-merge-write is one step.

    Without it, two downloads of different ranges both read the old cache
    and the last writer drops the other's bars. A cache folder that cannot
    hold the lock (read-only) is used unlocked: its file is only read.
    """
    with contextlib.ExitStack() as stack:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(file_lock(_lock_file(path)))
        except OSError:
            pass
        yield


def load_yfinance(
    ticker: str,
    interval: str = "1h",
    start=None,
    end=None,
    cache_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Download prices from Yahoo Finance with yfinance, cached on disk.

    Every call downloads the requested range with ``yfinance.download`` and
    merges it into the cache file of the ticker and interval, so the cache
    keeps history that Yahoo no longer serves (hourly bars only go back 730
    days). When the download fails, or comes back empty without Yahoo saying
    that the range has no data, the cached data is used with a warning.

    The download wins on the bars both hold, except that a downloaded bar
    with no price never replaces a cached one. When the closes of common bars
    differ, a warning says so; when they differ at the first (last) common
    bar, Yahoo has re-adjusted its history for a split or dividend, and the
    cached bars before (after) the download are rescaled by the ratio of new
    to old close there (open, high, low and close; volume is kept), so the
    series keeps one adjustment basis. The latest cached bar, which may have
    been live when cached, is left out of that comparison.

    Parameters
    ----------
    ticker : str
        Yahoo symbol, e.g. ``"BTC-USD"`` or ``"^GSPC"``.
    interval : str, default="1h"
        Bar length, one of ``1m, 2m, 5m, 15m, 30m, 60m, 90m, 1h, 1d, 5d, 1wk,
        1mo, 3mo``.
    start, end : str, datetime, pandas.Timestamp or None, default=None
        Range to return, ``start`` inclusive and ``end`` exclusive (as in
        yfinance; :func:`exclusive_end` turns an inclusive end, such as a date
        that keeps its whole day, into this bound). Naive values are UTC.
        ``start=None`` downloads as much as Yahoo serves for the interval;
        ``end=None`` runs to now.
    cache_dir : str, path or None, default=None
        Cache directory; None means ``$TSMIRRORS_CACHE`` if set, else
        ``~/.cache/tsmirrors``. One CSV per ticker and interval,
        ``yfinance_<TICKER>_<interval>.csv``, replaced atomically.

    Returns
    -------
    prices : pandas.DataFrame
        Same shape as :func:`load_prices`: ``open, high, low, close, volume``
        on an ascending UTC ``DatetimeIndex`` named ``"timestamp"``. Prices are
        adjusted (``auto_adjust=True``); ``volume`` is Yahoo's (in the quote
        currency for crypto pairs). ``attrs`` holds ``source="yfinance"``,
        ``ticker``, ``interval``, ``path`` (the cache file), ``from_cache``
        (True when the download failed), ``missing_values`` (``{column:
        count}`` of NaN fields), ``freq``, ``gaps`` and ``off_grid``.

    Raises
    ------
    ValueError
        For a bad ticker (Yahoo returns no data and nothing is cached; the
        message names the ticker and quotes yfinance's reason), an unknown
        interval, ``start >= end``, a download for another ticker than
        ``ticker``, or a damaged cache file (the message names the line) when
        no download came to rebuild it.
    DataUnavailableError
        When Yahoo cannot be reached and nothing is cached. The message names
        the cache directory and suggests ``--csv FILE`` or ``tsmirrors demo``.
    ImportError
        If yfinance is not installed (``pip install 'tsmirrors[finance]'``).

    Warns
    -----
    DataQualityWarning
        When cached data is returned because the download failed, when the
        cache cannot be written, when a download disagrees with the cache (and
        when cached bars were rescaled), when a damaged cache file was rebuilt
        from the download (the damaged file is kept beside it with the suffix
        ``.damaged``), for NaN fields (the first timestamps named) and for
        gaps (listed in ``attrs["gaps"]``, never filled).

    Examples
    --------
    >>> from tsmirrors.data import load_yfinance
    >>> prices = load_yfinance("BTC-USD", interval="1h")  # doctest: +SKIP
    >>> prices["close"].tail()  # doctest: +SKIP
    """
    if not isinstance(ticker, str) or not ticker.strip():
        raise ValueError(f"ticker must be a non-empty string, got {ticker!r}")
    ticker = ticker.strip()
    if interval not in _INTERVALS:
        raise ValueError(
            f"interval must be one of {', '.join(_INTERVALS)}; got {interval!r}"
        )
    start_ts, end_ts = _as_utc(start, "start"), _as_utc(end, "end")
    if start_ts is not None and end_ts is not None and start_ts >= end_ts:
        raise ValueError(f"start must be before end, got start={start} and end={end}")
    cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    path = _cache_file(cache_dir, ticker, interval)

    yf = import_optional("yfinance")
    raw, messages = _download(yf, ticker, interval, start_ts, end_ts)
    reason = "; ".join(m.strip() for m in messages if m.strip()) or "no reason given"
    # a frame for another ticker is refused before the cache is touched
    fresh = _frame_from_yfinance(raw, ticker) if raw is not None and len(raw) else None
    report: list[str] = []
    # a download to merge: read the cache after it, under the lock (another
    # process may have added bars since this call started); without one the
    # cache is only read, and its writes are atomic
    with _cache_locked(path) if fresh is not None else contextlib.nullcontext():
        try:
            cached = read_cache(path)
        except CacheDamagedError as exc:
            if fresh is None:
                raise CacheDamagedError(
                    f"{exc}, and the download brought nothing ({reason}); delete "
                    "it to download afresh"
                ) from exc
            cached = None
            report.append(f"{exc}; rebuilt it from the download{_set_aside(path)}")
        return _merge_and_finish(
            raw, fresh, reason, cached, path, cache_dir, ticker, interval, start,
            end, start_ts, end_ts, report,
        )


def _set_aside(path: Path) -> str:
    """Move a damaged cache file out of the way; say where it went."""
    damaged = path.with_name(f"{path.name}.damaged")
    try:
        os.replace(path, damaged)
    except OSError as exc:
        return f" (could not keep the damaged file: {exc})"
    return f" (the damaged file is kept as {damaged})"


def _merge_and_finish(
    raw, fresh, reason, cached, path, cache_dir, ticker, interval, start, end,
    start_ts, end_ts, report,
) -> pd.DataFrame:
    """Merge a download into the cache and build the returned frame."""
    network = bool(_NETWORK_ERROR.search(reason))
    failed = raw is None or (fresh is None and network)
    # only Yahoo's "no bars in this range" is an empty answer that is no failure
    no_data = not network and bool(_NO_DATA.search(reason))
    no_data = no_data and not _STATUS.search(reason)

    from_cache = False
    if fresh is not None:
        merged = merge(cached, fresh, report)
        try:
            _write_atomic(merged, path)
        except OSError as exc:
            report.append(f"could not write the cache file {path} ({exc})")
    elif cached is not None and not no_data:
        # a failure, or an empty answer that does not say "no data in range"
        # (yfinance logs e.g. "HTTP Error 401: Unauthorized" and returns none)
        merged, from_cache = cached, True
        report.append(
            f"could not download {ticker!r} ({interval}) from Yahoo Finance "
            f"({reason}); using the cached copy {path}, last bar "
            f"{cached.index[-1] if len(cached) else 'none'}"
        )
    elif cached is not None:
        merged = cached  # nothing new in the range; the ticker is known
    elif failed:
        raise DataUnavailableError(
            f"could not download {ticker!r} ({interval}) from Yahoo Finance "
            f"({reason}) and there is no cached copy in {cache_dir}. Work "
            "offline with a local price file (tsmirrors backtest --csv FILE) "
            "or the built-in planted series (tsmirrors demo)."
        )
    else:
        raise ValueError(
            f"Yahoo Finance returned no data for ticker {ticker!r} (interval "
            f"{interval!r}, start={start}, end={end}): {reason}. Check the "
            "symbol as Yahoo spells it (e.g. 'BTC-USD', 'AAPL', '^GSPC')."
        )

    frame = merged
    if start_ts is not None:
        frame = frame[frame.index >= start_ts]
    if end_ts is not None:
        frame = frame[frame.index < end_ts]
    if frame.empty:
        raise ValueError(
            f"no {interval} data for ticker {ticker!r} between start={start} and "
            f"end={end}; the cache {path} covers {merged.index[0]} .. "
            f"{merged.index[-1]}"
            if len(merged)
            else f"no {interval} data for ticker {ticker!r}: {reason}"
        )
    frame = frame.copy()
    frame.index.name = "timestamp"
    attrs = {
        "source": "yfinance",
        "layout": "yfinance",
        "ticker": ticker,
        "interval": interval,
        "path": str(path),
        "from_cache": from_cache,
        "duplicates": [],
    }
    missing_report(frame, attrs, report)
    _attach_frequency_report(frame, attrs, report)
    frame.attrs.update(attrs)
    if report:
        warnings.warn(
            f"{ticker} ({interval}): " + " | ".join(report),
            DataQualityWarning,
            stacklevel=3,  # the caller of load_yfinance
        )
    return frame
