"""Plots a reader can read: date ticks, axis labels, what is shown, legends."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from tsmirrors import cli
from tsmirrors import plotting as plotting_module
from tsmirrors.plotting import (
    plot_backtest,
    plot_forecast,
    plot_regularization_path,
    price_axis_label,
)

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

MODELS = ("ConvexAR", "ConvexQuantileAR", "AR(1)+bias", "naive")


def _series(n=120, freq="h", name="close"):
    index = pd.date_range("2017-12-25", periods=n, freq=freq, tz="UTC")
    rng = np.random.default_rng(0)
    return pd.Series(1000 + np.cumsum(rng.normal(size=n)), index=index, name=name)


def _preds(series, n_test):
    """A backtest's predictions table, shaped as ``backtest`` returns it."""
    rng = np.random.default_rng(1)
    stamps = series.index[-n_test:]
    truth = series.to_numpy()[-n_test:]
    frames = []
    for k, model in enumerate(MODELS):
        pred = truth + rng.normal(scale=1 + k, size=n_test)
        frame = pd.DataFrame(
            {"timestamp": stamps, "step": 1, "y_true": truth, "y_pred": pred}
        )
        frame["model"] = model
        frame["q_0.05"] = pred - 2.0
        frame["q_0.5"] = pred
        frame["q_0.95"] = pred + 2.0
        frame["lower"] = pred - 2.0
        frame["upper"] = pred + 2.0
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("freq", ["h", "D"])
def test_forecast_plot_dates_labels_and_coverage(freq):
    y = _series(freq=freq)
    future = pd.date_range(y.index[-1], periods=7, freq=freq, tz="UTC")[1:]
    fc = pd.Series(np.full(6, y.iloc[-1]), index=future)
    ax = plot_forecast(
        y, fc, fc - 5, fc + 5, coverage=0.9, ylabel=price_axis_label("BTC-USD 1h")
    )
    # concise date ticks: "2017-12-312018-01-01" overlapped with the default
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    assert ax.get_xlabel() == "time (UTC)"
    assert ax.get_ylabel() == "close (USD)"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "90% prediction interval" in labels
    assert ax.figure.get_layout_engine() is not None  # laid out, not clipped
    plt.close(ax.figure)


def test_forecast_plot_refuses_a_bad_coverage():
    y = _series()
    with pytest.raises(ValueError, match="coverage must be in"):
        plot_forecast(y, coverage=90)


def test_price_axis_label_reads_the_quote_currency():
    assert price_axis_label("BTCUSD_gemini_1h_2017.csv") == "close (USD)"
    assert price_axis_label("ETH-EUR 1d") == "close (EUR)"
    assert price_axis_label("prices.csv") == "close (price units)"


def test_backtest_plot_says_what_it_shows_and_separates_models():
    y = _series(n=700)
    preds = _preds(y, 600)
    fig = plot_backtest(preds, y, title="Rolling backtest", ylabel="close (USD)")
    top, zoom, errors = fig.axes[:3]
    assert "last 500 of 600 one-step forecasts" in top.get_title()
    assert "48" in zoom.get_title()
    # the error panel has one line per model
    assert {line.get_label() for line in errors.get_lines()} == set(MODELS)
    for ax in (top, zoom, errors):
        assert ax.get_xlabel() == "time (UTC)"
        assert ax.get_ylabel()
        assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    assert errors.get_ylabel() == "MAE / MAE of naive"
    naive = next(line for line in errors.get_lines() if line.get_label() == "naive")
    ratios = naive.get_ydata()
    assert np.allclose(ratios[np.isfinite(ratios)], 1.0)
    plt.close(fig)
    fig = plot_backtest(preds, y, ylabel="close (USD)", relative_to=None)
    assert fig.axes[2].get_ylabel() == "MAE (USD)"
    labels = " ".join(t.get_text() for t in top.get_legend().get_texts())
    assert "90% interval" in labels and "observed coverage" in labels
    plt.close(fig)


def test_backtest_plot_says_all_when_all_are_shown():
    y = _series(n=200)
    fig = plot_backtest(_preds(y, 100), y)
    assert "all 100 one-step forecasts" in fig.axes[0].get_title()
    plt.close(fig)


def test_backtest_plot_refuses_bad_input():
    y = _series(n=50)
    with pytest.raises(ValueError, match="last must be a positive"):
        plot_backtest(_preds(y, 20), y, last=0)
    with pytest.raises(ValueError, match="lacks the column"):
        plot_backtest(_preds(y, 20).drop(columns="y_true"), y)


@pytest.mark.parametrize(
    ("name", "title", "ylabel"),
    [
        ("close", "Rolling backtest on BTCUSD_gemini_1h_2017.csv", "close (USD)"),
        ("x", "Rolling backtest on a planted series", "value"),
    ],
)
def test_cli_backtest_png_labels_prices_and_planted_values(
    tmp_path, monkeypatch, name, title, ylabel
):
    seen = {}

    def spy(preds, series, **kwargs):
        seen.update(kwargs)
        return plt.figure()

    monkeypatch.setattr(plotting_module, "plot_backtest", spy)
    y = _series(n=80, name=name)
    cli._plot_backtest(tmp_path / "backtest.png", _preds(y, 40), y, title)
    assert seen["ylabel"] == ylabel
    assert seen["title"] == title
    assert (tmp_path / "backtest.png").is_file()


def test_path_plot_legend_names_the_neuron_count():
    betas = np.geomspace(1e-3, 1, 20)
    ax = plot_regularization_path(betas, 1 - 0.5 / (1 + betas), np.arange(20)[::-1])
    legends = [a.get_legend() for a in ax.figure.axes if a.get_legend()]
    texts = {t.get_text() for legend in legends for t in legend.get_texts()}
    assert {"convex (exact path)", "neurons"} <= texts
    plt.close(ax.figure)


def test_cli_forecast_plot_shows_the_coverage_and_the_unit(tmp_path, monkeypatch):
    seen = {}
    real = plotting_module.plot_forecast

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(plotting_module, "plot_forecast", spy)
    y = _series(n=200)
    csv = tmp_path / "BTC-USD.csv"
    pd.DataFrame({"date": y.index.strftime("%Y-%m-%d %H:%M:%S"), "close": y}).to_csv(
        csv, index=False
    )
    png = tmp_path / "f.png"
    argv = ["forecast", "--csv", str(csv), "--steps", "3", "--window", "150"]
    assert cli.main(argv + ["--coverage", "0.8", "--plot", str(png)]) == 0
    assert seen["coverage"] == 0.8
    assert seen["ylabel"] == "close (USD)"
    assert png.is_file()
    plt.close("all")


def test_backtest_plot_of_an_integer_indexed_series():
    """Steps, not dates: no conversion to 1970 timestamps, a "time step" axis."""
    y = _series(n=120).reset_index(drop=True)
    y.index = y.index * 2 + 400  # an integer index with step 2
    preds = _preds(y, 60)
    fig = plot_backtest(preds, y)
    top, _, errors = fig.axes[:3]
    assert top.get_xlabel() == "time step"
    first = top.get_lines()[0].get_xdata()
    assert first[0] == y.index[-60] and first[-1] == y.index[-1]
    assert errors.get_lines()[0].get_xdata()[-1] == y.index[-1]
    plt.close(fig)


def test_backtest_plot_gives_every_model_its_own_color():
    from matplotlib.colors import to_rgba

    y = _series(n=200)
    preds = _preds(y, 100)
    extra = preds[preds["model"] == "naive"].assign(model="GARCH(1,1)-t")
    other = preds[preds["model"] == "naive"].assign(model="my model")
    fig = plot_backtest(pd.concat([preds, extra, other]), y, ylabel="close (USD)")
    errors = fig.axes[2]
    colors = [to_rgba(line.get_color()) for line in errors.get_lines()]
    assert len(colors) == len(MODELS) + 2
    assert len(set(colors)) == len(colors)
    plt.close(fig)
