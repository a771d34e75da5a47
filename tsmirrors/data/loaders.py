"""Read price files from Kaggle, CryptoDataDownload, Gemini, yfinance or by hand.

:func:`load_prices` recognises the layout from the header, parses it and
returns one ascending, UTC-indexed OHLCV frame. Data problems are reported,
never repaired silently: see the Notes of :func:`load_prices`.
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._dates import read_timestamps
from ._quality import DataQualityWarning, describe_gaps, find_gaps, infer_frequency
from ._reading import (
    SUPPORTED_DIALECT,
    body_offset,
    check_regular_file,
    read_columns,
    read_head,
    read_lines,
    separator_error,
    shorten,
)
from ._reading import malformed as _malformed
from ._reading import quote as _quote

__all__ = ["PRICE_COLUMNS", "load_prices"]

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")

_HEADER_SEARCH_LINES = 10
_UNIX_NAMES = ("unix", "unix timestamp", "unixtime", "unix time", "epoch")
_DATE_NAMES = (
    "date",
    "datetime",
    "timestamp",
    "time",
    "date time",
    "date utc",
    "datetime utc",
    "time utc",
    "timestamp utc",
    "open time",
)
_CLOSE_NAMES = ("close", "price", "last", "adj close")
_QUOTE_CURRENCIES = {"usd", "usdt", "usdc", "busd", "dai", "eur", "gbp", "jpy", "krw"}
_MISSING_TOKENS = {"", "nan", "na", "n/a", "null", "none"}
_NA_STRINGS = sorted(
    {v for t in _MISSING_TOKENS for v in (t, t.upper(), t.capitalize())} | {"NaN"}
)
_NUMERIC_ROLES = ("open", "high", "low", "close", "volume", "quote_volume")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.strip().lower()).strip()


def _split(line: str) -> list[str]:
    return next(csv.reader([line]))


@dataclass
class _Layout:
    """Where the header is and which column plays which role."""

    header: list[str]
    header_line: int  # 1-based line of the (last) header line
    name: str
    banner: list[str] = field(default_factory=list)
    ticker: str | None = None
    roles: dict[str, int] = field(default_factory=dict)


def _find_roles(names: list[str]) -> dict[str, int]:
    """Map roles (unix, date, open, ..., volume, quote_volume) to column positions."""
    norm = [_norm(n) for n in names]
    roles: dict[str, int] = {}

    def first(candidates) -> int | None:
        for cand in candidates:
            if cand in norm:
                return norm.index(cand)
        return None

    for role, candidates in (
        ("unix", _UNIX_NAMES),
        ("date", _DATE_NAMES),
        ("open", ("open",)),
        ("high", ("high",)),
        ("low", ("low",)),
        ("close", _CLOSE_NAMES),
        ("symbol", ("symbol", "ticker", "pair")),
    ):
        pos = first(candidates)
        if pos is not None:
            roles[role] = pos
    if "date" in roles and norm[roles["date"]] == "date" and "time" in norm:
        roles["time"] = norm.index("time")  # a separate time-of-day column
    volumes = [
        (i, n) for i, n in enumerate(norm) if re.fullmatch(r"vol(?:ume)?(?: \w+)?", n)
    ]
    base = [i for i, n in volumes if n.split(" ")[-1] not in _QUOTE_CURRENCIES]
    quote = [i for i, n in volumes if n.split(" ")[-1] in _QUOTE_CURRENCIES]
    if base:
        roles["volume"] = base[0]
        if quote:
            roles["quote_volume"] = quote[0]
    elif quote:
        roles["volume"] = quote[0]
    return roles


def _detect_layout(lines: list[str], path: str) -> _Layout:
    for i, line in enumerate(lines[:_HEADER_SEARCH_LINES]):
        if not line.strip():
            continue
        fields = _split(line)
        norm = [_norm(f) for f in fields]
        nxt = _split(lines[i + 1]) if i + 1 < len(lines) and lines[i + 1] else []
        if norm[0] == "price" and nxt and _norm(nxt[0]) == "ticker":
            # yfinance >= 0.2.48: "Price,Close,..." / "Ticker,BTC-USD,..." /
            # "Datetime,,,,," and then the rows.
            if i + 2 >= len(lines):
                raise ValueError(f"{path}: yfinance header without data rows")
            index_name = _split(lines[i + 2])[0] or "date"
            tickers = sorted({t for t in nxt[1:] if t})
            if len(tickers) > 1:
                raise ValueError(
                    f"{path}: the file holds {len(tickers)} tickers "
                    f"({', '.join(shorten(t) for t in tickers[:5])}); load_prices "
                    "reads one series per file"
                )
            header = [index_name, *fields[1:]]
            return _Layout(
                header=header,
                header_line=i + 3,
                name="yfinance",
                banner=lines[:i],
                ticker=tickers[0] if tickers else None,
                roles=_find_roles(header),
            )
        roles = _find_roles(fields)
        has_time = "unix" in roles or "date" in roles
        if has_time and "close" in roles:
            if "adj close" in norm:
                name = "yfinance"
            elif norm[roles.get("unix", 0)] == "unix" and "symbol" in roles:
                name = "kaggle_btcinusd"
            elif "unix" in roles:
                name = "cryptodatadownload"
            elif {"open", "high", "low"} <= roles.keys():
                name = "ohlcv"
            else:
                name = "date_close"
            return _Layout(
                header=fields,
                header_line=i + 1,
                name=name,
                banner=lines[:i],
                roles=roles,
            )
    dialect = separator_error(lines, path)
    if dialect is not None:
        raise dialect
    first = lines[0] if lines else ""
    raise ValueError(
        f"{path}: no header with a date (or unix) column and a close (or price) "
        f"column in the first {_HEADER_SEARCH_LINES} lines; line 1 is {_quote(first)}"
    )


def _to_float(col: pd.Series, name: str, line_numbers, rows, path):
    """Parse numbers; empty and NaN-like fields become NaN, anything else fails."""
    if col.dtype == np.float64:
        values = col.to_numpy()
        missing = np.isnan(values)
    else:
        text = col.fillna("")
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        nan = np.flatnonzero(np.isnan(values))
        missing = np.zeros(values.shape, dtype=bool)
        if nan.size:
            tokens = text.iloc[nan].str.strip().str.lower()
            ok = tokens.isin(_MISSING_TOKENS).to_numpy()
            if not ok.all():
                k = nan[np.argmin(ok)]
                raise _malformed(
                    path,
                    int(line_numbers[k]),
                    f"column {_quote(name)} holds {_quote(text.iloc[k])}, which is "
                    "not a number",
                )
            missing[nan] = True
    inf = np.flatnonzero(np.isinf(values))
    if inf.size:
        k = inf[0]
        raise _malformed(
            path,
            int(line_numbers[k]),
            f"column {_quote(name)} holds {float(values[k])!r}, which is not finite",
            rows[k],
        )
    return values, missing


def _lines_of(line_numbers, mask, limit=3) -> str:
    lines = [str(n) for n in line_numbers[mask][:limit]]
    return ", ".join(lines)


def _read_file(path, where: str, layout: _Layout, bom: int):
    """The used columns, read columnwise; line by line when that fails."""
    used = sorted(set(layout.roles.values()))
    roles = layout.roles.items()
    text_columns = {pos for role, pos in roles if role not in _NUMERIC_ROLES}
    numeric = {pos for role, pos in roles if role in _NUMERIC_ROLES} - text_columns
    offset = body_offset(path, layout.header_line, bom)
    if offset is not None:
        fast = read_columns(
            path,
            offset,
            layout.header_line + 1,
            len(layout.header),
            used,
            numeric,
            _NA_STRINGS,
            categorical={layout.roles["symbol"]} if "symbol" in layout.roles else set(),
        )
        if fast is not None:
            return fast
    raw_bytes = Path(path).read_bytes()
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{where}: not a UTF-8 text file (undecodable byte at offset "
            f"{exc.start}); load_prices reads {SUPPORTED_DIALECT}"
        ) from exc
    return read_lines(
        text.splitlines(),
        layout.header_line,
        len(layout.header),
        used,
        numeric,
        _NA_STRINGS,
        where,
    )


def load_prices(
    path: str | os.PathLike, *, date_format: str | None = None
) -> pd.DataFrame:
    """Read a price file of any supported layout into an OHLCV frame.

    The layout is recognised from the header; nothing has to be declared.
    Supported layouts (``df.attrs["layout"]``):

    ``"kaggle_btcinusd"``
        ``unix,date,symbol,open,high,low,close,Volume BTC,Volume USD``, newest
        row first (the Kaggle *btcinusd* hourly, daily and minutely files).
        Dates are ISO or, in spreadsheet-edited copies, ``dd/mm/yyyy H:MM``.
    ``"cryptodatadownload"``
        ``Unix Timestamp,Date,Symbol,Open,High,Low,Close,Volume ...``, with or
        without the banner line above the header (Coinbase, Gemini, ...).
        Dates like ``2020-10-24 07-AM`` or ``10/8/2015 13:00``.
    ``"ohlcv"``
        ``date,open,high,low,close[,volume...]`` in any order or case.
    ``"date_close"``
        Just a date column and ``close`` (or ``price``).
    ``"yfinance"``
        A yfinance ``DataFrame.to_csv`` export: the three-line header of
        recent versions (``Price,Close,...`` / ``Ticker,BTC-USD,...`` /
        ``Datetime,,,...``) or the older single header
        ``Date,Open,High,Low,Close,Adj Close,Volume``.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file: a regular file of comma-separated fields in UTF-8 or
        ASCII text, with or without a byte-order mark.
    date_format : str, optional
        strftime format of the date column (e.g. ``"%d/%m/%Y"``), for a file
        whose day/month order cannot be decided from the file itself. A
        ``Date`` column beside a ``Time`` column is read as one, the two
        joined by a space (e.g. ``"%Y.%m.%d %H:%M"``).

    Returns
    -------
    prices : pandas.DataFrame
        Columns ``open, high, low, close, volume`` (float64), indexed by an
        ascending, duplicate-free, tz-aware UTC ``DatetimeIndex`` named
        ``"timestamp"``. When the series has no gaps the index carries its
        frequency. ``prices.attrs`` holds the report:

        - ``"path"``, ``"layout"``, ``"banner"`` (lines above the header),
          ``"symbol"`` / ``"ticker"`` when the file names one;
        - ``"rows_read"``: data rows in the file;
        - ``"order"``: ``"ascending"``, ``"descending"`` or ``"unsorted"``
          (the file's own order; the result is always ascending);
        - ``"date_format"``: how the date column was parsed;
        - ``"freq"``: the inferred frequency (:func:`infer_frequency`);
        - ``"gaps"``: list of :class:`Gap` (missing runs), never filled;
        - ``"off_grid"``: timestamps that do not fall on the frequency grid;
        - ``"duplicates"``: timestamps whose identical copies were collapsed;
        - ``"missing_columns"``: output columns the file does not have (all
          NaN, e.g. ``open, high, low, volume`` for a close-only file);
        - ``"missing_values"``: ``{column: count}`` of empty fields (NaN);
        - ``"zero_prices"`` and ``"negative_prices"``: ``(timestamp,
          column)`` of prices equal to or below 0, set to NaN;
        - ``"volume_column"``: the source column of ``volume``;
        - ``"volume_swapped_rows"``: rows whose two volume columns were
          swapped back;
        - ``"unix_damaged_rows"`` and ``"date_unix_mismatch"``: see Notes.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not a regular file (a directory, a pipe, a device), is
        not UTF-8 text or is separated by something other than commas, if the
        day/month order of its dates is ambiguous, if the file is not a price
        CSV of a known layout, holds several
        symbols, has a malformed row (the message names the file and the
        1-based line number, as an editor shows it), or repeats a timestamp
        with different values (the message names the timestamps and lines).

    Warns
    -----
    DataQualityWarning
        For gaps, collapsed duplicates, zero prices, empty fields, unsorted
        rows, off-grid timestamps and dates that disagree with the unix
        column. The same facts are in ``attrs``.

    Notes
    -----
    *Timestamps.* Naive dates are taken as UTC (as the Kaggle and
    CryptoDataDownload files state); dates with an offset (yfinance) are
    converted to UTC. When a row has both an intact unix time and a date,
    the unix time is used, because it cannot be ambiguous: in the Coinbase
    export the ``Date`` column is in US Eastern time for some weeks of 2017.
    Those rows are counted in ``attrs["date_unix_mismatch"]`` and warned
    about. A unix time written in scientific notation (``1.53618E+12``, as in
    the later rows of the Gemini export) has lost digits; for those rows the
    date column is used and they are counted in ``attrs["unix_damaged_rows"]``.
    Unix times may be in seconds, milliseconds, microseconds or nanoseconds;
    one beyond 2262 raises. A date column of four-digit numbers holds years;
    other numbers in it are unix times, and refused when they would fall
    before 1973 (they are then not unix times). Dates written
    ``a/b/yyyy`` or ``a/b/yy`` (with ``/``, ``.`` or ``-``; times ``H:MM``,
    ``H:MM:SS[.fff]`` or 12-hour with AM/PM) are read month-first or
    day-first, whichever parses every row (a day above 12 decides). If both
    do, the unix column decides where there is one; else the order under
    which the dates are evenly spaced, when only one of them is; else
    ValueError naming both readings: pass ``date_format`` then. Other forms
    starting like ``a/b/yy`` are refused without ``date_format``; the order
    is never guessed. A time of day without a date is refused.

    *Zero prices.* A price of exactly 0 (the Gemini export's first hour has
    ``Open = Low = 0``) marks an hour with no earlier trade, not a price. It
    becomes NaN in that column, the row is kept (its close is valid), and it
    is listed in ``attrs["zero_prices"]`` with a warning. A negative price is
    treated the same way (``attrs["negative_prices"]``). Fill them explicitly
    (:func:`fill_gaps`, ``--fill``) or choose a range without them.

    *Volume.* ``volume`` is the traded amount in the base asset (BTC for
    ``BTC/USD``) where the file has it, else the only volume column (for
    yfinance, Yahoo's ``Volume``). Files with both a base and a quote volume
    (``Volume BTC``, ``Volume USD``) are checked row by row: the quote volume
    is about base volume x close, so for a price above 1 it must be the larger
    one. Rows where the two are the other way round (older rows of the Kaggle
    btcinusd files) are swapped back and counted in
    ``attrs["volume_swapped_rows"]``.

    *Close.* ``Close`` is used; ``Adj Close`` (old yfinance exports) is
    ignored unless there is no ``Close``. Recent yfinance exports are already
    adjusted.

    *Duplicates and gaps.* Rows repeating a timestamp with identical values
    are collapsed to one and reported; different values for one timestamp
    raise ValueError. Gaps are listed, never filled here (:func:`fill_gaps`
    fills them on request). Blank lines are ignored.

    Examples
    --------
    >>> from tsmirrors.data import load_prices
    >>> prices = load_prices("../shared/data/btc/BTCUSD_gemini_1h_2017.csv")
    ... # doctest: +SKIP
    >>> prices["close"].iloc[0]  # doctest: +SKIP
    972.0
    """
    where = str(path)
    check_regular_file(path, where)
    head, bom, complete = read_head(path, where)
    if complete and not any(line.strip() for line in head):
        raise ValueError(f"{where}: the file is empty")
    layout = _detect_layout(head, where)
    raw, line_numbers, rows = _read_file(path, where, layout, bom)
    roles = layout.roles
    header = layout.header
    n_rows = len(raw)
    report: list[str] = []
    attrs: dict = {
        "source": "file",
        "path": where,
        "layout": layout.name,
        "banner": layout.banner,
        "rows_read": n_rows,
    }
    if layout.ticker is not None:
        attrs["ticker"] = layout.ticker

    if "symbol" in roles:
        symbols = raw[roles["symbol"]].dropna().unique()
        distinct = sorted({str(v).strip() for v in symbols} - {""})
        if len(distinct) > 1:
            raise ValueError(
                f"{where}: the file holds {len(distinct)} symbols "
                f"({', '.join(shorten(d) for d in distinct[:5])}); load_prices "
                "reads one series per file"
            )
        if distinct:
            attrs["symbol"] = distinct[0]

    # Timestamps.
    ts_ns = read_timestamps(
        raw, roles, header, (line_numbers, rows), where, date_format, attrs, report
    )

    # Prices and volume.
    columns: dict[str, np.ndarray] = {}
    missing_values: dict[str, int] = {}
    missing_columns = []
    for col in PRICE_COLUMNS:
        if col not in roles:
            columns[col] = np.full(n_rows, np.nan)
            missing_columns.append(col)
            continue
        values, missing = _to_float(
            raw[roles[col]], header[roles[col]], line_numbers, rows, where
        )
        columns[col] = values
        if missing.any():
            missing_values[col] = int(missing.sum())
    attrs["missing_columns"] = missing_columns
    attrs["volume_column"] = header[roles["volume"]] if "volume" in roles else None
    swapped = np.zeros(n_rows, dtype=bool)
    if "quote_volume" in roles:
        quote, _ = _to_float(
            raw[roles["quote_volume"]],
            header[roles["quote_volume"]],
            line_numbers,
            rows,
            where,
        )
        base, close = columns["volume"], columns["close"]
        with np.errstate(invalid="ignore"):
            swapped = ((base > quote) & (close > 1)) | ((base < quote) & (close < 1))
            swapped &= (base > 0) & (quote > 0)
        columns["volume"] = np.where(swapped, quote, base)
    attrs["volume_swapped_rows"] = int(swapped.sum())
    if missing_values:
        attrs["missing_values"] = missing_values
        report.append(
            "empty or NaN fields read as NaN: "
            + ", ".join(f"{c} x{n}" for c, n in missing_values.items())
        )

    # Zero and negative prices are no prices: both become NaN and are reported.
    bad_prices = {"zero": ([], []), "negative": ([], [])}
    for col in ("open", "high", "low", "close"):
        for kind, hit in (("zero", columns[col] == 0), ("negative", columns[col] < 0)):
            rows_hit = np.flatnonzero(hit)
            if rows_hit.size:
                columns[col] = columns[col].copy()
                columns[col][rows_hit] = np.nan
                bad_prices[kind][0].extend(rows_hit.tolist())
                bad_prices[kind][1].extend([col] * rows_hit.size)

    # Order, duplicates and gaps.
    steps = np.diff(ts_ns)
    if (steps >= 0).all():
        attrs["order"] = "ascending"
    elif (steps <= 0).all():
        attrs["order"] = "descending"
    else:
        attrs["order"] = "unsorted"
        report.append("rows are not in time order; they were sorted")
    order = np.argsort(ts_ns, kind="stable")
    ts_ns = ts_ns[order]
    line_numbers = line_numbers[order]
    frame = pd.DataFrame({c: columns[c][order] for c in PRICE_COLUMNS})
    frame.index = pd.DatetimeIndex(pd.to_datetime(ts_ns, unit="ns", utc=True))
    frame.index.name = "timestamp"

    rank = np.empty_like(order)
    rank[order] = np.arange(n_rows)
    for kind, (bad_rows, bad_cols) in bad_prices.items():
        pairs = list(zip(bad_rows, bad_cols, strict=True))
        attrs[f"{kind}_prices"] = [(frame.index[rank[r]], c) for r, c in pairs]
        if not bad_rows:
            continue
        r = int(rank[min(bad_rows, key=lambda rr: rank[rr])])
        at = [c for rr, c in pairs if rank[rr] == r]
        what = "equal to 0" if kind == "zero" else "below 0"
        why = (
            "a zero price marks a period without trades, not a price"
            if kind == "zero"
            else "a negative price is not a price"
        )
        report.append(
            f"{len(bad_rows)} price(s) {what} read as missing (NaN), first "
            f"{' and '.join(at)} at {frame.index[r]} (line {line_numbers[r]}); {why}"
        )

    ts_dup = frame.index.duplicated(keep="first")
    attrs["duplicates"] = []
    if ts_dup.any():
        keyed = frame.reset_index()
        same = keyed.duplicated(keep="first").to_numpy()
        conflict = ts_dup & ~same
        if conflict.any():
            stamps = frame.index[conflict].unique()
            details = "; ".join(
                f"{t} (lines {_lines_of(line_numbers, frame.index == t)})"
                for t in stamps[:3]
            )
            more = f" and {len(stamps) - 3} more" if len(stamps) > 3 else ""
            raise ValueError(
                f"{where}: {len(stamps)} timestamp(s) appear more than once with "
                f"different values: {details}{more}; remove or fix the conflicting "
                "rows"
            )
        stamps = frame.index[ts_dup].unique()
        first = stamps[0]
        report.append(
            f"{int(ts_dup.sum())} duplicated row(s) with identical values collapsed "
            f"({len(stamps)} timestamp(s)), first {first} on lines "
            f"{_lines_of(line_numbers, frame.index == first)}"
        )
        attrs["duplicates"] = list(stamps)
        frame = frame[~ts_dup]

    _attach_frequency_report(frame, attrs, report)
    frame.attrs.update(attrs)
    if report:
        warnings.warn(
            f"{where}: " + " | ".join(report), DataQualityWarning, stacklevel=2
        )
    return frame


def _attach_frequency_report(frame: pd.DataFrame, attrs: dict, report: list[str]):
    """Infer the frequency, list gaps and off-grid stamps, set the index freq."""
    freq = infer_frequency(frame.index) if len(frame) >= 2 else None
    attrs["freq"] = freq
    gaps, off_grid = find_gaps(frame.index, freq) if freq else ([], frame.index[:0])
    attrs["gaps"] = gaps
    attrs["off_grid"] = list(off_grid)
    if gaps:
        n_missing = sum(g.missing for g in gaps)
        report.append(
            f"{len(gaps)} gap(s) with {n_missing} missing timestamp(s) at frequency "
            f"{freq!r}: {describe_gaps(gaps)}; listed in attrs['gaps'], not filled"
        )
    if len(off_grid):
        report.append(
            f"{len(off_grid)} timestamp(s) off the {freq!r} grid, first {off_grid[0]}"
        )
    if freq and not gaps and not len(off_grid):
        frame.index = pd.DatetimeIndex(frame.index, freq=freq, name="timestamp")
