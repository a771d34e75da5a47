"""lag_embed and validate_series: shapes, values, labels and bad input."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tsmirrors.data import LagEmbedding, lag_embed, validate_series

STR_DTYPE = pd.Series(["a"]).dtype  # "str" in pandas 3, "object" before


def hourly(values, start="2017-01-01", tz="UTC") -> pd.Series:
    index = pd.date_range(start, periods=len(values), freq="h", tz=tz)
    return pd.Series(np.asarray(values, dtype=float), index=index, name="close")


# ------------------------------------------------------------------ lag_embed


def test_lag_one_is_the_paper_autoregression():
    y = np.array([3.0, 1.0, 4.0, 1.0, 5.0])
    X, target, index = lag_embed(y)
    np.testing.assert_array_equal(X, [[3.0], [1.0], [4.0], [1.0]])
    np.testing.assert_array_equal(target, [1.0, 4.0, 1.0, 5.0])
    assert index.equals(pd.RangeIndex(1, 5))


@pytest.mark.parametrize("lags", [1, 2, 3, 5])
@pytest.mark.parametrize("horizon", [1, 2, 4])
def test_rows_match_the_definition(lags, horizon):
    y = np.arange(20.0) ** 2
    emb = lag_embed(y, lags=lags, horizon=horizon)
    n_rows = y.size - lags - horizon + 1
    assert emb.X.shape == (n_rows, lags) and emb.y.shape == (n_rows,)
    for i in range(n_rows):
        t = i + lags
        assert emb.X[i].tolist() == [y[t - k] for k in range(1, lags + 1)]
        assert emb.y[i] == y[t + horizon - 1]
        assert emb.index[i] == t + horizon - 1


def test_named_tuple_and_copies():
    y = np.arange(6.0)
    emb = lag_embed(y, lags=2)
    assert isinstance(emb, LagEmbedding)
    assert emb._fields == ("X", "y", "index")
    assert emb.X.flags.c_contiguous and emb.X.dtype == np.float64
    emb.X[0, 0] = -1.0
    emb.y[0] = -1.0
    np.testing.assert_array_equal(y, np.arange(6.0))


def test_series_keeps_the_target_timestamps():
    y = hourly(np.arange(10.0))
    X, target, index = lag_embed(y, lags=3, horizon=2)
    assert index.equals(y.index[4:])
    assert index.freq == "h" and str(index.tz) == "UTC"
    np.testing.assert_array_equal(target, y.to_numpy()[4:])
    np.testing.assert_array_equal(X[0], [2.0, 1.0, 0.0])  # lag 1 first


def test_shortest_series_gives_two_rows():
    X, target, _ = lag_embed([1.0, 2.0, 3.0, 4.0], lags=2, horizon=1)
    assert X.shape == (2, 2)
    X, target, _ = lag_embed([1.0, 2.0, 3.0], lags=1, horizon=1)
    assert X.shape == (2, 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(y=np.arange(4.0), lags=2, horizon=2),
            (
                "y is too short for lags=2 and horizon=2: 4 value(s), at least "
                "lags + horizon + 1 = 5 needed"
            ),
        ),
        (dict(y=np.arange(9.0), lags=0), "lags must be an integer >= 1, got 0"),
        (dict(y=np.arange(9.0), lags=1.5), "lags must be an integer >= 1, got 1.5"),
        (dict(y=np.arange(9.0), lags=True), "lags must be an integer >= 1, got True"),
        (dict(y=np.arange(9.0), horizon=0), "horizon must be an integer >= 1, got 0"),
        (dict(y=np.ones((5, 2))), "y must be 1-D, got shape (5, 2)"),
        (dict(y=np.ones((5, 1))), "y must be 1-D, got shape (5, 1)"),
        (dict(y=["a", "b", "c"]), "y must be a 1-D array of numbers, got list"),
        (
            dict(y=pd.DataFrame({"close": [1.0, 2, 3]})),
            (
                "y must be a 1-D series, got a DataFrame with columns ['close']; "
                "select one, e.g. prices['close']"
            ),
        ),
    ],
)
def test_lag_embed_bad_input(kwargs, message):
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        lag_embed(**kwargs)


def test_nan_in_series_names_the_timestamps():
    y = hourly(np.arange(8.0))
    y.iloc[[2, 5]] = np.nan
    with pytest.raises(ValueError) as info:
        lag_embed(y, lags=2)
    assert str(info.value) == (
        "y has 2 NaN value(s) at timestamps 2017-01-01 02:00:00+00:00, "
        "2017-01-01 05:00:00+00:00; fill or drop them explicitly first (e.g. "
        "y.ffill(), y.interpolate() or y.dropna())"
    )


def test_inf_in_array_names_the_positions():
    with pytest.raises(ValueError, match=r"non-finite \(NaN or inf\) value\(s\) at "):
        lag_embed([1.0, np.inf, 3.0, 4.0])
    with pytest.raises(ValueError, match="at positions 1;"):
        lag_embed([1.0, np.inf, 3.0, 4.0])


# ------------------------------------------------------------ validate_series


def test_clean_series_comes_back_with_its_freq():
    index = pd.DatetimeIndex(
        ["2017-01-01 00:00", "2017-01-01 01:00", "2017-01-01 02:00"], tz="UTC"
    )
    y = pd.Series([1, 2, 4], index=index, name="close")
    assert y.index.freq is None
    out = validate_series(y)
    assert out.index.freq == "h" and out.dtype == np.float64
    assert out.name == "close" and str(out.index.tz) == "UTC"
    assert out.tolist() == [1.0, 2.0, 4.0]
    assert validate_series(y, freq="h").index.freqstr == "h"


def test_arrays_and_integer_indexes_get_positions():
    out = validate_series(np.array([1.0, 3.0, 2.0]))
    assert out.index.equals(pd.RangeIndex(3))
    out = validate_series(pd.Series([1.0, 3.0, 2.0], index=[10, 12, 14]))
    assert out.index.equals(pd.RangeIndex(10, 16, 2))


def test_nullable_floats_with_na_name_the_timestamp():
    y = hourly([1.0, 2.0, 3.0]).astype("Float64")
    y.iloc[1] = pd.NA
    with pytest.raises(ValueError, match=r"at timestamps 2017-01-01 01:00:00\+00:00;"):
        validate_series(y)


def test_business_day_and_monthly_frequencies():
    days = pd.bdate_range("2024-01-01", periods=10)
    assert validate_series(pd.Series(np.arange(10.0), index=days)).index.freq == "B"
    months = pd.date_range("2024-01-01", periods=6, freq="MS")
    out = validate_series(pd.Series(np.arange(6.0), index=months))
    assert out.index.freqstr == "MS"


@pytest.mark.parametrize(
    "y, kwargs, message",
    [
        (
            hourly([1.0, np.nan, 3.0]),
            {},
            (
                "y has 1 NaN value(s) at timestamps 2017-01-01 01:00:00+00:00; fill or "
                "drop them explicitly first (e.g. y.ffill(), y.interpolate() or "
                "y.dropna())"
            ),
        ),
        (
            pd.Series(
                [1.0, 2.0, 3.0],
                index=pd.to_datetime(["2017-01-01", "2017-01-01", "2017-01-02"]),
            ),
            {},
            (
                "y has 1 duplicated timestamp(s): 2017-01-01 00:00:00; aggregate or "
                "drop the duplicates explicitly"
            ),
        ),
        (
            pd.Series(
                [1.0, 2.0, 3.0],
                index=pd.to_datetime(["2017-01-02", "2017-01-01", "2017-01-03"]),
            ),
            {},
            (
                "y timestamps are not sorted ascending: 2017-01-01 00:00:00 "
                "(position 1) comes after 2017-01-02 00:00:00; sort with "
                "y.sort_index()"
            ),
        ),
        (
            hourly([1.0, 2.0, 3.0, 4.0, 5.0]).drop(
                pd.Timestamp("2017-01-01 02:00", tz="UTC")
            ),
            {},
            (
                "y is irregularly spaced and no freq was given: most steps are 'h' "
                "but 1 differ, first 2017-01-01 01:00:00+00:00 -> 2017-01-01 "
                "03:00:00+00:00; pass freq, or resample explicitly (e.g. "
                "y.resample('h').last()) and decide how to fill the gaps"
            ),
        ),
        (
            hourly([1.0, 2.0, 3.0]),
            {"freq": "30min"},
            (
                "y does not follow freq '30min': position 1 is 2017-01-01 "
                "01:00:00+00:00 but 2017-01-01 00:30:00+00:00 was expected (a gap "
                "or an off-grid timestamp); resample or reindex explicitly and "
                "decide how to fill"
            ),
        ),
        (
            hourly([1.0, 2.0]),
            {"freq": "fortnightly"},
            (
                "freq must be a pandas frequency such as 'h', 'D' or '15min', got "
                "'fortnightly'"
            ),
        ),
        (
            np.array([1.0, 2.0]),
            {"freq": "h"},
            ("freq='h' needs a Series with a DatetimeIndex, got an array"),
        ),
        (
            hourly([2.0, 2.0, 2.0]),
            {},
            ("y is constant (every value is 2.0); there is nothing to forecast"),
        ),
        (
            hourly([1.0, 2.0, 3.0]),
            {"min_length": 5},
            ("y is too short: 3 observation(s), at least 5 needed"),
        ),
        (
            hourly([1.0, 2.0]),
            {"min_length": 0},
            ("min_length must be an integer >= 1, got 0"),
        ),
        (pd.Series(["a", "b"]), {}, f"y must be numeric, got dtype {STR_DTYPE}"),
        (
            pd.Series([1.0, 2.0], index=["a", "b"]),
            {},
            (
                "y must be indexed by a DatetimeIndex or integer positions, got an "
                f"index of dtype {STR_DTYPE}"
            ),
        ),
        (
            pd.Series([1.0, 2.0, 3.0], index=[0, 1, 5]),
            {},
            (
                "y has an integer index that is not evenly increasing (first values "
                "0, 1, 5); reset it with y.reset_index(drop=True) or give timestamps"
            ),
        ),
    ],
)
def test_validate_series_bad_input(y, kwargs, message):
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        validate_series(y, **kwargs)


def test_validate_series_leaves_the_input_alone():
    y = hourly([1.0, 2.0, 3.0])
    out = validate_series(y)
    out.iloc[0] = 100.0
    assert y.iloc[0] == 1.0
