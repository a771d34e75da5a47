"""The tsmirrors command line, end to end, as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_main

from tsmirrors import cli

BTC = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "btc"
GEMINI_2017 = BTC / "BTCUSD_gemini_1h_2017.csv"


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tsmirrors.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )


def _table_rows(stdout: str) -> dict:
    rows = {}
    for line in stdout.splitlines():
        parts = line.split()
        for name in ("ConvexAR", "ConvexQuantileAR", "AR(1)+bias", "naive",
                     "ScaledQuantileAR", "GARCH(1,1)-t"):
            if parts and parts[0] == name and len(parts) == 7:
                rows[name] = parts[1:]
    return rows


def test_backtest_on_a_shared_csv(tmp_path):
    out = tmp_path / "out"
    res = run_cli(
        "backtest",
        "--csv",
        str(GEMINI_2017),
        "--window",
        "400",
        "--test-size",
        "150",
        "--refit",
        "50",
        "--out",
        str(out),
        "--no-progress",
    )
    assert res.returncode == 0, res.stderr
    rows = _table_rows(res.stdout)
    assert set(rows) == {
        "ConvexAR", "ConvexQuantileAR", "AR(1)+bias", "naive", "ScaledQuantileAR",
        "GARCH(1,1)-t",
    }
    mse = {k: float(v[0]) for k, v in rows.items()}
    assert all(0 < v < 1e6 for v in mse.values())
    coverage = float(rows["ConvexQuantileAR"][4])
    assert 0.5 < coverage <= 1.0
    preds = pd.read_csv(out / "predictions.csv")
    assert len(preds) == 6 * 150
    assert {"timestamp", "y_true", "y_pred", "model"} <= set(preds.columns)
    # truth is the real price at each timestamp
    prices = pd.read_csv(GEMINI_2017)
    last = preds[preds["model"] == "naive"].iloc[-1]
    assert last["y_true"] == pytest.approx(prices["close"].iloc[-1])
    assert (out / "backtest.png").stat().st_size > 10_000
    assert (out / "scores.csv").exists()


def test_demo_runs_offline_and_recovers_the_planted_neurons(tmp_path):
    res = run_cli(
        "demo",
        "--length",
        "900",
        "--window",
        "400",
        "--test-size",
        "200",
        "--refit",
        "50",
        "--out",
        str(tmp_path),
        "--no-progress",
    )
    assert res.returncode == 0, res.stderr
    assert set(_table_rows(res.stdout)) == {
        "ConvexAR",
        "ConvexQuantileAR",
        "AR(1)+bias",
        "naive",
    }
    assert "Planted neurons and the convex fit" in res.stdout
    found = re.search(
        r"data: ([0-9.]+) \(std of the planted f there: ([0-9.]+)\)", res.stdout
    )
    rms, spread = float(found.group(1)), float(found.group(2))
    assert rms < spread  # the fitted f explains most of the planted f
    assert (tmp_path / "predictions.csv").exists()
    assert (tmp_path / "backtest.png").exists()


def test_forecast_and_path(tmp_path):
    png = tmp_path / "f.png"
    res = run_cli(
        "forecast",
        "--csv",
        str(GEMINI_2017),
        "--steps",
        "3",
        "--window",
        "500",
        "--plot",
        str(png),
    )
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("2018-01-01")]
    assert len(lines) == 3  # the next three hours after the last 2017 close
    lower, upper = float(lines[0].split()[-2]), float(lines[0].split()[-1])
    assert lower < upper
    assert png.stat().st_size > 5_000
    res = run_cli(
        "path", "--csv", str(GEMINI_2017), "--window", "300", "--out", str(tmp_path)
    )
    assert res.returncode == 0, res.stderr
    path = pd.read_csv(tmp_path / "path.csv")
    assert path["n_neurons"].iloc[-1] == 0  # beta_max: no neuron
    assert (
        path["mse"].is_monotonic_increasing
        or path["mse"].iloc[0] <= path["mse"].iloc[-1]
    )
    assert (tmp_path / "path.png").exists()


def test_library_table():
    out = run_cli("library", "--n-points", "6")
    assert out.returncode == 0, out.stderr
    row = next(
        line
        for line in out.stdout.splitlines()
        if line.split()[:3] == ["deep_narrow", "3", "relu"]
    )
    # deep narrow relu: 2^(L-1) N^(L-1) candidates, N (N - 1) distinct columns
    assert row.split()[3:] == ["144", "30"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("backtest", "--csv", "no/such/file.csv"), "not found"),
        (
            ("forecast", "--csv", str(GEMINI_2017), "--window", "9000"),
            "--window 9000 is longer than the 8760 observations",
        ),
        (
            ("backtest", "--csv", str(GEMINI_2017), "--window", "9000"),
            "not enough for --window 9000",
        ),
    ],
)
def test_bad_input_gives_one_line_and_no_traceback(args, message):
    res = run_cli(*args)
    assert res.returncode == 1
    assert res.stderr.startswith("tsmirrors: error:")
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_malformed_csv_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,close\n2020-01-01 00:00,1.0\n2020-01-01 01:00,abc\n")
    res = run_cli("backtest", "--csv", str(bad))
    assert res.returncode == 1
    assert "bad.csv" in res.stderr and "line 3" in res.stderr


def test_backtest_without_network_points_to_csv_and_demo(monkeypatch, tmp_path, capsys):
    import yfinance

    def offline(*args, **kwargs):
        raise ConnectionError("Failed to resolve 'query1.finance.yahoo.com'")

    monkeypatch.setattr(yfinance, "download", offline)
    code = cli.main(["backtest", "--cache-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "--csv" in err and "tsmirrors demo" in err and str(tmp_path) in err
    assert "Traceback" not in err
    code = cli.main(["--debug", "backtest", "--cache-dir", str(tmp_path)])
    assert "Traceback" in capsys.readouterr().err


def test_every_subcommand_has_help_with_examples():
    for command in ("demo", "backtest", "forecast", "path", "library"):
        res = run_cli(command, "--help")
        assert res.returncode == 0
        assert "example" in res.stdout


# ------------------------------------------------------ options, as run
# (run_main and the short_csv fixture come from conftest)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("forecast", "--window", "-5"), "argument --window: must be an integer >= 1"),
        (
            ("backtest", "--test-size", "-3"),
            "argument --test-size: must be an integer >= 0, got -3",
        ),
        (("path", "--n-betas", "0"), "argument --n-betas: must be an integer >= 2"),
        (("forecast", "--activation", "bogus"), "argument --activation: invalid"),
        (("backtest", "--backend", "spark"), "argument --backend: invalid choice"),
    ],
)
def test_bad_values_are_refused_by_the_parser(capsys, short_csv, args, message):
    code, out, err = run_main(capsys, *args, "--csv", short_csv)
    assert code == 2
    assert message in err
    assert out == ""


def test_plot_without_extension_is_refused_before_fitting(capsys, short_csv, tmp_path):
    target = tmp_path / "noext"
    code, out, err = run_main(
        capsys, "forecast", "--csv", short_csv, "--plot", str(target)
    )
    assert code == 1
    assert f"--plot {target}: the file name must end in one of .png" in err
    assert out == ""  # nothing was fit
    assert not list(tmp_path.iterdir())


def test_debug_is_accepted_after_the_subcommand(capsys, tmp_path):
    code, out, err = run_main(
        capsys, "backtest", "--csv", str(tmp_path / "none.csv"), "--debug"
    )
    assert code == 1
    assert "Traceback" in err and "price file not found" in err


def test_version():
    from tsmirrors import __version__

    res = run_cli("--version")
    assert res.returncode == 0
    assert res.stdout.strip() == f"tsmirrors {__version__}"


def test_a_closed_pipe_ends_quietly():
    import os

    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line, as with `| head`
    try:
        res = subprocess.run(
            [sys.executable, "-m", "tsmirrors.cli", "library", "--n-points", "4"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=600,
        )
    finally:
        os.close(write)
    assert res.returncode == 141  # as a Unix tool ended by SIGPIPE
    assert res.stderr == ""


def test_warnings_print_one_line(capsys, tmp_path):
    lines = GEMINI_2017.read_text().splitlines()[:201]
    dup = tmp_path / "dup.csv"
    dup.write_text("\n".join([*lines[:100], lines[99], *lines[100:]]) + "\n")
    code, out, err = run_main(
        capsys, "forecast", "--csv", str(dup), "--window", "150", "--steps", "1"
    )
    assert code == 0, err
    warning = [line for line in err.splitlines() if line.strip()]
    assert len(warning) == 1
    assert warning[0].startswith("tsmirrors: warning: ")
    assert "duplicated" in warning[0]


def test_forecast_honours_activation_and_writes_csv(capsys, short_csv, tmp_path):
    tables = {}
    for activation in ("abs", "relu"):
        path = tmp_path / f"{activation}.csv"
        code, out, err = run_main(
            capsys,
            "forecast",
            "--csv",
            short_csv,
            "--window",
            "120",
            "--steps",
            "3",
            "--beta",
            "0.01",  # small enough to keep neurons, where the activation shows
            "--activation",
            activation,
            "--out",
            str(path),
        )
        assert code == 0, err
        tables[activation] = pd.read_csv(path, index_col="timestamp")
    assert list(tables["abs"].columns) == ["forecast", "median", "lower", "upper"]
    assert len(tables["abs"]) == 3
    assert not tables["abs"].equals(tables["relu"])
    assert [p.name for p in tmp_path.iterdir()] != []  # no temporary files left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["abs.csv", "relu.csv"]


def test_forecast_refuses_too_few_calibration_rows(capsys, short_csv):
    code, out, err = run_main(
        capsys,
        "forecast",
        "--csv",
        short_csv,
        "--window",
        "100",
        "--coverage",
        "0.99",
    )
    assert code == 1
    assert "needs 395 rows (99 for calibration)" in err
    assert "raise --window to at least 408 or pass --no-conformal" in err
    assert "inf" not in out


def test_backtest_steps_fits_one_quantile_model_per_step(capsys, short_csv, tmp_path):
    code, out, err = run_main(
        capsys,
        "backtest",
        "--csv",
        short_csv,
        "--window",
        "60",
        "--test-size",
        "12",
        "--refit",
        "2",
        "--steps",
        "6",
        "--no-progress",
        "--out",
        str(tmp_path),
    )
    assert code == 0, err
    assert "one-step" not in out
    assert "12 forecasts, 1 to 6 steps ahead" in out
    preds = pd.read_csv(tmp_path / "predictions.csv")
    quantile = preds[preds["model"] == "ConvexQuantileAR"]
    assert sorted(quantile["step"].unique()) == [1, 2, 3, 4, 5, 6]
    assert quantile["fold"].nunique() == 2  # two origins
    assert quantile["refit"].nunique() == 1  # one fit (refit every 2 origins)


def test_backtest_sgd_end_to_end(capsys, short_csv, tmp_path):
    code, out, err = run_main(
        capsys,
        "backtest",
        "--csv",
        short_csv,
        "--window",
        "60",
        "--test-size",
        "6",
        "--refit",
        "3",
        "--sgd",
        "--no-progress",
        "--out",
        str(tmp_path),
    )
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("SGD net"))
    mse_sgd = float(row.split()[2])
    row = next(line for line in out.splitlines() if line.startswith("naive"))
    mse_naive = float(row.split()[1])
    # a stable fit is in the range of the naive forecast (it diverged to 1e32)
    assert mse_sgd < 10 * mse_naive


def test_demo_help_shows_the_defaults_demo_uses():
    res = run_cli("demo", "--help")
    text = " ".join(res.stdout.split())
    assert "exact path; default 0.01)" in text  # --beta
    assert "chosen by the same folds; default level)" in text  # --target
    assert "MASE mean of |y - yhat| / s" in text  # the metrics are in --help


def test_dask_backend_starts_one_cluster_per_run(monkeypatch, capsys, tmp_path):
    import distributed

    from tsmirrors import backtesting

    started, clients_seen = [], []

    class FakeCluster:
        def __init__(self, **kwargs):
            started.append(kwargs)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    class FakeClient(FakeCluster):
        def __init__(self, cluster):
            pass

    real_backtest = backtesting.backtest

    def backtest(*args, client=None, backend="loky", **kwargs):
        clients_seen.append(client)
        return real_backtest(*args, backend="sequential", **kwargs)

    monkeypatch.setattr(distributed, "LocalCluster", FakeCluster)
    monkeypatch.setattr(distributed, "Client", FakeClient)
    monkeypatch.setattr(backtesting, "backtest", backtest)
    code, out, err = run_main(
        capsys,
        "demo",
        "--length",
        "200",
        "--window",
        "60",
        "--test-size",
        "4",
        "--refit",
        "2",
        "--no-progress",
        "--backend",
        "dask",
        "--n-jobs",
        "2",
        "--out",
        str(tmp_path),
    )
    assert code == 0, err
    assert len(started) == 1 and started[0]["n_workers"] == 2
    assert len(clients_seen) == 4  # four models, one client
    assert all(isinstance(c, FakeClient) for c in clients_seen)
    assert len({id(c) for c in clients_seen}) == 1


def test_a_missing_file_does_not_import_the_numerical_stack():
    code = (
        "import sys\n"
        "from tsmirrors import cli\n"
        "assert cli.main(['backtest', '--csv', 'no/such.csv']) == 1\n"
        "heavy = [m for m in ('scipy.stats', 'sklearn', 'torch', 'statsmodels',\n"
        "         'matplotlib', 'numba') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_path_marks_points_that_are_not_certified(capsys, tmp_path, monkeypatch):
    import numpy as np

    import tsmirrors.plotting
    from tsmirrors.solvers import LassoPath

    marked = {}
    real_plot = tsmirrors.plotting.plot_regularization_path

    def spy(*args, **kwargs):
        marked["certified"] = np.asarray(kwargs["certified"])
        return real_plot(*args, **kwargs)

    def half_certified(self, betas):  # as if the deepest points failed their KKT
        betas = np.atleast_1d(betas)
        return betas > np.median(betas)

    monkeypatch.setattr(tsmirrors.plotting, "plot_regularization_path", spy)
    monkeypatch.setattr(LassoPath, "certified_at", half_certified)
    args = ["path", "--csv", str(GEMINI_2017), "--window", "200", "--n-betas", "6",
            "--out", str(tmp_path)]
    code, out, err = run_main(capsys, *args)
    assert code == 0, err
    frame = pd.read_csv(tmp_path / "path.csv")
    assert frame["certified"].tolist() == [False] * 3 + [True] * 3
    assert marked["certified"].tolist() == frame["certified"].tolist()
    assert "3 of 6 points are not certified optimal" in out


def test_path_plot_marks_uncertified_points():
    import matplotlib

    matplotlib.use("Agg")
    from tsmirrors.plotting import plot_regularization_path

    ax = plot_regularization_path(
        [0.1, 1.0, 10.0], [1.0, 2.0, 3.0], certified=[False, True, True]
    )
    crosses = [ln for ln in ax.get_lines() if ln.get_label() == "not certified"]
    assert len(crosses) == 1
    assert list(crosses[0].get_xdata()) == [0.1]


@pytest.mark.parametrize("command", ["backtest", "forecast"])
def test_calendar_inputs_change_the_forecasts(command, capsys, tmp_path):
    import numpy as np

    # a price with a strong hour-of-day pattern in its changes
    stamps = pd.date_range("2024-01-01", periods=400, freq="h")
    rng = np.random.default_rng(0)
    hourly = np.where(stamps.hour < 12, 1.0, -1.0)
    close = 1000 + np.cumsum(hourly + 0.1 * rng.normal(size=400))
    csv = tmp_path / "prices.csv"
    pd.DataFrame({"date": stamps.strftime("%Y-%m-%d %H:%M:%S"), "close": close}).to_csv(
        csv, index=False
    )
    args = [command, "--csv", str(csv), "--window", "300", "--beta", "0.001"]
    if command == "backtest":
        args += ["--test-size", "24", "--refit", "24", "--no-progress"]
    else:
        args += ["--steps", "4"]

    def forecasts(*extra):
        out = tmp_path / ("out" + "-".join(extra))
        code, printed, err = run_main(capsys, *args, "--out", str(out), *extra)
        assert code == 0, err
        if command == "forecast":
            return pd.read_csv(out)["forecast"].to_numpy()
        preds = pd.read_csv(out / "predictions.csv")
        return preds.loc[preds["model"] == "ConvexAR", "y_pred"].to_numpy()

    plain, calendar = forecasts(), forecasts("--calendar")
    truth = close[-24:] if command == "backtest" else None
    assert not np.allclose(plain, calendar)
    if truth is not None:  # the hour of day is what drives this series
        assert np.mean((calendar - truth) ** 2) < np.mean((plain - truth) ** 2)


def test_automatic_settings_are_reported(capsys, tmp_path):
    code, out, err = run_main(
        capsys, "forecast", "--csv", str(GEMINI_2017), "--window", "200",
        "--steps", "2", "--beta", "auto", "--lags", "1,2", "--target", "auto",
    )
    assert code == 0, err
    pattern = r"ConvexAR settings: beta [0-9.e+-]+, target \w+, lags in use"
    assert re.search(pattern, out)


def test_backtest_adds_garch_and_value_at_risk_backtests(capsys, tmp_path):
    args = ["backtest", "--csv", str(GEMINI_2017), "--window", "300",
            "--test-size", "60", "--refit", "30", "--no-progress"]
    code, out, err = run_main(capsys, *args, "--out", str(tmp_path / "a"))
    assert code == 0, err
    assert "GARCH(1,1)-t" in out  # arch is installed in the test environment
    risk = out.split("value at risk", 1)[1]
    for name in ("ConvexQuantileAR", "AR(1)+bias", "naive", "ScaledQuantileAR",
                 "GARCH(1,1)-t"):
        assert name in risk
    preds = pd.read_csv(tmp_path / "a" / "predictions.csv")
    assert "GARCH(1,1)-t" in set(preds["model"])
    code, out, err = run_main(capsys, *args, "--no-garch", "--out", str(tmp_path / "b"))
    assert code == 0, err
    assert "GARCH" not in out


def test_backtest_leaves_out_a_garch_baseline_that_refuses_the_prices(
    capsys, tmp_path
):
    # prices on a coarse tick: most returns are exactly zero, which GARCH-t
    # refuses; the other models' table is still made, and says why
    rng = np.random.default_rng(0)
    prices = np.round((20 + np.cumsum(rng.normal(0, 0.05, 400))) / 0.25) * 0.25
    index = pd.date_range("2021-01-01", periods=prices.size, freq="h")
    path = tmp_path / "tick.csv"
    pd.DataFrame({"date": index.strftime("%Y-%m-%d %H:%M:%S"),
                  "close": prices}).to_csv(path, index=False)
    code, out, err = run_main(
        capsys, "backtest", "--csv", str(path), "--window", "300",
        "--test-size", "24", "--no-progress", "--beta", "1", "--lags", "1",
        "--target", "difference", "--out", str(tmp_path / "out"),
    )
    assert code == 0, err
    assert re.search(r"GARCH\(1,1\)-t\s+left out: \d+% of the returns are exactly "
                     "zero", out)
    preds = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert "GARCH(1,1)-t" not in set(preds["model"])
    assert {"ConvexAR", "ScaledQuantileAR", "naive"} <= set(preds["model"])


def test_multi_step_backtest_leaves_out_the_one_step_volatility_model(capsys, tmp_path):
    code, out, err = run_main(
        capsys, "backtest", "--csv", str(GEMINI_2017), "--window", "300",
        "--test-size", "20", "--refit", "20", "--steps", "2", "--no-progress",
        "--out", str(tmp_path),
    )
    assert code == 0, err
    assert "ScaledQuantileAR" not in out and "GARCH(1,1)-t" in out


def test_forecast_strategy_average_is_the_mean_of_recursive_and_direct(
        capsys, short_csv, tmp_path):
    tables = {}
    for strategy in ("recursive", "direct", "average"):
        path = tmp_path / f"{strategy}.csv"
        code, out, err = run_main(
            capsys, "forecast", "--csv", short_csv, "--window", "150",
            "--steps", "4", "--beta", "0.01", "--lags", "2", "--target", "level",
            "--strategy", strategy, "--out", str(path),
        )
        assert code == 0, err
        tables[strategy] = pd.read_csv(path, index_col="timestamp")["forecast"]
    rec, direct, avg = (
        tables[k].to_numpy() for k in ("recursive", "direct", "average")
    )
    assert not np.allclose(rec[1:], direct[1:])  # the strategies differ
    # the same networks evaluated in three runs
    np.testing.assert_allclose(avg, 0.5 * (rec + direct), rtol=1e-12)
    assert avg[0] == pytest.approx(rec[0], rel=1e-12)


def test_backtest_takes_the_strategy_and_refuses_it_with_calendar(capsys, short_csv,
                                                                   tmp_path):
    code, out, err = run_main(
        capsys, "backtest", "--csv", short_csv, "--window", "150", "--test-size",
        "12", "--steps", "3", "--refit", "6", "--beta", "0.01", "--lags", "2",
        "--target", "level", "--strategy", "average", "--no-progress",
        "--out", str(tmp_path / "bt"), "--no-garch",
    )
    assert code == 0, err
    assert "ConvexAR" in out
    code, out, err = run_main(
        capsys, "forecast", "--csv", short_csv, "--window", "150", "--steps", "3",
        "--strategy", "direct", "--calendar",
    )
    assert code != 0
    assert "strategy='direct' does not take exog" in err
