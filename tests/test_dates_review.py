"""Dates a price file may hold that must never be read in the wrong order.

Day-first and month-first dates in every a/b/y form (two-digit years, AM/PM,
fractions of a second), columns without a date, separate date and time
columns, and what fill_gaps cannot fill.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tsmirrors.data import DataQualityWarning, fill_gaps, load_prices

HOURS = pd.date_range("2022-03-01", "2022-03-03 23:00", freq="h")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def write_dates(tmp_path, stamps, fmt, name="p.csv"):
    rows = "".join(f"{s},{i + 1}\n" for i, s in enumerate(stamps.strftime(fmt)))
    return write(tmp_path, name, "date,close\n" + rows)


@pytest.mark.parametrize(
    "fmt",
    [
        "%d/%m/%y %H:%M",
        "%d/%m/%Y %I:%M %p",
        "%d/%m/%Y %H:%M:%S.000",
        "%d.%m.%y %H:%M:%S",
    ],
)
def test_day_first_hourly_forms_read_by_their_even_spacing(tmp_path, fmt):
    # No day is above 12; only day-first makes these 72 hours evenly spaced.
    df = load_prices(write_dates(tmp_path, HOURS, fmt))
    assert df.index[0] == pd.Timestamp("2022-03-01", tz="UTC")
    assert df.index[-1] == pd.Timestamp("2022-03-03 23:00", tz="UTC")
    assert len(df) == len(HOURS)
    assert df.attrs["gaps"] == []
    assert df.attrs["date_format"].startswith("%d")


def test_two_digit_year_order_decided_by_unix_column(tmp_path):
    # Two rows a day apart: both orders are regular; the unix times decide.
    stamps = pd.to_datetime(["2022-03-06", "2022-03-05"]).tz_localize("UTC")
    rows = "".join(f"{int(t.timestamp())},{t:%d/%m/%y %I:%M %p},1\n" for t in stamps)
    df = load_prices(write(tmp_path, "k.csv", "unix,date,close\n" + rows))
    assert df.attrs["date_format"] == "%d/%m/%y %I:%M %p"
    assert df.attrs["date_unix_mismatch"] == 0


def test_month_first_two_digit_years_stay_month_first(tmp_path):
    stamps = pd.date_range("2022-01-01", "2022-01-03 23:00", freq="h")
    df = load_prices(write_dates(tmp_path, stamps, "%m/%d/%y %H:%M"))
    assert (df.index == stamps.tz_localize("UTC")).all()
    assert df.attrs["date_format"] == "%m/%d/%y %H:%M"


def test_day_first_daily_two_digit_years_are_not_scrambled(tmp_path):
    days = pd.date_range("2022-03-01", "2022-03-19", freq="D")
    df = load_prices(write_dates(tmp_path, days, "%d/%m/%y"))
    assert (df.index == days.tz_localize("UTC")).all()
    assert df["close"].tolist() == list(range(1, 20))


def test_two_digit_years_follow_strptime_century(tmp_path):
    path = write(tmp_path, "c.csv", "date,close\n31/12/68,1\n31/12/69,2\n")
    df = load_prices(path)
    assert list(df.index.year) == [1969, 2068]  # sorted: 69 is 1969, 68 is 2068


def test_ambiguous_pm_times_are_refused_naming_both_readings(tmp_path):
    stamps = pd.date_range("2022-03-01 13:00", periods=3, freq="h")
    path = write_dates(tmp_path, stamps, "%m/%d/%Y %I:%M %p")
    with pytest.raises(ValueError, match="ambiguous") as info:
        load_prices(path)
    assert "'%m/%d/%Y %I:%M %p'" in str(info.value)
    assert "'%d/%m/%Y %I:%M %p'" in str(info.value)
    df = load_prices(path, date_format="%m/%d/%Y %I:%M %p")
    assert (df.index == stamps.tz_localize("UTC")).all()


def test_fractional_seconds_are_kept(tmp_path):
    path = write(
        tmp_path,
        "f.csv",
        "date,close\n13/03/2022 00:00:00.250,1\n13/03/2022 00:00:01.5,2\n",
    )
    df = load_prices(path)
    assert list(df.index) == [
        pd.Timestamp("2022-03-13 00:00:00.250", tz="UTC"),
        pd.Timestamp("2022-03-13 00:00:01.500", tz="UTC"),
    ]
    assert df.attrs["date_format"] == "%d/%m/%Y %H:%M:%S.%f"


def test_mixed_year_lengths_are_refused(tmp_path):
    path = write(tmp_path, "y.csv", "date,close\n13/03/2022,1\n14/03/22,2\n")
    with pytest.raises(ValueError, match=r"line 3: .*'14/03/22'.*year's length"):
        load_prices(path)


def test_unreadable_day_month_form_is_refused_not_guessed(tmp_path):
    # A form not read by the day/month check goes nowhere near pandas' guess.
    path = write(
        tmp_path,
        "t.csv",
        "date,close\n01/03/2022 00:00 +0000,1\n02/03/2022 00:00 +0000,2\n",
    )
    with pytest.raises(ValueError, match=r"line 2: .*date_format"):
        load_prices(path)
    df = load_prices(path, date_format="%d/%m/%Y %H:%M %z")
    assert df.index[-1] == pd.Timestamp("2022-03-02", tz="UTC")


@pytest.mark.parametrize("value", ["10:00", "10:00:00", "9:30 AM"])
def test_times_without_a_date_are_refused(tmp_path, value):
    path = write(tmp_path, "t.csv", f"time,close\n{value},1\n11:00,2\n")
    message = r"line 2: column 'time' holds .*without a date"
    with pytest.raises(ValueError, match=message):
        load_prices(path)


def test_separate_date_and_time_columns_are_combined(tmp_path):
    path = write(
        tmp_path,
        "mt.csv",
        "Date,Time,Open,High,Low,Close,Volume\n"
        "2021.01.01,00:00,1,1,1,1,1\n"
        "2021.01.01,01:00,1,1,1,2,1\n"
        "2021.01.01,02:00,1,1,1,3,1\n",
    )
    df = load_prices(path)
    assert list(df.index) == [
        pd.Timestamp("2021-01-01 00:00", tz="UTC"),
        pd.Timestamp("2021-01-01 01:00", tz="UTC"),
        pd.Timestamp("2021-01-01 02:00", tz="UTC"),
    ]
    assert df["close"].tolist() == [1.0, 2.0, 3.0]


def test_separate_day_first_date_and_time_columns_check_the_order(tmp_path):
    rows = "".join(
        f"{s.replace(' ', ',')},{i + 1}\n"
        for i, s in enumerate(HOURS.strftime("%d/%m/%Y %H:%M"))
    )
    df = load_prices(write(tmp_path, "dt.csv", "date,time,close\n" + rows))
    assert df.index[-1] == pd.Timestamp("2022-03-03 23:00", tz="UTC")
    assert df.attrs["gaps"] == []


@pytest.mark.parametrize(
    "row, message",
    [
        ("2021-01-01,noon,1", r"line 2: column 'time' holds 'noon', which is not a"),
        ("2021-01-01 00:00,00:00,1", r"line 2: column 'date' holds .* already"),
    ],
)
def test_separate_date_and_time_columns_refuse_other_values(tmp_path, row, message):
    path = write(tmp_path, "bad.csv", f"date,time,close\n{row}\n")
    with pytest.raises(ValueError, match=message):
        load_prices(path)


def test_unix_times_in_scientific_notation_without_dates_say_so(tmp_path):
    path = write(tmp_path, "u.csv", "unix,close\n1.6E+12,1\n1.6000036E+12,2\n")
    message = r"line 2: .*column 'unix' holds '1.6E\+12', a unix time in scientific"
    with pytest.raises(ValueError, match=message):
        load_prices(path)


@pytest.mark.parametrize("method", ["ffill", "interpolate"])
def test_fill_gaps_reports_a_leading_missing_close(method):
    index = pd.date_range("2021-01-01", periods=4, freq="D", tz="UTC")
    frame = pd.DataFrame({"close": [float("nan"), 2.0, float("nan"), 4.0]}, index)
    with pytest.warns(DataQualityWarning, match=r"1 row\(s\) still have no price"):
        filled = fill_gaps(frame, method)
    assert filled.attrs["unfilled"] == [index[0]]
    assert filled["close"].isna().tolist() == [True, False, False, False]


def test_fill_gaps_reports_a_trailing_close_interpolation_cannot_fill():
    index = pd.date_range("2021-01-01", periods=3, freq="D", tz="UTC")
    series = pd.Series([1.0, 2.0, float("nan")], index)
    with pytest.warns(DataQualityWarning, match="after the last one"):
        filled = fill_gaps(series, "interpolate")
    assert filled.attrs["unfilled"] == [index[2]]
