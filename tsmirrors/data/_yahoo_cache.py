"""The yfinance cache file: strict reading and merging a download into it."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from .loaders import PRICE_COLUMNS

#: Relative difference of two closes of one bar above which the cache and a
#: download disagree. The cache is written with the full repr of each float,
#: so a bar Yahoo serves unchanged reads back bit for bit; Yahoo's prices carry
#: float32 precision (relative ~6e-8) and yfinance adjusts them in float64.
#: 1e-6 is well above that rounding and far below the smallest real change of
#: the adjustment basis (a dividend of 0.01% of the price is 1e-4).
BASIS_RTOL = 1e-6

_HEADER = ["timestamp", *PRICE_COLUMNS]
_OHLC = ["open", "high", "low", "close"]


class CacheDamagedError(ValueError):
    """The cache file cannot be trusted; the message names the line."""


def _labels(index: pd.DatetimeIndex, k: int = 3) -> str:
    shown = ", ".join(str(t) for t in index[:k])
    return shown + (", ..." if len(index) > k else "")


def read_cache(path: Path) -> pd.DataFrame | None:
    """The cached frame of ``path`` (None when there is no file).

    Raises
    ------
    CacheDamagedError
        For a file that is not the cache's exact layout: another header, a row
        with too few or too many fields (a truncated write), a timestamp or a
        price that does not parse. The message names the file and the line.
    """
    if not path.exists():
        return None
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CacheDamagedError(f"the cache file {path} is unreadable ({exc})") from exc
    if not rows or rows[0] != _HEADER:
        found = ",".join(rows[0]) if rows else "an empty file"
        raise CacheDamagedError(
            f"the cache file {path} is damaged: line 1 is {found!r}, not the "
            f"header {','.join(_HEADER)!r}"
        )
    for lineno, row in enumerate(rows[1:], start=2):
        if len(row) != len(_HEADER):
            raise CacheDamagedError(
                f"the cache file {path} is damaged: line {lineno} has {len(row)} "
                f"field(s), not {len(_HEADER)} ({','.join(row)!r})"
            )
    body = rows[1:]
    stamps = pd.Series([r[0] for r in body], dtype=object)
    parsed = pd.to_datetime(stamps, format="ISO8601", utc=True, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        raise CacheDamagedError(
            f"the cache file {path} is damaged: line {bad[0] + 2} has the "
            f"timestamp {body[bad[0]][0]!r}"
        )
    data = {}
    for j, col in enumerate(PRICE_COLUMNS, start=1):
        text = pd.Series([r[j] for r in body], dtype=object)
        values = pd.to_numeric(text.where(text != "", np.nan), errors="coerce")
        wrong = np.flatnonzero(values.isna().to_numpy() & (text != "").to_numpy())
        if len(wrong):
            raise CacheDamagedError(
                f"the cache file {path} is damaged: line {wrong[0] + 2} has the "
                f"{col} {body[wrong[0]][j]!r}"
            )
        data[col] = values.to_numpy(dtype=np.float64)
    index = pd.DatetimeIndex(parsed).as_unit("ns").rename("timestamp")
    frame = pd.DataFrame(data, index=index)
    frame = frame[~frame.index.duplicated(keep="last")]
    return frame.sort_index()


def merge(cached: pd.DataFrame | None, fresh: pd.DataFrame, report: list[str]):
    """Merge a download into the cached bars; what needs saying goes to report.

    The download wins on the bars both hold, except that a downloaded bar with
    no price at all (open, high, low and close NaN) never replaces a cached
    one. When the closes of common bars differ (beyond :data:`BASIS_RTOL`,
    leaving out the latest cached bar, which may have been live when cached),
    the merge is reported; when they differ at the first (last) common bar,
    Yahoo has re-adjusted the history for a split or dividend, and the cached
    bars before (after) the download are rescaled by that bar's ratio of new
    to old close (open, high, low, close; volume kept), so that the merged
    series has one adjustment basis.
    """
    if cached is None or cached.empty:
        return fresh
    empty = fresh[_OHLC].isna().all(axis=1).to_numpy()
    fresh = fresh[~(empty & fresh.index.isin(cached.index))]
    common = cached.index[:-1].intersection(fresh.index).sort_values()
    old = cached.loc[common, "close"].to_numpy()
    new = fresh.loc[common, "close"].to_numpy()
    ok = np.isfinite(old) & np.isfinite(new) & (old > 0) & (new > 0)
    common, old, new = common[ok], old[ok], new[ok]
    ratio = new / old if len(common) else np.empty(0)
    differ = np.abs(ratio - 1.0) > BASIS_RTOL
    rest = cached[~cached.index.isin(fresh.index)].copy()
    if differ.any():
        report.append(
            f"the download's close differs from the cached one on "
            f"{int(differ.sum())} of {len(common)} common bar(s), first "
            f"{_labels(common[differ])}; kept the download's"
        )
        for pos, side in ((0, rest.index < common[0]), (-1, rest.index > common[-1])):
            if differ[pos] and side.any():
                rest.loc[side, _OHLC] *= ratio[pos]
                where = "before" if pos == 0 else "after"
                report.append(
                    f"the adjustment basis changed (a split or dividend): rescaled "
                    f"the {int(side.sum())} cached bar(s) {where} {common[pos]} by "
                    f"{ratio[pos]:.10g}, the ratio of the new to the old close there"
                )
    return pd.concat([rest, fresh]).sort_index()


def missing_report(frame: pd.DataFrame, attrs: dict, report: list[str]) -> None:
    """List bars without prices in ``attrs['missing_values']`` and the report."""
    missing = {c: int(frame[c].isna().sum()) for c in PRICE_COLUMNS}
    missing = {c: n for c, n in missing.items() if n}
    attrs["missing_values"] = missing
    if missing:
        rows = frame.index[frame[list(missing)].isna().any(axis=1).to_numpy()]
        report.append(
            "empty or NaN fields read as NaN: "
            + ", ".join(f"{c} x{n}" for c, n in missing.items())
            + f", first {_labels(rows)}; not filled"
        )
