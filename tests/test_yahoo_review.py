"""load_yfinance's cache and the CLI's --end: nothing lost or mixed silently.

Only ``yfinance.download`` is replaced (no network); parsing, caching and the
error paths run for real.
"""

from __future__ import annotations

import argparse
import logging
import warnings

import numpy as np
import pandas as pd
import pytest
import yfinance

from tsmirrors import cli
from tsmirrors.data import DataQualityWarning, load_yfinance
from tsmirrors.data.yahoo import exclusive_end

TICKER = "AAPL"
START = pd.Timestamp("2024-01-01", tz="UTC")


def bars(hours: int, price: float = 100.0, first: int = 0) -> pd.DataFrame:
    """Hourly OHLCV bars from START + ``first`` hours, close rising by 1."""
    index = pd.date_range(
        START + pd.Timedelta(hours=first), periods=hours, freq="h", name="timestamp"
    )
    close = price + np.arange(first, first + hours, dtype=float)
    return pd.DataFrame(
        {
            "open": close,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": 10.0,
        },
        index=index,
    )


def as_yfinance(frame: pd.DataFrame, ticker: str = TICKER) -> pd.DataFrame:
    """What ``yfinance.download`` returns: (Price, Ticker) columns."""
    out = frame.rename(columns=str.capitalize)
    out.columns = pd.MultiIndex.from_product(
        [list(out.columns), [ticker]], names=["Price", "Ticker"]
    )
    return out.rename_axis("Datetime")


def serve(monkeypatch, frame: pd.DataFrame, ticker: str = TICKER, log: str = ""):
    """Make ``yfinance.download`` answer with ``frame`` cut to start/end."""
    calls = []

    def download(tickers, **kwargs):
        calls.append(kwargs)
        if log:
            logging.getLogger("yfinance").error(log)
        out = frame
        if kwargs.get("start") is not None:
            out = out[out.index >= pd.Timestamp(kwargs["start"])]
        if kwargs.get("end") is not None:
            out = out[out.index < pd.Timestamp(kwargs["end"])]
        return as_yfinance(out, ticker)

    monkeypatch.setattr(yfinance, "download", download)
    return calls


def load(tmp_path, **kwargs):
    return load_yfinance(TICKER, interval="1h", cache_dir=tmp_path, **kwargs)


def load_quietly(tmp_path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load(tmp_path, **kwargs)


def cache_path(tmp_path):
    return tmp_path / f"yfinance_{TICKER}_1h.csv"


# ------------------------------------------------------------------ 1. --end
def test_cli_end_keeps_the_whole_end_day_for_a_ticker_as_for_a_csv(
    tmp_path, monkeypatch
):
    data = bars(24 * 12)
    calls = serve(monkeypatch, data)
    csv = tmp_path / "same.csv"
    data.rename_axis("date").to_csv(csv)
    args = argparse.Namespace(
        csv=None, ticker=TICKER, interval="1h", start="2024-01-05",
        end="2024-01-10", cache_dir=str(tmp_path / "cache"), fill=None,
        date_format=None, window=48,
    )
    from_ticker, _ = cli._load_series(args)
    args.csv = str(csv)
    from_csv, _ = cli._load_series(args)
    last = pd.Timestamp("2024-01-10 23:00", tz="UTC")
    assert from_ticker.index[-1] == from_csv.index[-1] == last
    assert calls[-1]["end"] == pd.Timestamp("2024-01-11", tz="UTC").to_pydatetime()
    np.testing.assert_array_equal(from_ticker.to_numpy(), from_csv.to_numpy())


@pytest.mark.parametrize(
    "end, bound",
    [
        ("2024-01-10", "2024-01-11 00:00"),
        ("2024-02", "2024-03-01 00:00"),
        ("2024-01-10 05:00:00+00:00", "2024-01-10 05:00:00.000000001"),
        (pd.Timestamp("2024-01-10 05:00"), "2024-01-10 05:00:00.000000001"),
    ],
)
def test_exclusive_end_is_just_after_what_end_names(end, bound):
    assert exclusive_end(end) == pd.Timestamp(bound, tz="UTC")
    assert exclusive_end(None) is None
    with pytest.raises(ValueError, match="--end must be a date"):
        exclusive_end("soon", "--end")


# ------------------------------------------------------------ 2. NaN rows
def test_empty_downloaded_rows_never_replace_cached_bars(tmp_path, monkeypatch):
    serve(monkeypatch, bars(48))
    load_quietly(tmp_path)
    holes = bars(3, first=46)
    holes[:] = np.nan  # two cached bars and one new one come back empty
    serve(monkeypatch, holes)
    with pytest.warns(DataQualityWarning) as record:
        df = load(tmp_path)
    message = " ".join(str(w.message) for w in record)
    assert "close x1" in message and "first 2024-01-03 00:00:00+00:00" in message
    np.testing.assert_array_equal(df["close"].iloc[:48], bars(48)["close"])
    assert np.isnan(df["close"].iloc[48])
    assert df.attrs["missing_values"]["close"] == 1
    cached = pd.read_csv(cache_path(tmp_path), index_col="timestamp")
    np.testing.assert_array_equal(cached["close"].iloc[:48], bars(48)["close"])


# ------------------------------------------------- 3. unexplained empty answer
@pytest.mark.parametrize(
    "log",
    [
        "$AAPL: HTTP Error 401: Unauthorized Invalid Crumb",
        "$AAPL: possibly delisted; no price data found (1h 2024-01-01 -> "
        "2024-01-02)(Yahoo status_code = 429)",
        "",
    ],
)
def test_an_unexplained_empty_download_says_the_cache_is_used(
    tmp_path, monkeypatch, log
):
    serve(monkeypatch, bars(48))
    load_quietly(tmp_path)
    serve(monkeypatch, bars(0), log=log)
    with pytest.warns(DataQualityWarning, match="using the cached copy"):
        df = load(tmp_path)
    assert df.attrs["from_cache"] is True
    assert len(df) == 48


def test_no_data_in_the_range_is_no_failure(tmp_path, monkeypatch):
    serve(monkeypatch, bars(48))
    load_quietly(tmp_path)
    serve(
        monkeypatch, bars(0),
        log="$AAPL: possibly delisted; no price data found (1h 2024-01-01 -> "
        "2024-01-02)",
    )
    df = load_quietly(tmp_path)
    assert df.attrs["from_cache"] is False and len(df) == 48


# ---------------------------------------------------- 4. adjustment basis
def test_a_split_rescales_the_cached_bars_outside_the_download(
    tmp_path, monkeypatch
):
    before = bars(48, price=400.0)
    serve(monkeypatch, before)
    load_quietly(tmp_path)
    # a 4:1 split: Yahoo now serves the whole history divided by 4, and the
    # new download only covers the last day of the cache and the next one
    after = bars(72, price=400.0)
    after[["open", "high", "low", "close"]] /= 4.0
    serve(monkeypatch, after.iloc[24:])
    with pytest.warns(DataQualityWarning) as record:
        df = load(tmp_path, start=START + pd.Timedelta(hours=24))
    message = " ".join(str(w.message) for w in record)
    assert "differs from the cached one on 23 of 23 common bar(s)" in message
    assert "rescaled the 24 cached bar(s) before 2024-01-02 00:00:00+00:00 by 0.25" in (
        message
    )
    assert len(df) == 48
    everything = load_quietly(tmp_path, end=START + pd.Timedelta(hours=72))
    # rtol: one float64 multiplication by 0.25 (exact) per bar
    np.testing.assert_allclose(everything["close"], after["close"], rtol=1e-15)
    np.testing.assert_array_equal(everything["volume"], after["volume"])


def test_the_same_bars_again_and_a_revised_live_bar_merge_quietly(
    tmp_path, monkeypatch
):
    serve(monkeypatch, bars(48))
    load_quietly(tmp_path)
    load_quietly(tmp_path)  # the same download again
    revised = bars(60)
    revised.loc[revised.index[47], "close"] += 0.5  # the bar live when cached
    serve(monkeypatch, revised)
    df = load_quietly(tmp_path)
    np.testing.assert_array_equal(df["close"], revised["close"])


# ------------------------------------------------------- 5. damaged cache
def truncate_line(path, lineno: int) -> str:
    lines = path.read_text().splitlines()
    lines[lineno - 1] = lines[lineno - 1][:30]
    path.write_text("\n".join(lines) + "\n")
    return lines[lineno - 1]


def test_a_truncated_cache_line_is_refused_naming_the_line(tmp_path, monkeypatch):
    serve(monkeypatch, bars(48))
    load_quietly(tmp_path)
    truncate_line(cache_path(tmp_path), 6)

    def offline(tickers, **kwargs):
        raise ConnectionError("Network is unreachable")

    monkeypatch.setattr(yfinance, "download", offline)
    with pytest.raises(ValueError, match=r"is damaged: line 6 has 2 field\(s\), not 6"):
        load(tmp_path)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_cache_is_rebuilt_from_a_download(tmp_path, monkeypatch, damage):
    serve(monkeypatch, bars(48))
    load_quietly(tmp_path)
    path = cache_path(tmp_path)
    if damage == "truncated":
        truncate_line(path, 6)
        where = "line 6"
    else:
        path.write_text("garbage\n1,2\n")
        where = "line 1 is 'garbage'"
    serve(monkeypatch, bars(24, first=24))
    with pytest.warns(DataQualityWarning) as record:
        df = load(tmp_path)
    message = " ".join(str(w.message) for w in record)
    assert where in message and "rebuilt it from the download" in message
    assert df.index[0] == START + pd.Timedelta(hours=24) and len(df) == 24
    assert not df.isna().any().any()
    assert path.with_name(path.name + ".damaged").exists()
    cached = pd.read_csv(path, index_col="timestamp")
    assert len(cached) == 24 and not cached.isna().any().any()


# --------------------------------------------------------- 6. other ticker
def test_a_download_for_another_ticker_is_refused(tmp_path, monkeypatch):
    serve(monkeypatch, bars(48), ticker="BRK-B")
    with pytest.raises(ValueError, match=r"returned tickers \['BRK-B'\], not 'AAPL'"):
        load(tmp_path)
    assert not cache_path(tmp_path).exists()
