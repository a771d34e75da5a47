"""load_yfinance with only ``yfinance.download`` replaced: no network."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yfinance

from tsmirrors.data import (
    DataQualityWarning,
    DataUnavailableError,
    default_cache_dir,
    load_yfinance,
)

TICKER = "BTC-USD"
START = pd.Timestamp("2024-05-01", tz="UTC")
OFFLINE = (
    "['BTC-USD']: DNSError('Failed to perform, curl: (6) Could not resolve host: "
    "query2.finance.yahoo.com. See https://curl.se/libcurl/c/libcurl-errors.html "
    "first for more details.')"
)
#: The cache file and the lock file kept beside it (no temporary file).
CACHE_AND_LOCK = [".yfinance_BTC-USD_1h.csv.lock", "yfinance_BTC-USD_1h.csv"]
DELISTED = "['NOPE-USD']: YFTzMissingError('possibly delisted; no timezone found')"


def market(hours: int = 48, shift: float = 0.0) -> pd.DataFrame:
    """An hourly OHLCV frame in the layout of tsmirrors (UTC, lower-case)."""
    index = pd.date_range(START, periods=hours, freq="h", name="timestamp", unit="ns")
    close = 60_000.0 + 10.0 * np.arange(hours) + shift
    return pd.DataFrame(
        {
            "open": close - 5.0,
            "high": close + 20.0,
            "low": close - 25.0,
            "close": close,
            "volume": 1e6 + np.arange(hours),
        },
        index=index,
    )


def as_yfinance(frame: pd.DataFrame, ticker: str = TICKER) -> pd.DataFrame:
    """What ``yfinance.download`` returns: (Price, Ticker) columns, 'Datetime'."""
    out = pd.DataFrame(
        {
            ("Close", ticker): frame["close"],
            ("High", ticker): frame["high"],
            ("Low", ticker): frame["low"],
            ("Open", ticker): frame["open"],
            ("Volume", ticker): frame["volume"],
        }
    )
    out.columns = pd.MultiIndex.from_tuples(out.columns, names=["Price", "Ticker"])
    out.index = frame.index.rename("Datetime")
    return out


def empty_download(ticker: str = TICKER) -> pd.DataFrame:
    """The empty frame yfinance returns after a failed download."""
    columns = pd.MultiIndex.from_product(
        [["Adj Close", "Close", "High", "Low", "Open", "Volume"], [ticker]],
        names=["Price", "Ticker"],
    )
    return pd.DataFrame(columns=columns, index=pd.DatetimeIndex([], dtype="M8[s]"))


class FakeYahoo:
    """Serves slices of ``data`` like ``yfinance.download`` and records calls."""

    def __init__(self, data: pd.DataFrame, ticker: str = TICKER):
        self.data = data
        self.ticker = ticker
        self.calls: list[dict] = []

    def __call__(self, tickers, **kwargs):
        self.calls.append({"tickers": tickers, **kwargs})
        frame = self.data
        if kwargs.get("start") is not None:
            frame = frame[frame.index >= pd.Timestamp(kwargs["start"])]
        if kwargs.get("end") is not None:
            frame = frame[frame.index < pd.Timestamp(kwargs["end"])]
        return as_yfinance(frame, self.ticker)


def failing(message: str, ticker: str = TICKER):
    """A download that fails the way yfinance does: log an error, return empty."""

    def download(tickers, **kwargs):
        logging.getLogger("yfinance").error(message)
        return empty_download(ticker)

    return download


def cache_file(cache_dir: Path, name: str = "yfinance_BTC-USD_1h.csv") -> Path:
    return cache_dir / name


def test_first_download_writes_the_cache(tmp_path, monkeypatch):
    fake = FakeYahoo(market())
    monkeypatch.setattr(yfinance, "download", fake)
    df = load_yfinance(TICKER, interval="1h", cache_dir=tmp_path)
    pd.testing.assert_frame_equal(df, market(), check_freq=False)
    assert df.index.freq == "h"
    assert str(df.index.tz) == "UTC"
    assert df.attrs["source"] == "yfinance"
    assert df.attrs["from_cache"] is False
    assert df.attrs["path"] == str(cache_file(tmp_path))
    assert df.attrs["gaps"] == []
    assert len(fake.calls) == 1
    call = fake.calls[0]
    assert call["tickers"] == TICKER
    assert call["interval"] == "1h"
    assert call["period"] == "max" and "start" not in call
    assert call["auto_adjust"] is True and call["progress"] is False
    cached = pd.read_csv(cache_file(tmp_path), index_col="timestamp")
    assert len(cached) == 48
    assert sorted(p.name for p in tmp_path.iterdir()) == CACHE_AND_LOCK


def test_second_call_merges_an_overlapping_range(tmp_path, monkeypatch):
    monkeypatch.setattr(yfinance, "download", FakeYahoo(market()))
    first = load_yfinance(
        TICKER, start=START, end=START + pd.Timedelta(hours=24), cache_dir=tmp_path
    )
    assert len(first) == 24
    # Yahoo revises bars: the second download wins where the ranges overlap,
    # and the cached bars before it move with the first common bar (a change
    # of the adjustment basis), with a warning.
    revised = FakeYahoo(market(shift=1.0))
    monkeypatch.setattr(yfinance, "download", revised)
    with pytest.warns(DataQualityWarning, match="rescaled the 12 cached bar"):
        second = load_yfinance(
            TICKER,
            start=START + pd.Timedelta(hours=12),
            end=START + pd.Timedelta(hours=36),
            cache_dir=tmp_path,
        )
    assert revised.calls[0]["start"] == (START + pd.Timedelta(hours=12)).to_pydatetime()
    assert list(second.index) == list(market().index[12:36])
    np.testing.assert_array_equal(second["close"], market(shift=1.0)["close"][12:36])

    monkeypatch.setattr(yfinance, "download", failing(OFFLINE))
    with pytest.warns(DataQualityWarning, match="using the cached copy"):
        everything = load_yfinance(TICKER, cache_dir=tmp_path)
    assert len(everything) == 36 and everything.index.is_unique
    assert everything.index.is_monotonic_increasing
    ratio = market(shift=1.0)["close"].iloc[12] / market()["close"].iloc[12]
    expected = pd.concat(
        [market()["close"][:12] * ratio, market(shift=1.0)["close"][12:36]]
    )
    # rtol: one float64 multiplication per rescaled bar
    np.testing.assert_allclose(everything["close"], expected, rtol=1e-14)


@pytest.mark.parametrize("how", ["logged", "raised"])
def test_failed_download_falls_back_to_the_cache(tmp_path, monkeypatch, how):
    monkeypatch.setattr(yfinance, "download", FakeYahoo(market()))
    load_yfinance(TICKER, cache_dir=tmp_path)

    def raising(tickers, **kwargs):
        raise ConnectionError("Network is unreachable")

    monkeypatch.setattr(
        yfinance, "download", failing(OFFLINE) if how == "logged" else raising
    )
    with pytest.warns(DataQualityWarning) as record:
        df = load_yfinance(
            TICKER, start=START + pd.Timedelta(hours=40), cache_dir=tmp_path
        )
    message = str(record[0].message)
    assert "could not download 'BTC-USD' (1h) from Yahoo Finance" in message
    assert f"using the cached copy {cache_file(tmp_path)}" in message
    assert df.attrs["from_cache"] is True
    pd.testing.assert_frame_equal(df, market()[40:], check_freq=False)


@pytest.mark.parametrize("how", ["logged", "raised", "rate_limited"])
def test_offline_without_cache_names_the_cache_dir(tmp_path, monkeypatch, how):
    def raising(tickers, **kwargs):
        raise TimeoutError("timed out")

    download = {
        "logged": failing(OFFLINE),
        "raised": raising,
        "rate_limited": failing("['BTC-USD']: YFRateLimitError('Too Many Requests')"),
    }[how]
    monkeypatch.setattr(yfinance, "download", download)
    cache_dir = tmp_path / "cache"
    with pytest.raises(DataUnavailableError) as info:
        load_yfinance(TICKER, cache_dir=cache_dir)
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert f"there is no cached copy in {cache_dir}" in message
    assert "tsmirrors backtest --csv FILE" in message
    assert "tsmirrors demo" in message
    assert not cache_dir.exists() or not any(cache_dir.iterdir())


def test_bad_ticker_raises_naming_it(tmp_path, monkeypatch):
    monkeypatch.setattr(yfinance, "download", failing(DELISTED, ticker="NOPE-USD"))
    with pytest.raises(ValueError) as info:
        load_yfinance("NOPE-USD", cache_dir=tmp_path)
    assert not isinstance(info.value, DataUnavailableError)
    assert str(info.value).startswith(
        "Yahoo Finance returned no data for ticker 'NOPE-USD' (interval '1h', "
        "start=None, end=None): ['NOPE-USD']: YFTzMissingError('possibly delisted; "
        "no timezone found')."
    )
    assert list(tmp_path.iterdir()) == []


def test_failed_cache_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(yfinance, "download", FakeYahoo(market()))
    load_yfinance(TICKER, end=START + pd.Timedelta(hours=24), cache_dir=tmp_path)
    before = cache_file(tmp_path).read_bytes()

    real_to_csv = pd.DataFrame.to_csv

    def to_csv_then_disk_full(self, path_or_buf=None, *args, **kwargs):
        path_or_buf.write(real_to_csv(self, None, *args, **kwargs)[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv_then_disk_full)
    with pytest.warns(DataQualityWarning, match="could not write the cache file"):
        df = load_yfinance(TICKER, cache_dir=tmp_path)
    assert len(df) == 48  # the download is still returned
    assert cache_file(tmp_path).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == CACHE_AND_LOCK


def test_interrupted_cache_write_removes_the_temp_file(tmp_path, monkeypatch):
    monkeypatch.setattr(yfinance, "download", FakeYahoo(market()))
    load_yfinance(TICKER, end=START + pd.Timedelta(hours=24), cache_dir=tmp_path)
    before = cache_file(tmp_path).read_bytes()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr("tsmirrors.data.yahoo.os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_yfinance(TICKER, cache_dir=tmp_path)
    assert cache_file(tmp_path).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == CACHE_AND_LOCK


def test_flat_columns_and_naive_daily_index(tmp_path, monkeypatch):
    days = pd.date_range("2024-01-01", periods=5, freq="D", name="Date")
    flat = pd.DataFrame(
        {
            "Open": 1.0,
            "High": 2.0,
            "Low": 0.5,
            "Close": np.arange(5.0) + 1,
            "Volume": 10.0,
        },
        index=days,
    )
    monkeypatch.setattr(yfinance, "download", lambda tickers, **kw: flat)
    df = load_yfinance("^GSPC", interval="1d", cache_dir=tmp_path)
    assert df.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert df["close"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert df.attrs["freq"] == "D"
    assert (tmp_path / "yfinance_%5EGSPC_1d.csv").exists()


def test_cache_dir_defaults_to_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TSMIRRORS_CACHE", str(tmp_path / "env-cache"))
    assert default_cache_dir() == tmp_path / "env-cache"
    monkeypatch.setattr(yfinance, "download", FakeYahoo(market()))
    df = load_yfinance(TICKER)
    assert Path(df.attrs["path"]).parent == tmp_path / "env-cache"
    monkeypatch.delenv("TSMIRRORS_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / ".cache" / "tsmirrors"


def test_yfinance_log_is_kept_off_the_console(tmp_path, monkeypatch):
    logger = logging.getLogger("yfinance")
    monkeypatch.setattr(yfinance, "download", failing(DELISTED))
    with pytest.raises(ValueError):
        load_yfinance(TICKER, cache_dir=tmp_path)
    assert logger.propagate is True
    assert not [h for h in logger.handlers if type(h).__name__ == "_LogCapture"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(ticker=""), "ticker must be a non-empty string, got ''"),
        (dict(ticker=TICKER, interval="2h"), "interval must be one of .* got '2h'"),
        (
            dict(ticker=TICKER, start="2024-02-01", end="2024-01-01"),
            "start must be before end, got start=2024-02-01 and end=2024-01-01",
        ),
        (dict(ticker=TICKER, start="not a date"), "start must be a date"),
    ],
)
def test_bad_arguments(tmp_path, monkeypatch, kwargs, message):
    fake = FakeYahoo(market())
    monkeypatch.setattr(yfinance, "download", fake)
    with pytest.raises(ValueError, match=message):
        load_yfinance(cache_dir=tmp_path, **kwargs)
    assert fake.calls == []


def test_no_warning_on_a_clean_download(tmp_path, monkeypatch):
    monkeypatch.setattr(yfinance, "download", FakeYahoo(market()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_yfinance(TICKER, cache_dir=tmp_path)


@pytest.mark.parametrize("lock", ["flock", "exclusive_file"])
def test_concurrent_downloads_keep_the_union_of_both(tmp_path, monkeypatch, lock):
    import threading

    from tsmirrors import _atomic

    if lock == "exclusive_file":  # the fallback where fcntl does not exist
        monkeypatch.setattr(_atomic, "fcntl", None)
    fake = FakeYahoo(market())
    both_downloading = threading.Barrier(2, timeout=30)

    def slow_download(tickers, **kwargs):
        both_downloading.wait()  # both downloads are in flight together
        return fake(tickers, **kwargs)

    monkeypatch.setattr(yfinance, "download", slow_download)
    errors = []

    def fetch(lo, hi):
        try:
            load_yfinance(
                TICKER,
                start=START + pd.Timedelta(hours=lo),
                end=START + pd.Timedelta(hours=hi),
                cache_dir=tmp_path,
            )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=fetch, args=rng) for rng in ((0, 20), (20, 48))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    cached = pd.read_csv(cache_file(tmp_path), index_col="timestamp")
    assert len(cached) == 48  # neither range was lost
    np.testing.assert_array_equal(cached["close"], market()["close"])
    assert sorted(p.name for p in tmp_path.iterdir()) == CACHE_AND_LOCK
