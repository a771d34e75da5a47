"""The tsmirrors command line, end to end, as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

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
        for name in ("ConvexAR", "ConvexQuantileAR", "AR(1)+bias", "naive"):
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
    assert set(rows) == {"ConvexAR", "ConvexQuantileAR", "AR(1)+bias", "naive"}
    mse = {k: float(v[0]) for k, v in rows.items()}
    assert all(0 < v < 1e6 for v in mse.values())
    coverage = float(rows["ConvexQuantileAR"][4])
    assert 0.5 < coverage <= 1.0
    preds = pd.read_csv(out / "predictions.csv")
    assert len(preds) == 4 * 150
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
        (("library", "--n-points", "1"), "at least 2 distinct points"),
        (
            ("forecast", "--csv", str(GEMINI_2017), "--steps", "0"),
            "--steps must be >= 1",
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
