"""load_prices on every shared BTC layout, and on small files made here."""

from __future__ import annotations

import os
import re
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsmirrors.data import (
    PRICE_COLUMNS,
    DataQualityWarning,
    Gap,
    infer_frequency,
    load_prices,
)

BTC_DIR = Path(
    os.environ.get(
        "TSMIRRORS_BTC_DIR",
        Path(__file__).resolve().parents[2] / "shared" / "data" / "btc",
    )
)

UTC = "UTC"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


def load_quietly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return load_prices(path)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# Row counts from the README; values read off the raw files.
SHARED = {
    "BTCUSD_gemini_1h_2017.csv": dict(
        layout="ohlcv",
        rows_read=8760,
        rows=8760,
        first="2017-01-01 00:00",
        last="2017-12-31 23:00",
        freq="h",
        values={
            "2017-01-01 00:00": dict(open=974.55, close=972.0, volume=10.91424309),
            "2017-12-31 23:00": dict(high=13924.39, close=13820.26),
        },
    ),
    "gemini_BTCUSD_1hr.csv": dict(
        layout="cryptodatadownload",
        rows_read=25523,
        rows=25523,
        first="2015-10-08 13:00",
        last="2018-09-05 23:00",
        freq="h",
        values={
            "2015-10-08 13:00": dict(high=245.0, close=245.0, volume=0.60665438),
            # Rows whose unix column is damaged (1.53618E+12): dated by Date.
            "2018-09-05 22:00": dict(open=6925.0, close=6899.97),
            "2018-09-05 23:00": dict(close=6899.96, volume=1.45260794),
        },
    ),
    "Coinbase_BTCUSD_1h.csv": dict(
        layout="cryptodatadownload",
        rows_read=29061,
        rows=29061 - 5,  # five identical duplicated rows collapsed
        first="2017-07-01 11:00",
        last="2020-10-24 07:00",
        freq="h",
        values={
            "2017-07-01 11:00": dict(open=2505.56, close=2509.17, volume=114.6),
            # unix 1510473600; its Date says "2017-11-12 03-AM" (US Eastern).
            "2017-11-12 08:00": dict(close=6201.0, volume=3891.25),
            "2020-10-24 07:00": dict(close=12953.2, volume=0.0),
        },
    ),
    "BTC-Hourly.csv": dict(
        layout="kaggle_btcinusd",
        rows_read=33259,
        rows=33259,
        first="2018-05-15 06:00",
        last="2022-03-01 00:00",
        freq="h",
        values={
            # Swapped row: Volume BTC 4906603.14, Volume USD 559.93.
            "2018-05-15 06:00": dict(open=8733.86, close=8740.99, volume=559.93),
            "2022-03-01 00:00": dict(close=43312.27, volume=52.05632),
        },
    ),
    "BTC-Daily.csv": dict(
        layout="kaggle_btcinusd",
        rows_read=2651,
        rows=2651,
        first="2014-11-28",
        last="2022-03-01",
        freq="D",
        values={
            # Swapped row: Volume BTC 3220878.18, Volume USD 8617.15.
            "2014-11-28": dict(open=363.59, close=376.28, volume=8617.15),
            "2022-02-28": dict(close=43178.98, volume=3160.61807),  # 28/02/2022
            "2022-03-01": dict(close=43185.48, volume=49.0062887),
        },
    ),
}


@pytest.fixture(scope="module")
def shared_frames():
    return {name: load_quietly(BTC_DIR / name) for name in SHARED}


@pytest.mark.parametrize("name", sorted(SHARED))
def test_shared_layouts_load(shared_frames, name):
    spec = SHARED[name]
    df = shared_frames[name]
    assert list(df.columns) == list(PRICE_COLUMNS)
    assert (df.dtypes == np.float64).all()
    assert isinstance(df.index, pd.DatetimeIndex)
    assert str(df.index.tz) == UTC
    assert df.index.name == "timestamp"
    assert df.index.is_monotonic_increasing and df.index.is_unique
    assert len(df) == spec["rows"]
    assert df.attrs["rows_read"] == spec["rows_read"]
    assert df.attrs["layout"] == spec["layout"]
    assert df.attrs["path"] == str(BTC_DIR / name)
    assert df.attrs["freq"] == spec["freq"]
    assert df.index[0] == ts(spec["first"])
    assert df.index[-1] == ts(spec["last"])
    for when, expected in spec["values"].items():
        row = df.loc[ts(when)]
        for col, value in expected.items():
            assert row[col] == pytest.approx(value, rel=1e-12), (when, col)
    # Only the Gemini placeholder zeros are missing.
    n_missing = int(df[["high", "close", "volume"]].isna().sum().sum())
    assert n_missing == 0


def test_gemini_zero_first_hour_is_missing_not_dropped(shared_frames):
    df = shared_frames["gemini_BTCUSD_1hr.csv"]
    first = ts("2015-10-08 13:00")
    assert df.index[0] == first
    assert np.isnan(df.loc[first, "open"]) and np.isnan(df.loc[first, "low"])
    assert df.loc[first, "close"] == 245.0
    assert df.attrs["zero_prices"] == [(first, "open"), (first, "low")]
    assert df[["open", "low"]].isna().sum().tolist() == [1, 1]
    assert df.attrs["unix_damaged_rows"] == 1693
    assert df.attrs["date_format"] == "%m/%d/%Y %H:%M"
    with pytest.warns(DataQualityWarning, match=r"2 price\(s\) equal to 0"):
        load_prices(BTC_DIR / "gemini_BTCUSD_1hr.csv")


def test_coinbase_banner_duplicates_gaps_and_local_dates(shared_frames):
    df = shared_frames["Coinbase_BTCUSD_1h.csv"]
    assert df.attrs["banner"] == [
        "Timestamps are UTC timezone,https://www.CryptoDataDownload.com"
    ]
    assert df.attrs["order"] == "descending"
    assert df.attrs["duplicates"] == [ts(f"2017-11-12 0{h}:00") for h in range(4, 9)]
    assert df.attrs["gaps"] == [
        Gap(ts("2017-09-22 20:00"), ts("2017-09-22 23:00"), 4),
        Gap(ts("2017-11-05 05:00"), ts("2017-11-05 05:00"), 1),
    ]
    assert df.index.freq is None  # gaps are not filled
    assert df.attrs["date_unix_mismatch"] == 1208
    with pytest.warns(DataQualityWarning) as record:
        load_prices(BTC_DIR / "Coinbase_BTCUSD_1h.csv")
    message = str(record[0].message)
    assert "1208 row(s) have a date that disagrees with the unix time" in message
    assert "5 duplicated row(s) with identical values collapsed" in message
    assert "2 gap(s) with 5 missing timestamp(s)" in message


def test_kaggle_swapped_volumes_are_swapped_back(shared_frames):
    hourly = shared_frames["BTC-Hourly.csv"]
    assert hourly.attrs["volume_swapped_rows"] == 20143
    assert hourly.attrs["volume_column"] == "Volume BTC"
    assert hourly.attrs["order"] == "descending"
    assert hourly.index.freq == "h"
    daily = shared_frames["BTC-Daily.csv"]
    assert daily.attrs["volume_swapped_rows"] == 1180
    assert daily.attrs["date_format"] == "%d/%m/%Y %H:%M"
    # In BTC the traded amount is far below the USD amount at these prices.
    assert (hourly["volume"] < 1e5).all() and (daily["volume"] < 1e6).all()


def kaggle_row(when: str, close: float, vol_btc: float, vol_usd: float) -> str:
    unix = int(ts(when).timestamp())
    return f"{unix},{when},BTC/USD,{close},{close},{close},{close},{vol_btc},{vol_usd}"


KAGGLE_HEADER = "unix,date,symbol,open,high,low,close,Volume BTC,Volume USD"


def test_swapped_volume_rule_row_by_row(tmp_path):
    rows = [
        KAGGLE_HEADER,
        kaggle_row("2017-07-14 04:00:00", 10, 2, 20),
        kaggle_row("2017-07-14 03:00:00", 10, 30, 3),  # swapped
        kaggle_row("2017-07-14 02:00:00", 10, 0, 0),
        kaggle_row("2017-07-14 01:00:00", 0.5, 30, 15),  # price below 1
        kaggle_row("2017-07-14 00:00:00", 0.5, 15, 30),  # swapped
    ]
    path = write(tmp_path, "swap.csv", "\n".join(rows) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = load_prices(path)
    assert df["volume"].tolist() == [30.0, 30.0, 0.0, 3.0, 2.0]
    assert df.attrs["volume_swapped_rows"] == 2


# ---------------------------------------------------------------- yfinance CSV


def yfinance_like_frame(index, tickers=("BTC-USD",)):
    cols = pd.MultiIndex.from_product(
        [["Close", "High", "Low", "Open", "Volume"], list(tickers)],
        names=["Price", "Ticker"],
    )
    values = np.arange(len(index) * len(cols), dtype=float).reshape(len(index), -1)
    return pd.DataFrame(values + 100.0, index=index, columns=cols)


def test_yfinance_multi_header_export(tmp_path):
    index = pd.date_range("2024-03-01", periods=4, freq="h", tz=UTC, name="Datetime")
    frame = yfinance_like_frame(index)
    path = tmp_path / "btc.csv"
    frame.to_csv(path)
    assert path.read_text().splitlines()[:3] == [
        "Price,Close,High,Low,Open,Volume",
        "Ticker,BTC-USD,BTC-USD,BTC-USD,BTC-USD,BTC-USD",
        "Datetime,,,,,",
    ]
    df = load_prices(path)
    assert df.attrs["layout"] == "yfinance"
    assert df.attrs["ticker"] == "BTC-USD"
    assert df.index.equals(pd.DatetimeIndex(index, name="timestamp"))
    for col in ("Close", "High", "Low", "Open", "Volume"):
        np.testing.assert_array_equal(df[col.lower()], frame[(col, "BTC-USD")])


def test_yfinance_intraday_export_with_exchange_offsets(tmp_path):
    index = pd.date_range(
        "2024-03-08 09:30", periods=3, freq="h", tz="America/New_York", name="Datetime"
    )
    path = tmp_path / "aapl.csv"
    yfinance_like_frame(index, tickers=("AAPL",)).to_csv(path)
    assert "2024-03-08 09:30:00-05:00" in path.read_text()
    df = load_prices(path)
    assert list(df.index) == [
        ts("2024-03-08 14:30"),
        ts("2024-03-08 15:30"),
        ts("2024-03-08 16:30"),
    ]


def test_yfinance_multi_ticker_export_is_refused(tmp_path):
    index = pd.date_range("2024-03-01", periods=2, freq="D", name="Date")
    path = tmp_path / "two.csv"
    yfinance_like_frame(index, tickers=("AAPL", "MSFT")).to_csv(path)
    with pytest.raises(ValueError, match=r"2 tickers \(AAPL, MSFT\)"):
        load_prices(path)


def test_old_yfinance_single_header(tmp_path):
    path = write(
        tmp_path,
        "old.csv",
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2021-01-04,100,110,90,105,104.5,1000\n"
        "2021-01-05,105,112,101,111,110.4,2000\n"
        "2021-01-06,111,113,108,109,108.4,1500\n",
    )
    df = load_prices(path)
    assert df.attrs["layout"] == "yfinance"
    assert df["close"].tolist() == [105.0, 111.0, 109.0]  # Close, not Adj Close
    assert df["volume"].tolist() == [1000.0, 2000.0, 1500.0]
    assert df.index[0] == ts("2021-01-04")
    assert df.attrs["freq"] == "D"


# ------------------------------------------------------------ plain layouts


def test_minimal_date_close_file(tmp_path):
    path = write(tmp_path, "c.csv", "date,close\n2020-01-01,1.5\n2020-01-02,2.5\n")
    df = load_prices(path)
    assert df.attrs["layout"] == "date_close"
    assert df.attrs["missing_columns"] == ["open", "high", "low", "volume"]
    assert df[["open", "high", "low", "volume"]].isna().all().all()
    assert df["close"].tolist() == [1.5, 2.5]
    assert df.index.freq == "D"


def test_price_column_and_case_and_bom(tmp_path):
    path = tmp_path / "p.csv"
    text = "\ufeffDate,Price\r\n2020-01-01 00:00,1\r\n2020-01-01 01:00,2\r\n"
    path.write_bytes(text.encode())
    df = load_prices(path)
    assert df["close"].tolist() == [1.0, 2.0]
    assert df.attrs["freq"] == "h"


def test_day_first_dates_decided_by_unix_column(tmp_path):
    # Every day is <= 12, so only the unix column tells 05/03 is 5 March.
    path = write(
        tmp_path,
        "k.csv",
        f"{KAGGLE_HEADER}\n"
        f"{int(ts('2022-03-06').timestamp())},06/03/2022 0:00,BTC/USD,1,1,1,1,1,1\n"
        f"{int(ts('2022-03-05').timestamp())},05/03/2022 0:00,BTC/USD,1,1,1,2,1,2\n",
    )
    df = load_prices(path)
    assert df.attrs["date_format"] == "%d/%m/%Y %H:%M"
    assert list(df.index) == [ts("2022-03-05"), ts("2022-03-06")]


def test_month_first_dates_without_unix(tmp_path):
    path = write(
        tmp_path, "m.csv", "Date,Close\n12/30/2019 23:00,1\n12/31/2019 0:00,2\n"
    )
    df = load_prices(path)
    assert list(df.index) == [ts("2019-12-30 23:00"), ts("2019-12-31 00:00")]


def test_unsorted_rows_are_sorted_with_warning(tmp_path):
    path = write(
        tmp_path,
        "u.csv",
        "date,close\n2020-01-02,2\n2020-01-01,1\n2020-01-03,3\n",
    )
    with pytest.warns(DataQualityWarning, match="not in time order"):
        df = load_prices(path)
    assert df["close"].tolist() == [1.0, 2.0, 3.0]
    assert df.attrs["order"] == "unsorted"


def test_empty_fields_are_nan_and_reported(tmp_path):
    path = write(
        tmp_path,
        "e.csv",
        "date,open,high,low,close,volume\n"
        "2020-01-01,1,2,0.5,1.5,\n"
        "2020-01-02,1.5,2,1,NaN,7\n",
    )
    with pytest.warns(DataQualityWarning, match=r"empty or NaN fields read as NaN"):
        df = load_prices(path)
    assert df.attrs["missing_values"] == {"close": 1, "volume": 1}
    assert np.isnan(df["close"].iloc[1]) and np.isnan(df["volume"].iloc[0])


# ------------------------------------------------------- duplicates and gaps


def test_identical_duplicates_collapse_with_report(tmp_path):
    path = write(
        tmp_path,
        "d.csv",
        "date,close\n"
        "2020-01-01 00:00,1\n"
        "2020-01-01 01:00,2\n"
        "2020-01-01 01:00,2\n"
        "2020-01-01 02:00,3\n",
    )
    with pytest.warns(DataQualityWarning) as record:
        df = load_prices(path)
    assert len(record) == 1
    assert (
        "1 duplicated row(s) with identical values collapsed (1 timestamp(s)), "
        "first 2020-01-01 01:00:00+00:00 on lines 3, 4"
    ) in str(record[0].message)
    assert df["close"].tolist() == [1.0, 2.0, 3.0]
    assert df.attrs["duplicates"] == [ts("2020-01-01 01:00")]
    assert df.attrs["rows_read"] == 4
    assert df.index.freq == "h"


def test_conflicting_duplicates_raise_naming_timestamps(tmp_path):
    path = write(
        tmp_path,
        "c.csv",
        "date,close\n"
        "2020-01-01 00:00,1\n"
        "2020-01-01 01:00,2\n"
        "2020-01-01 01:00,2.5\n"
        "2020-01-01 02:00,3\n",
    )
    with pytest.raises(ValueError) as info:
        load_prices(path)
    assert str(info.value) == (
        f"{path}: 1 timestamp(s) appear more than once with different values: "
        "2020-01-01 01:00:00+00:00 (lines 3, 4); remove or fix the conflicting rows"
    )


def test_gaps_are_listed_and_never_filled(tmp_path):
    rows = ["date,close"] + [
        f"2020-01-01 {h:02d}:00,{h + 1}" for h in (0, 1, 2, 5, 6, 8, 9, 10)
    ]
    path = write(tmp_path, "g.csv", "\n".join(rows) + "\n")
    with pytest.warns(DataQualityWarning) as record:
        df = load_prices(path)
    assert df.attrs["gaps"] == [
        Gap(ts("2020-01-01 03:00"), ts("2020-01-01 04:00"), 2),
        Gap(ts("2020-01-01 07:00"), ts("2020-01-01 07:00"), 1),
    ]
    assert len(df) == 8
    assert df["close"].notna().all()
    assert df.index.freq is None
    assert "2 gap(s) with 3 missing timestamp(s) at frequency 'h'" in str(
        record[0].message
    )


def test_regular_file_has_no_warning(tmp_path):
    path = write(tmp_path, "r.csv", "date,close\n2020-01-01,1\n2020-01-02,2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = load_prices(path)
    assert df.attrs["gaps"] == [] and df.attrs["duplicates"] == []


# ----------------------------------------------------------- malformed input


BANNER_FILE = (
    "Timestamps are UTC timezone,https://www.CryptoDataDownload.com\n"
    "Unix Timestamp,Date,Symbol,Open,High,Low,Close,Volume BTC,Volume USD\n"
    "1603522800.0,2020-10-24 07-AM,BTCUSD,1,2,0.5,1.5,1,2\n"
    "\n"
    "1603519200.0,2020-10-24 06-AM,BTCUSD,1,2,0.5,1.5,1,2\n"
    "{bad}\n"
)


@pytest.mark.parametrize(
    "bad, reason",
    [
        (
            "1603515600.0,2020-10-24 05-AM,BTCUSD,1,2,0.5,1.5,1",
            "expected 9 comma-separated fields as in the header, got 8",
        ),
        (
            "1603515600.0,2020-10-24 05-AM,BTCUSD,1,2,0.5,1.5,1,2,3",
            "expected 9 comma-separated fields as in the header, got 10",
        ),
        (
            "1603515600.0,2020-10-24 05-AM,BTCUSD,1,2,0.5,abc,1,2",
            "column 'Close' holds 'abc', which is not a number",
        ),
        (
            "1603515600.0,2020-10-24 05-AM,BTCUSD,1,inf,0.5,1.5,1,2",
            "column 'High' holds inf, which is not finite",
        ),
        (
            "1603515600.0,2020-10-24 13-PM,BTCUSD,1,2,0.5,1.5,1,2",
            "column 'Date' holds '2020-10-24 13-PM', which is not a date",
        ),
        (
            "16035xx,2020-10-24 05-AM,BTCUSD,1,2,0.5,1.5,1,2",
            "column 'Unix Timestamp' holds '16035xx', which is not a unix time",
        ),
    ],
)
def test_malformed_row_names_file_and_line(tmp_path, bad, reason):
    path = write(tmp_path, "bad.csv", BANNER_FILE.format(bad=bad))
    # Line 6 as an editor counts it: banner, header, row, blank, row, bad row.
    with pytest.raises(ValueError, match=r"^" + re.escape(f"{path}, line 6: {reason}")):
        load_prices(path)


def test_malformed_row_message_in_full(tmp_path):
    path = write(
        tmp_path, "x.csv", "date,close\n2020-01-01,1\n2020-01-02,1,5\n2020-01-03,2\n"
    )
    with pytest.raises(ValueError) as info:
        load_prices(path)
    assert str(info.value) == (
        f"{path}, line 3: expected 2 comma-separated fields as in the header, "
        "got 3: '2020-01-02,1,5'"
    )


def test_extra_and_missing_fields_do_not_cancel_out(tmp_path):
    path = write(
        tmp_path,
        "x.csv",
        "date,close\n2020-01-01,1\n2020-01-02\n2020-01-03,2,9\n2020-01-04,2\n",
    )
    with pytest.raises(ValueError, match=r"x\.csv, line 3: expected 2 .* got 1"):
        load_prices(path)


def test_compact_dates_are_not_mistaken_for_unix_times(tmp_path):
    path = write(tmp_path, "c.csv", "Date,Close\n20170101,1\n20170102,2\n")
    df = load_prices(path)
    assert list(df.index) == [ts("2017-01-01"), ts("2017-01-02")]


def test_numeric_timestamp_column_is_unix_time(tmp_path):
    path = write(
        tmp_path,
        "bitstamp.csv",
        "Timestamp,Open,High,Low,Close,Volume_(BTC),Volume_(Currency)\n"
        "1325317920,4.39,4.39,4.39,4.39,0.45558087,2.0000000193\n"
        "1325317980,4.39,4.40,4.39,4.40,1.5,6.6\n",
    )
    df = load_prices(path)
    assert df.attrs["date_format"] == "unix"
    assert df.attrs["volume_column"] == "Volume_(BTC)"
    assert list(df.index) == [ts("2011-12-31 07:52"), ts("2011-12-31 07:53")]
    assert df.attrs["freq"] == "min"


def test_bad_date_in_iso_file(tmp_path):
    path = write(
        tmp_path,
        "d.csv",
        "date,close\n2020-01-01 00:00,1\n2020-01-01 01:00,1\n2020-02-30 02:00,1\n",
    )
    with pytest.raises(ValueError, match=r", line 4: column 'date' holds '2020-02-30"):
        load_prices(path)


def test_damaged_unix_without_date_column(tmp_path):
    path = write(
        tmp_path,
        "s.csv",
        "unix,close\n1536170400,1\n1.53618E+12,2\n",
    )
    with pytest.raises(ValueError, match=r"s\.csv, line 3: the row has no usable date"):
        load_prices(path)


def test_not_a_price_file(tmp_path):
    path = write(tmp_path, "n.csv", "name,age\nada,36\n")
    with pytest.raises(ValueError, match="no header with a date"):
        load_prices(path)


def test_empty_and_header_only_files(tmp_path):
    with pytest.raises(ValueError, match="the file is empty"):
        load_prices(write(tmp_path, "empty.csv", "\n\n"))
    with pytest.raises(ValueError, match="no data rows after the header on line 1"):
        load_prices(write(tmp_path, "head.csv", "date,close\n"))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_prices(tmp_path / "nope.csv")


def test_several_symbols_are_refused(tmp_path):
    path = write(
        tmp_path,
        "s.csv",
        f"{KAGGLE_HEADER}\n"
        "1500004800,2017-07-14 04:00:00,BTC/USD,1,1,1,1,1,1\n"
        "1500004800,2017-07-14 04:00:00,ETH/USD,1,1,1,1,1,1\n",
    )
    with pytest.raises(ValueError, match=r"2 symbols \(BTC/USD, ETH/USD\)"):
        load_prices(path)


# ----------------------------------------------------------- infer_frequency


def test_infer_frequency():
    hourly = pd.date_range("2020-01-01", periods=48, freq="h", tz=UTC)
    assert infer_frequency(hourly.delete([3, 4, 20])) == "h"
    assert infer_frequency(pd.Series(0.0, index=hourly[::-1])) == "h"
    assert infer_frequency(pd.date_range("2020-01-01", periods=9, freq="15min")) == (
        "15min"
    )
    business = pd.bdate_range("2024-01-01", periods=30).delete(10)
    assert infer_frequency(business) == "B"
    assert infer_frequency(pd.date_range("2020-01-01", periods=12, freq="MS")) == "MS"
    assert infer_frequency(pd.date_range("2020-01-01", periods=30, freq="D")) == "D"
    assert infer_frequency(hourly[:1]) is None
    with pytest.raises(TypeError, match="DatetimeIndex"):
        infer_frequency(pd.RangeIndex(3))


# ------------------------------------------------ files that are not price CSVs


def test_fifo_is_refused_before_it_is_opened(tmp_path):
    fifo = tmp_path / "prices.fifo"
    os.mkfifo(fifo)

    def feed():  # a reader that opened the pipe would get a valid file
        with open(fifo, "w") as f:
            f.write("date,close\n2020-01-01,1\n2020-01-02,2\n")

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        with pytest.raises(ValueError, match=r"is a named pipe \(FIFO\), not a reg"):
            load_prices(fifo)
    finally:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # lets the writer finish
        writer.join(5)
        os.close(fd)


def test_device_is_refused_before_it_is_read():
    with pytest.raises(ValueError, match=r"/dev/zero: is a character device"):
        load_prices("/dev/zero")


@pytest.mark.parametrize(
    "encoding, what",
    [
        ("utf-16", r"UTF-16 text \(byte-order mark\)"),
        ("utf-16-le", r"looks like UTF-16 text"),
        ("utf-32", r"UTF-32 text"),
    ],
)
def test_utf16_and_utf32_files_name_the_supported_encoding(tmp_path, encoding, what):
    path = tmp_path / "u.csv"
    path.write_bytes("date,close\n2020-01-01,1\n2020-01-02,2\n".encode(encoding))
    with pytest.raises(
        ValueError,
        match=what + r".*reads comma-separated fields "
        r"in UTF-8 or ASCII text",
    ):
        load_prices(path)


def test_latin1_file_names_the_supported_encoding(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes("date,close,note\n2020-01-01,1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"not UTF-8 text .* UTF-8 or ASCII"):
        load_prices(path)


@pytest.mark.parametrize("sep, name", [(";", "semicolons"), ("\t", "tabs")])
def test_other_separators_are_refused_with_the_supported_one(tmp_path, sep, name):
    path = write(
        tmp_path, "s.csv", f"date{sep}close\n2020-01-01{sep}1,5\n2020-01-02{sep}2\n"
    )
    with pytest.raises(ValueError) as info:
        load_prices(path)
    message = str(info.value)
    assert f"the fields are separated by {name} ({sep!r})" in message
    assert "reads comma-separated fields in UTF-8 or ASCII text" in message
    assert f"pandas.read_csv(path, sep={sep!r})" in message


def test_blank_lines_and_trailing_blank_line_keep_line_numbers(tmp_path):
    path = write(
        tmp_path,
        "b.csv",
        "date,close\n2020-01-01,1\n\n2020-01-02,2\n2020-01-03,x\n\n",
    )
    with pytest.raises(ValueError, match=r"b\.csv, line 5: column 'close' holds 'x'"):
        load_prices(path)
    path = write(tmp_path, "c.csv", "date,close\n2020-01-01,1\n\n2020-01-02,2\n\n")
    assert load_prices(path)["close"].tolist() == [1.0, 2.0]


# ------------------------------------------------------ ambiguous day and month


US_MONTHLY = "date,close\n" + "".join(
    f"{m:02d}/01/2020,{m * m}\n" for m in range(1, 13)
)


def test_ambiguous_day_month_order_is_refused_with_the_option(tmp_path):
    # 01/01/2020 .. 12/01/2020: twelve months or twelve days, both regular.
    path = write(tmp_path, "us.csv", US_MONTHLY)
    with pytest.raises(ValueError) as info:
        load_prices(path)
    message = str(info.value)
    assert "the day/month order of column 'date' is ambiguous: no day is above 12" in (
        message
    )
    assert "'%m/%d/%Y' reads 2020-01-01 .. 2020-12-01, every 'MS'" in message
    assert "'%d/%m/%Y' reads 2020-01-01 .. 2020-01-12, every 'D'" in message
    assert "date_format='%m/%d/%Y'" in message and "--date-format" in message
    monthly = load_prices(path, date_format="%m/%d/%Y")
    assert list(monthly.index) == list(
        pd.date_range("2020-01-01", periods=12, freq="MS", tz=UTC)
    )
    assert monthly.attrs["freq"] == "MS"
    daily = load_prices(path, date_format="%d/%m/%Y")
    assert daily.index[-1] == ts("2020-01-12")


def test_spacing_that_only_one_order_makes_regular_decides(tmp_path):
    def dates_file(name, dates):
        rows = "".join(f"{d},{i}\n" for i, d in enumerate(dates, 1))
        return write(tmp_path, name, "date,close\n" + rows)

    # Day-first: 1..4 February, daily. Month-first: the 2nd of each month,
    # which no calendar frequency describes.
    feb = dates_file("feb.csv", [f"0{d}/02/2020" for d in range(1, 5)])
    df = load_prices(feb)
    assert df.attrs["date_format"] == "%d/%m/%Y"
    assert df.index[-1] == ts("2020-02-04")
    # Month-first: November 2019 .. February 2020, monthly. Day-first: 11 and
    # 12 January 2019, then 1 and 2 January 2020.
    winter = dates_file(
        "w.csv", ["11/01/2019", "12/01/2019", "01/01/2020", "02/01/2020"]
    )
    df = load_prices(winter)
    assert df.attrs["date_format"] == "%m/%d/%Y"
    assert df.index[-1] == ts("2020-02-01")
    # Neither order gives a regular series: refused.
    odd = dates_file(
        "odd.csv", ["01/05/2020", "01/12/2020", "02/02/2020", "02/09/2020"]
    )
    with pytest.raises(ValueError, match="ambiguous.*neither is regular"):
        load_prices(odd)


def test_day_first_kaggle_daily_still_loads(shared_frames):
    daily = shared_frames["BTC-Daily.csv"]
    assert daily.attrs["date_format"] == "%d/%m/%Y %H:%M"
    assert daily.index.freq == "D"


# ------------------------------------------------------------- unix times


def test_unix_time_beyond_int64_names_file_and_line(tmp_path):
    for bad in ("99999999999999999999", "9300000000000000000"):
        path = write(
            tmp_path,
            "o.csv",
            f"unix,close\n1600000000,1\n1600003600,2\n{bad},3\n",
        )
        with pytest.raises(ValueError) as info:
            load_prices(path)
        assert str(info.value).startswith(f"{path}, line 4: column 'unix' holds")
        assert "beyond the last representable timestamp" in str(info.value)


def test_nanosecond_unix_times_are_exact(tmp_path):
    ns = [1600000000123456789, 1600000001123456789]
    path = write(tmp_path, "n.csv", f"unix,close\n{ns[0]},1\n{ns[1]},2\n")
    assert load_prices(path).index.asi8.tolist() == ns


def test_plain_years_are_years_not_unix_seconds(tmp_path):
    path = write(tmp_path, "y.csv", "date,close\n2001,1\n2002,2\n2003,4\n")
    df = load_prices(path)
    assert list(df.index) == [ts("2001-01-01"), ts("2002-01-01"), ts("2003-01-01")]
    assert df.attrs["date_format"] == "%Y"


def test_small_numbers_in_a_date_column_are_refused(tmp_path):
    path = write(tmp_path, "s.csv", "time,close\n0,1\n1,2\n2,4\n")
    with pytest.raises(ValueError) as info:
        load_prices(path)
    assert str(info.value).startswith(
        f"{path}, line 2: column 'time' holds '0', which as a unix time would be "
        "1970-01-01 00:00:00+00:00"
    )


# ------------------------------------------------ gaps: the part used, filling


def gappy_frame(tmp_path):
    hours = [0, 1, 2, 5, 6, 7, 8, 9]  # 03:00 and 04:00 missing
    rows = "".join(f"2020-01-01 {h:02d}:00,{h + 1},{10 * h}\n" for h in hours)
    path = write(tmp_path, "g.csv", "date,close,volume\n" + rows)
    return load_quietly(path)


@pytest.mark.parametrize(
    "method, expected", [("ffill", [3.0, 3.0]), ("interpolate", [4.0, 5.0])]
)
def test_fill_gaps_fills_and_records(tmp_path, method, expected):
    from tsmirrors.data import fill_gaps

    frame = gappy_frame(tmp_path)
    filled = fill_gaps(frame, method)
    assert filled.index.freq == "h" and len(filled) == 10
    assert filled["close"].iloc[3:5].tolist() == expected
    assert filled["volume"].iloc[3:5].tolist() == [0.0, 0.0]
    assert filled["filled"].tolist() == [False] * 3 + [True] * 2 + [False] * 5
    assert filled.attrs["filled"] == [ts("2020-01-01 03:00"), ts("2020-01-01 04:00")]
    assert filled.attrs["fill_method"] == method
    assert filled.attrs["layout"] == "ohlcv" or filled.attrs["layout"]
    assert len(frame) == 8  # the input is left alone
    series = fill_gaps(frame["close"], method, freq="h")
    assert series.iloc[3:5].tolist() == expected
    with pytest.raises(ValueError, match=r"method must be one of \('ffill', 'inter"):
        fill_gaps(frame, "zero")


def test_select_close_checks_only_the_rows_used(tmp_path):
    from tsmirrors.data.gaps import select_close

    frame = gappy_frame(tmp_path)
    tail = select_close(frame, "g.csv", last=5)  # 05:00 .. 09:00, no gap
    assert tail.index.freq == "h" and tail.tolist() == [6.0, 7.0, 8.0, 9.0, 10.0]
    with pytest.raises(ValueError) as info:
        select_close(frame, "g.csv", last=6)
    assert str(info.value) == (
        "g.csv: the 6 rows used (2020-01-01 02:00:00+00:00 .. 2020-01-01 "
        "09:00:00+00:00) are not evenly spaced at 'h': 1 gap(s) with 2 missing "
        "timestamp(s): 2020-01-01 03:00:00+00:00 .. 2020-01-01 04:00:00+00:00 "
        "(2 missing); pass --fill ffill or --fill interpolate, or start after the "
        "last gap (e.g. --start 2020-01-02)"
    )
    part = select_close(
        frame, "g.csv", start="2020-01-01 05:00", end="2020-01-01 07:00"
    )
    assert part.tolist() == [6.0, 7.0, 8.0]
    whole_day = select_close(frame, "g.csv", start="2020-01-01 05:00", end="2020-01-01")
    assert whole_day.index[-1] == ts("2020-01-01 09:00")
    with pytest.warns(DataQualityWarning, match="filled 2 timestamp"):
        filled = select_close(frame, "g.csv", fill="interpolate")
    assert filled.attrs["filled"] == [ts("2020-01-01 03:00"), ts("2020-01-01 04:00")]
    with pytest.raises(ValueError, match="no rows from --start 2021-01-01 on;"):
        select_close(frame, "g.csv", start="2021-01-01")
    with pytest.raises(ValueError, match="--end must be a date such as 2020-01-31"):
        select_close(frame, "g.csv", end="soon")
    assert select_close(frame, "g.csv", end="2020-01", last=3).tolist() == [8, 9, 10]
    offset = select_close(frame, "g.csv", start="2020-01-01T07:00+02:00", last=None)
    assert offset.index[0] == ts("2020-01-01 05:00")


def test_cli_backtest_of_the_coinbase_file_from_2020(tmp_path, capsys):
    from tsmirrors import cli

    args = ["backtest", "--csv", str(BTC_DIR / "Coinbase_BTCUSD_1h.csv")]
    small = ["--window", "60", "--test-size", "6", "--refit", "6", "--no-progress"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        assert (
            cli.main(
                [
                    *args,
                    "--start",
                    "2020-01-01",
                    "--end",
                    "2020-01-04",
                    *small,
                    "--out",
                    str(tmp_path / "a"),
                ]
            )
            == 0
        )
        preds = pd.read_csv(tmp_path / "a" / "predictions.csv")
        # --end is honoured and keeps its whole day.
        assert preds["timestamp"].max() == "2020-01-04 23:00:00+00:00"
        # A window over the 2017 gaps says where they are.
        code = cli.main(
            [
                *args,
                "--end",
                "2017-09-23",
                *small,
                "--out",
                str(tmp_path / "b"),
            ]
        )
        assert code == 1
        assert "2017-09-22 20:00:00+00:00 .. 2017-09-22 23:00:00+00:00" in (
            capsys.readouterr().err
        )
        assert (
            cli.main(
                [
                    *args,
                    "--end",
                    "2017-09-23",
                    *small,
                    "--fill",
                    "ffill",
                    "--out",
                    str(tmp_path / "c"),
                ]
            )
            == 0
        )


# ------------------------------------------------------ zero and negative prices


def test_zero_and_negative_prices_are_treated_alike(tmp_path):
    path = write(
        tmp_path,
        "z.csv",
        "date,open,close\n2020-01-01,1,0\n2020-01-02,-2,-3\n2020-01-03,1,2\n",
    )
    with pytest.warns(DataQualityWarning) as record:
        df = load_prices(path)
    message = str(record[0].message)
    assert "1 price(s) equal to 0 read as missing (NaN), first close at 2020-01-01" in (
        message
    )
    assert "2 price(s) below 0 read as missing (NaN), first open and close at " in (
        message
    )
    assert df.attrs["zero_prices"] == [(ts("2020-01-01"), "close")]
    assert df.attrs["negative_prices"] == [
        (ts("2020-01-02"), "open"),
        (ts("2020-01-02"), "close"),
    ]
    assert df["close"].isna().tolist() == [True, True, False]
    assert np.isnan(df.loc[ts("2020-01-02"), "open"])


# ------------------------------------------------------- long offending fields


@pytest.mark.parametrize(
    "row",
    [
        "2020-01-03,{long}",  # not a number
        "{long},3",  # not a date
        "2020-01-03,3,{long}",  # a wrong number of fields
    ],
)
def test_error_messages_quote_at_most_200_characters_of_a_field(tmp_path, row):
    long = "9" * 50 + "x" * 100_000
    path = write(
        tmp_path,
        "long.csv",
        "date,close\n2020-01-01,1\n2020-01-02,2\n" + row.format(long=long) + "\n",
    )
    with pytest.raises(ValueError) as info:
        load_prices(path)
    message = str(info.value)
    assert message.startswith(f"{path}, line 4: ")
    assert len(message) < len(str(path)) + 400
    assert "characters)" in message


def test_long_symbol_names_are_cut_in_messages(tmp_path):
    long = "S" * 10_000
    path = write(
        tmp_path,
        "s.csv",
        f"{KAGGLE_HEADER}\n"
        "1500004800,2017-07-14 04:00:00,BTC/USD,1,1,1,1,1,1\n"
        f"1500004800,2017-07-14 04:00:00,{long},1,1,1,1,1,1\n",
    )
    with pytest.raises(ValueError, match="2 symbols") as info:
        load_prices(path)
    assert len(str(info.value)) < len(str(path)) + 400


# ------------------------------------------- the same result without pyarrow


@pytest.mark.parametrize("name", ["BTC-Daily.csv", "gemini_BTCUSD_1hr.csv"])
def test_c_engine_reader_gives_the_same_frame(monkeypatch, shared_frames, name):
    from tsmirrors.data import _reading

    monkeypatch.setattr(_reading, "_has_pyarrow", lambda: False)
    df = load_quietly(BTC_DIR / name)
    pd.testing.assert_frame_equal(df, shared_frames[name])
    assert df.attrs == shared_frames[name].attrs


def test_c_engine_reader_names_short_rows_and_blank_lines(monkeypatch, tmp_path):
    from tsmirrors.data import _reading

    monkeypatch.setattr(_reading, "_has_pyarrow", lambda: False)
    path = write(tmp_path, "s.csv", "date,close\n2020-01-01,1\n\n2020-01-02\n")
    with pytest.raises(ValueError, match=r"s\.csv, line 4: expected 2 comma-sep"):
        load_prices(path)
    path = write(tmp_path, "b.csv", "date,close\n2020-01-01,1\n\n2020-01-02,x\n")
    with pytest.raises(ValueError, match=r"b\.csv, line 4: column 'close' holds 'x'"):
        load_prices(path)


def test_cli_date_format_settles_the_order(tmp_path, capsys):
    from tsmirrors import cli

    path = write(tmp_path, "us.csv", US_MONTHLY)
    out = str(tmp_path / "out")
    run = ["path", "--csv", str(path), "--window", "11", "--n-betas", "3"]
    assert cli.main([*run, "--out", out]) == 1
    assert "--date-format" in capsys.readouterr().err
    assert cli.main([*run, "--out", out, "--date-format", "%m/%d/%Y"]) == 0


def test_ambiguous_dates_beside_intact_unix_times_do_not_stop_the_file(tmp_path):
    # The dates (local time, all days <= 12) agree with neither order; the
    # unix times date every row, so the file loads and the mismatch is told.
    stamps = [ts("2020-03-02 05:00") + pd.Timedelta(days=d) for d in range(3)]
    rows = "".join(
        f"{int(t.timestamp())},0{d + 1}/0{d + 2}/2020 0:00,BTC/USD,1,1,1,{d + 1},1,1\n"
        for d, t in enumerate(stamps)
    )
    path = write(tmp_path, "k.csv", f"{KAGGLE_HEADER}\n{rows}")
    with pytest.warns(DataQualityWarning, match="disagrees with the unix time"):
        df = load_prices(path)
    assert list(df.index) == stamps


def test_select_close_names_missing_closes_and_what_can_fill_them(tmp_path):
    from tsmirrors.data.gaps import select_close

    rows = "date,close\n2020-01-01,0\n2020-01-02,2\n2020-01-03,-1\n2020-01-04,4\n"
    frame = load_quietly(write(tmp_path, "m.csv", rows))
    with pytest.raises(ValueError, match=r"2 missing close price\(s\) .* pass --fill"):
        select_close(frame, "m.csv")
    with pytest.warns(DataQualityWarning, match="filled 1 timestamp"):
        with pytest.raises(ValueError, match="before the first valid price"):
            select_close(frame, "m.csv", fill="ffill")
    with pytest.warns(DataQualityWarning, match="filled 1 timestamp"):
        close = select_close(frame, "m.csv", fill="interpolate", last=3)
    assert close.tolist() == [2.0, 3.0, 4.0]
