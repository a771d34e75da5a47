"""Timestamps of a price file: unix times and the date formats the layouts use.

Every parser returns int64 nanoseconds (UTC) and a mask of the rows it could
read; a field it cannot read raises a ValueError naming the file and line.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from ._quality import find_gaps, infer_frequency
from ._reading import malformed as _malformed
from ._reading import quote as _quote

_AMPM_DATE = re.compile(r"\s*\d{4}-\d{1,2}-\d{1,2} \d{1,2}-(?:AM|PM)\s*", re.I)
# Day and month as one or two digits, in either order: a/b/yyyy or a/b/yy
# (any of / . -), then optionally H:MM[:SS[.fff]] and AM/PM.
_SEP_DATE = re.compile(
    r"\s*\d{1,2}([/.-])\d{1,2}\1(?:\d{4}|\d{2})"
    r"(?: \d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?: ?[AaPp][Mm])?)?\s*"
)
# Anything that starts like one: never handed to pandas to guess the order.
_SEP_START = re.compile(r"\s*\d{1,2}([/.-])\d{1,2}\1\d{2}")
_YMD = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_AMPM_TIME = re.compile(r"(\d{1,2})-(AM|PM)", re.I)
_SEP_DAY = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})")
_HMS_TIME = re.compile(
    r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?( ?[AaPp][Mm])?"
)
_TIME_ONLY = re.compile(
    r"\s*\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp][Mm])?\s*"
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"-?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?")


# Epochs below 1e11 are seconds (until the year 5138), below 1e14
# milliseconds, below 1e17 microseconds, and nanoseconds above.
_EPOCH_LIMITS = (1e11, 1e14, 1e17)
_EPOCH_FACTORS = (10**9, 10**6, 10**3)
_MAX_NS = float(pd.Timestamp.max.value)


def _epoch_factors(values: np.ndarray) -> np.ndarray:
    mag = np.abs(values)
    conditions = [mag < limit for limit in _EPOCH_LIMITS]
    return np.select(conditions, _EPOCH_FACTORS, 1).astype(np.int64)


def _as_text(col: pd.Series) -> pd.Series:
    """Stripped text of a column read as strings (categories included)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    if isinstance(col.dtype, pd.StringDtype):  # keep arrow-backed strings
        return col.fillna("").str.strip()
    return col.fillna("").astype(str).str.strip()


def parse_unix(col: pd.Series, name: str, line_numbers, path):
    """Return int64 ns timestamps and a mask of rows whose epoch is intact.

    An epoch written in scientific notation (``1.53618E+12``) has lost its
    last digits and is not used; neither is an empty field. An epoch beyond
    what a timestamp can hold in any unit (after the year 2262) raises.
    """
    text = _as_text(col)
    try:  # fast where every field is a plain number or empty
        numbers = text.where(text != "").astype("float64")
    except (TypeError, ValueError):
        numbers = pd.to_numeric(text, errors="coerce")
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    scientific = text.str.contains("[eE]", regex=True).to_numpy(dtype=bool)
    numeric = np.isfinite(values)
    empty = (text == "").to_numpy(dtype=bool)
    bad = np.flatnonzero(~numeric & ~empty)
    if bad.size:
        k = bad[0]
        raise _malformed(
            path,
            int(line_numbers[k]),
            f"column {_quote(name)} holds {_quote(text.iloc[k])}, which is not a "
            "unix time",
        )
    intact = numeric & ~scientific
    factors = _epoch_factors(values)
    with np.errstate(over="ignore", invalid="ignore"):
        too_far = intact & ~(np.abs(values * factors) < _MAX_NS)
    if too_far.any():
        k = int(np.argmax(too_far))
        raise _malformed(
            path,
            int(line_numbers[k]),
            f"column {_quote(name)} holds {_quote(text.iloc[k])}, a unix time "
            "beyond the last representable timestamp (2262-04-11) in seconds, "
            "milliseconds, microseconds and nanoseconds alike",
        )
    ns = np.zeros(len(values), dtype=np.int64)
    whole = np.where(intact, values, 0).astype(np.int64)
    big = np.flatnonzero(intact & (np.abs(values) >= 2**53))
    if big.size:  # nanoseconds: float64 drops digits, integers keep them
        exact = pd.to_numeric(text.iloc[big], errors="coerce")
        if exact.dtype.kind == "i":
            whole[big] = exact.to_numpy(dtype=np.int64)
    ns[intact] = whole[intact] * factors[intact]
    return ns, intact


def _days_to_ns(year, month, day):
    """Vectorised calendar dates -> int64 ns of midnight UTC, and a validity mask."""
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    months = np.where(ok, (year - 1970) * 12 + month - 1, 0)
    first = months.astype("datetime64[M]")
    days = first.astype("datetime64[D]") + np.where(ok, day - 1, 0)
    ok &= days.astype("datetime64[M]") == first  # no 31 April
    return days.astype("datetime64[ns]").astype(np.int64), ok


def _split_date_time(strings):
    """Factorize the date and time parts; hourly files repeat both a lot."""
    parts = [v.strip().partition(" ") for v in strings]
    date_codes, dates = pd.factorize(np.array([p[0] for p in parts], dtype=object))
    time_codes, times = pd.factorize(np.array([p[2] for p in parts], dtype=object))
    return date_codes, np.asarray(dates, dtype=object), time_codes, times


def _match_fields(pattern: re.Pattern, strings) -> tuple[np.ndarray, np.ndarray]:
    """Regex groups of each string (as str, missing groups "0"), and a match mask."""
    matches = [pattern.fullmatch(v) for v in strings]
    matched = np.array([m is not None for m in matches], dtype=bool)
    blank = ("0",) * pattern.groups
    groups = np.array(
        [m.groups("0") if m is not None else blank for m in matches], dtype=str
    )
    return groups.reshape(len(matches), pattern.groups), matched


def _parse_ampm(strings):
    """``2020-10-24 07-AM`` (CryptoDataDownload hourly)."""
    date_codes, dates, time_codes, times = _split_date_time(strings)
    dg, d_ok = _match_fields(_YMD, dates)
    tg, t_ok = _match_fields(_AMPM_TIME, np.asarray(times, dtype=object))
    hour = tg[:, 0].astype(np.int64)
    t_ok &= (hour >= 1) & (hour <= 12)
    hour = np.where(np.char.upper(tg[:, 1]) == "PM", hour % 12 + 12, hour % 12)
    y, m, d = (dg[:, i].astype(np.int64) for i in range(3))
    day_ns, day_ok = _days_to_ns(y, m, d)
    ns = day_ns[date_codes] + hour[time_codes] * 3_600 * 10**9
    return ns, (day_ok & d_ok)[date_codes] & t_ok[time_codes]


def _same_everywhere(flags, ok, strings, date_codes, line_numbers, path, name, what):
    """Refuse a file whose readable dates differ in ``what`` (one value per date)."""
    seen = flags[ok]
    if seen.size and (seen != seen[0]).any():
        bad_date = np.flatnonzero(ok)[np.argmax(seen != seen[0])]
        k = int(np.argmax(date_codes == bad_date))
        raise _malformed(
            path,
            int(line_numbers[k]),
            f"column {_quote(name)} holds {_quote(strings[k])}, whose {what} "
            "differs from the rest of the file",
        )


def _parse_separated(strings, line_numbers, path, name):
    """``m/d/Y H:M`` or ``d/m/Y H:M`` (any of ``/ . -``); both orders returned.

    Two-digit years (``%y``: 69-99 are 1900s, 00-68 2000s, as strptime reads
    them), seconds with a fraction and 12-hour times with AM/PM are read too.
    """
    date_codes, dates, time_codes, times = _split_date_time(strings)
    times = np.asarray(times, dtype=object)
    dg, d_ok = _match_fields(_SEP_DAY, dates)
    tg, t_ok = _match_fields(_HMS_TIME, times)
    t_ok |= times == ""
    where = (strings, date_codes, line_numbers, path, name)
    _same_everywhere(dg[:, 1], d_ok, *where, "separator")
    _same_everywhere(np.char.str_len(dg[:, 3]), d_ok, *where, "year's length")
    sep = dg[d_ok, 1][0] if d_ok.any() else "/"
    year = "%y" if d_ok.any() and len(dg[d_ok, 3][0]) == 2 else "%Y"
    ampm = np.char.upper(np.char.strip(tg[:, 4]))  # "0" where none is written
    twelve = (ampm != "0") & t_ok
    if twelve.any():  # one clock for every time, as a format has one
        t_ok &= twelve | (times == "")
    if (tg[:, 3] != "0").any() or (tg[:, 2] != "0").any():
        time = " %H:%M:%S" + (".%f" if (tg[:, 3] != "0").any() else "")
    elif (times != "").any():
        time = " %H:%M"
    else:
        time = ""
    a, b, y = (dg[:, i].astype(np.int64) for i in (0, 2, 3))
    if year == "%y":
        y = np.where(y < 69, y + 2000, y + 1900)
    h, mi, sec = (tg[:, i].astype(np.int64) for i in range(3))
    if twelve.any():
        t_ok &= (h >= 1) & (h <= 12)
        h = np.where(ampm == "PM", h % 12 + 12, h % 12)
        gap = " " if " " in tg[np.argmax(twelve), 4] else ""
        time = time.replace("%H", "%I") + f"{gap}%p"
    frac = np.char.ljust(tg[:, 3], 9, "0").astype(np.int64)
    frac = np.where(tg[:, 3] == "0", 0, frac)
    t_ok &= (h < 24) & (mi < 60) & (sec < 60)
    time_ns = ((h * 60 + mi) * 60 + sec) * 10**9 + frac
    options = {}
    for fmt, month, day in (
        (f"%m{sep}%d{sep}{year}{time}", a, b),
        (f"%d{sep}%m{sep}{year}{time}", b, a),
    ):
        day_ns, day_ok = _days_to_ns(y, month, day)
        ns = day_ns[date_codes] + time_ns[time_codes]
        options[fmt] = (ns, (day_ok & d_ok)[date_codes] & t_ok[time_codes])
    return options


def _is_regular(ns: np.ndarray) -> bool:
    """Whether sorted distinct timestamps follow one frequency without gaps."""
    index = pd.DatetimeIndex(np.unique(ns).astype("datetime64[ns]"), tz="UTC")
    freq = infer_frequency(index)
    if freq is None:
        return False
    gaps, off_grid = find_gaps(index, freq)
    return not gaps and not len(off_grid)


def _reading(ns: np.ndarray) -> str:
    index = pd.DatetimeIndex(np.unique(ns).astype("datetime64[ns]"), tz="UTC")
    freq = infer_frequency(index)
    spacing = f"every {freq!r}" if freq else "a single date"
    if freq and not _is_regular(ns):
        spacing += " with gaps"
    fmt = "%Y-%m-%d %H:%M" if (index != index.normalize()).any() else "%Y-%m-%d"
    return f"{index[0]:{fmt}} .. {index[-1]:{fmt}}, {spacing}"


def _with_format(values: pd.Series, fmt: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        parsed = pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
    ok = parsed.notna().to_numpy(dtype=bool)
    ns = np.zeros(values.size, dtype=np.int64)
    ns[ok] = pd.DatetimeIndex(parsed[ok]).as_unit("ns").asi8
    return ns, ok


def join_date_time(date_col, time_col, names, line_numbers, path) -> pd.Series:
    """One ``"date time"`` column from a date column and a time-of-day column.

    MetaTrader and similar exports write ``2021.01.01,00:00``. Every row must
    have both parts, the date without a time and the time without a date.
    """
    dates, times = _as_text(date_col), _as_text(time_col)
    if isinstance(dates.dtype, pd.StringDtype):
        dates, times = dates.astype(object), times.astype(object)
    has_date = (dates != "").to_numpy(dtype=bool)
    not_time = has_date & ~times.str.fullmatch(_TIME_ONLY).to_numpy(dtype=bool)
    timed = dates.str.contains(":", regex=False).to_numpy(dtype=bool)
    for bad, name, values, what in (
        (not_time, names[1], times, "which is not a time of day"),
        (timed, names[0], dates, "which has a time of day already"),
    ):
        if bad.any():
            k = int(np.argmax(bad))
            raise _malformed(
                path,
                int(line_numbers[k]),
                f"column {_quote(name)} holds {_quote(values.iloc[k])}, {what}; "
                f"the date column {_quote(names[0])} and time column "
                f"{_quote(names[1])} are read together, row by row",
            )
    return (dates + " " + times).where(has_date, "")


def _refuse_guessed_order(values, text, filled, line_numbers, path, name):
    """Refuse a/b/y dates of a form not read above: pandas would guess the order."""
    strings = values.to_numpy(dtype=object)  # backreferences: Python's re
    starts = np.array([_SEP_START.match(v) is not None for v in strings], bool)
    if not starts.any():
        return
    odd = [i for i, v in enumerate(strings) if not _SEP_DATE.fullmatch(v)]
    k = int(np.flatnonzero(filled)[odd[0] if odd else 0])
    raise _malformed(
        path,
        int(line_numbers[k]),
        f"column {_quote(name)} holds {_quote(text.iloc[k])}, which is not a "
        "date in the form of the file's day/month (or month/day) dates, such as "
        f"{_quote(values.iloc[int(np.argmax(starts))])}; pass date_format (e.g. "
        "'%d/%m/%Y %H:%M') to load_prices (--date-format on the command line) "
        "so that the order is not guessed",
    )


def parse_dates(
    col, name, line_numbers, path, unix_ns=None, intact=None, date_format=None
):
    """Parse a date column; return int64 ns (UTC), a mask of dated rows, format.

    Naive dates are taken as UTC; dates with an offset are converted to UTC.
    ``date_format`` (strftime codes) overrides the detection.
    """
    text = _as_text(col)
    filled = (text != "").to_numpy(dtype=bool)
    if not filled.any():
        return np.zeros(len(text), dtype=np.int64), filled, None
    values = text[filled]
    sample = list(values.iloc[:50]) + list(values.iloc[-50:])
    compact = all(re.fullmatch(r"\d{8}", v) for v in sample)  # 20170101
    years = all(re.fullmatch(r"\d{4}", v) for v in sample)  # 2001
    separated = all(_SEP_DATE.fullmatch(v) for v in sample)
    clock = [i for i, v in enumerate(sample) if _TIME_ONLY.fullmatch(v)]
    if clock:
        k = np.flatnonzero(filled)[clock[0] if clock[0] < 50 else clock[0] - 100]
        raise _malformed(
            path,
            int(line_numbers[k]),
            f"column {_quote(name)} holds {_quote(text.iloc[k])}, a time of day "
            "without a date",
        )
    if date_format is not None and not separated:
        options = {date_format: _with_format(values, date_format)}
    elif years:
        options = {"%Y": _with_format(values, "%Y")}
    elif not compact and all(_NUMBER.fullmatch(v) for v in sample):
        # A "timestamp" column that holds unix times.
        ns, ok = parse_unix(col, name, line_numbers, path)
        damaged = np.flatnonzero(filled & ~ok)
        if damaged.size:
            k = damaged[0]
            raise _malformed(
                path,
                int(line_numbers[k]),
                f"column {_quote(name)} holds {_quote(text.iloc[k])}, a unix time that "
                "has lost digits (scientific notation)",
            )
        early = np.flatnonzero(filled & (np.abs(ns) < 10**17))
        if early.size:
            k = early[0]
            raise _malformed(
                path,
                int(line_numbers[k]),
                f"column {_quote(name)} holds {_quote(text.iloc[k])}, which as a "
                f"unix time would be {pd.Timestamp(int(ns[k]), tz='UTC')}; write "
                "dates (or four-digit years), or name the column 'unix' if these "
                "are unix times",
            )
        return ns, filled, "unix"
    elif all(_AMPM_DATE.fullmatch(v) for v in sample):
        ns, ok = _parse_ampm(values.to_numpy(dtype=object))
        options = {"%Y-%m-%d %I-%p": (ns, ok)}
    elif separated:
        options = _parse_separated(
            values.to_numpy(dtype=object), line_numbers[filled], path, name
        )
        if date_format is not None:
            options = {
                date_format: options.get(date_format)
                or _with_format(values, date_format)
            }
    else:
        if compact:
            fmt = "%Y%m%d"
        elif all(_ISO_DATE.match(v) for v in sample):
            fmt = "ISO8601"
        else:
            fmt = None
            _refuse_guessed_order(values, text, filled, line_numbers, path, name)
        ns, ok = _with_format(values, fmt)
        options = {fmt or "inferred": (ns, ok)}

    viable = [fmt for fmt, (_, ok) in options.items() if ok.all()]
    if not viable:
        fmt = max(options, key=lambda f: options[f][1].sum())
        k = np.flatnonzero(filled)[np.argmin(options[fmt][1])]
        raise _malformed(
            path,
            int(line_numbers[k]),
            f"column {_quote(name)} holds {_quote(text.iloc[k])}, which is not a "
            f"date in the file's format ({_quote(fmt)})",
        )

    def expand(fmt):
        out = np.zeros(len(text), dtype=np.int64)
        out[filled] = options[fmt][0]
        return out

    if len(viable) == 1:
        return expand(viable[0]), filled, viable[0]
    # Month-first and day-first both parse (no day above 12): the unix column
    # decides where there is one, else a spacing only one order makes regular.
    converted = {fmt: expand(fmt) for fmt in viable}
    both = None if unix_ns is None else intact & filled
    if both is not None and both.any():
        score = {f: (v[both] == unix_ns[both]).mean() for f, v in converted.items()}
        best = max(viable, key=lambda f: score[f])
        if sum(score[f] == score[best] for f in viable) == 1:
            return converted[best], filled, best
    regular = [f for f in viable if _is_regular(converted[f][filled])]
    if len(regular) == 1:
        return converted[regular[0]], filled, regular[0]
    if both is not None and not (filled & ~intact).any():
        # Every dated row has an intact unix time, which is what is used: the
        # order only affects the mismatch report.
        return converted[viable[0]], filled, viable[0]
    first, second = viable[:2]
    differ = np.flatnonzero(filled & (converted[first] != converted[second]))
    k = int(differ[0]) if differ.size else int(np.argmax(filled))
    readings = "; ".join(
        f"{fmt!r} reads {_reading(converted[fmt][filled])}" for fmt in viable
    )
    why = "both are regular" if regular else "neither is regular"
    raise ValueError(
        f"{path}: the day/month order of column {_quote(name)} is ambiguous: no day is "
        f"above 12 (e.g. {_quote(text.iloc[k])} on line {int(line_numbers[k])}) "
        f"and {why}: {readings}. Pass date_format={first!r} or "
        f"date_format={second!r} to load_prices (--date-format on the command "
        "line)"
    )


def read_timestamps(raw, roles, header, lines, where, date_format, attrs, report):
    """Int64 ns (UTC) of every row, from its unix time or else its date.

    ``raw`` holds the file's columns by position, ``roles`` maps ``"unix"``,
    ``"date"`` and ``"time"`` to positions, ``lines`` is (line numbers, row
    texts). Fills ``attrs`` (``date_format``, and with a unix column
    ``date_unix_mismatch``, ``unix_damaged_rows``) and appends to ``report``.
    """
    line_numbers, rows = lines
    unix_ns = intact = None
    if "unix" in roles:
        unix_ns, intact = parse_unix(
            raw[roles["unix"]], header[roles["unix"]], line_numbers, where
        )
    if "date" in roles:
        date_col, date_name = raw[roles["date"]], header[roles["date"]]
        if "time" in roles:
            names = (date_name, header[roles["time"]])
            date_col = join_date_time(
                date_col, raw[roles["time"]], names, line_numbers, where
            )
            date_name = "+".join(names)
        date_ns, dated, date_format = parse_dates(
            date_col,
            date_name,
            line_numbers,
            where,
            unix_ns,
            intact,
            date_format,
        )
    else:
        date_ns, dated, date_format = None, np.zeros(len(raw), dtype=bool), None
    if unix_ns is not None:
        has_time = intact | dated
        ts_ns = np.where(intact, unix_ns, 0)
        if date_ns is not None:
            ts_ns = np.where(intact, unix_ns, date_ns)
            both = intact & dated
            mismatch = both & (unix_ns != date_ns)
            attrs["date_unix_mismatch"] = int(mismatch.sum())
            if mismatch.any():
                k = np.argmax(mismatch)
                report.append(
                    f"{mismatch.sum()} row(s) have a date that disagrees with the "
                    f"unix time, first on line {line_numbers[k]} "
                    f"({_quote(date_col.iloc[k])} vs "
                    f"{pd.Timestamp(int(unix_ns[k]), tz='UTC')}); the unix time "
                    "was used"
                )
        attrs["unix_damaged_rows"] = int((~intact & dated).sum())
        date_format = "unix" if date_format is None else date_format
    else:
        has_time, ts_ns = dated, date_ns
    if not has_time.all():
        k = int(np.argmin(has_time))
        why = "the row has no usable date"
        if unix_ns is not None and str(raw[roles["unix"]].iloc[k]).strip():
            why += (
                f": column {_quote(header[roles['unix']])} holds "
                f"{_quote(str(raw[roles['unix']].iloc[k]).strip())}, a unix time in "
                "scientific notation that has lost its last digits, and no date "
                "to use instead"
            )
        raise _malformed(where, int(line_numbers[k]), why, rows[k])
    attrs["date_format"] = date_format
    return ts_ns
