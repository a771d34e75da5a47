"""Every option of every subcommand changes the output or is refused.

Runs the CLI in-process on a short CSV with small windows, so each case
takes well under a second; the baseline output of each subcommand is
computed once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tsmirrors import cli

BTC = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "btc"
GEMINI_2017 = BTC / "BTCUSD_gemini_1h_2017.csv"

SMALL = ("--window", "60", "--test-size", "6", "--refit", "3", "--no-progress")
# beta 0.01: networks with neurons, so that the network options matter
BASE = {
    "backtest": ("backtest", "--csv", "{csv}", "--beta", "0.01", *SMALL),
    "demo": ("demo", "--length", "200", *SMALL),
    "forecast": (
        "forecast", "--csv", "{csv}", "--beta", "0.01", "--window", "80", "--steps", "2"
    ),
    "path": ("path", "--csv", "{csv}", "--window", "60", "--n-betas", "5"),
    "library": ("library", "--n-points", "4"),
}
WRITES_DIR = {"backtest", "demo", "path"}  # subcommands with an --out folder

MODEL_CHANGES = [
    ("--window", "50"),
    ("--lags", "2"),
    ("--beta", "0.1"),
    ("--activation", "relu"),
    ("--depth", "3"),
    ("--n-features", "20"),
    ("--coverage", "0.8"),
    ("--quantiles", "0.1,0.5,0.9"),
    ("--no-conformal",),
    ("--architecture", "symmetrized", "--depth", "3", "--activation", "relu"),
]
BACKTEST_CHANGES = [
    ("--steps", "2"),
    ("--window-type", "expanding"),
    ("--test-size", "4"),
    ("--refit", "2"),
]
CHANGES = {
    "backtest": [
        *MODEL_CHANGES,
        *BACKTEST_CHANGES,
        ("--target", "level"),
        ("--lags", "1,3"),
        ("--beta", "auto"),
        ("--target", "difference"),  # ConvexAR: fixed instead of chosen
        ("--lags", "auto"),  # the quantile model's lags chosen too
        ("--beta", "auto", "--cv-rule", "min"),
        ("--no-garch",),
        # --calendar: test_cli.py::test_calendar_inputs_change_the_forecasts
        # --sgd: test_cli.py::test_backtest_sgd_end_to_end (an extra row)
    ],
    "demo": [
        *MODEL_CHANGES,
        *BACKTEST_CHANGES,
        ("--target", "difference"),
        ("--length", "250"),
        ("--neurons", "3"),
        ("--sigma2", "0.5"),
        ("--seed", "1"),
        ("--recover-beta", "0.01"),
    ],
    "forecast": [
        *MODEL_CHANGES,
        ("--target", "level"),
        ("--steps", "3"),
        ("--lags", "1,3"),
        ("--beta", "auto"),
    ],
    "path": [
        ("--window", "50"),
        ("--lags", "2"),
        ("--lags", "1,3"),
        ("--target", "level"),
        ("--activation", "relu"),
        ("--n-betas", "4"),
    ],
    "library": [("--n-points", "5"), ("--memory-budget", "1000")],
}
# same results by design: parallel runs reproduce the serial ones exactly
SAME = {
    "backtest": [
        ("--n-jobs", "2", "--backend", "threading"),
        ("--backend", "sequential"),
    ],
    "demo": [("--n-jobs", "2", "--backend", "threading")],
}
BAD_MODEL = [
    ("--window", "-5"),
    ("--window", "0"),
    ("--lags", "0"),
    ("--lags", "1,1"),
    ("--lags", "one"),
    ("--beta", "automatic"),
    ("--cv-rule", "2se"),
    # nothing is chosen by cross-validation
    ("--lags", "1", "--target", "level", "--cv-rule", "1se"),
    ("--beta", "-1"),
    ("--beta", "nan"),
    ("--target", "price"),
    ("--activation", "tanh"),
    ("--activation", "bogus"),
    ("--depth", "1"),
    ("--architecture", "wide"),
    ("--architecture", "symmetrized"),  # depth 2
    ("--n-features", "0"),
    ("--n-features", "many"),
    ("--coverage", "1.5"),
    ("--coverage", "0"),
    ("--quantiles", "0.5,0.1"),
    ("--quantiles", "0.1,0.5"),  # no interval to show
    ("--quantiles", "0.1,0.5,0.9", "--coverage", "0.9"),  # not a pair of these
]
BAD_BACKTEST = [
    ("--test-size", "-3"),
    ("--refit", "0"),
    ("--steps", "0"),
    ("--window-type", "sliding"),
    ("--n-jobs", "0"),
    ("--backend", "spark"),
]
BAD_SOURCE = [("--interval", "7h"), ("--interval", "1d"), ("--cache-dir", "x")]
REFUSED = {
    "backtest": [*BAD_MODEL, *BAD_BACKTEST, *BAD_SOURCE],
    "demo": [*BAD_MODEL, *BAD_BACKTEST, ("--length", "5"), ("--neurons", "0")],
    "forecast": [
        *BAD_MODEL,
        *BAD_SOURCE,
        ("--steps", "0"),
        ("--steps", "-1"),
        ("--plot", "noext"),
        ("--out", "no/such/folder/f.csv"),
    ],
    "path": [
        ("--window", "-5"),
        ("--n-betas", "0"),
        ("--n-betas", "1"),
        ("--activation", "bogus"),
        ("--target", "price"),
        ("--beta", "0.1"),  # a path covers every beta
        ("--lags", "auto"),  # a path is drawn for given lags
        ("--coverage", "0.8"),  # no intervals on a path
        *BAD_SOURCE,
    ],
    "library": [("--n-points", "1"), ("--memory-budget", "0"), ("--seed", "1")],
}


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "btc.csv"
    with open(GEMINI_2017) as handle:
        path.write_text("".join(handle.readlines()[:301]))
    return path


def _run(capsys, tmp_path, command, extra=()):
    out = tmp_path / "out"
    args = [a.format(csv=small_csv_path[0]) for a in BASE[command]]
    if command in WRITES_DIR:
        args += ["--out", str(out)]
    code = cli.main([*args, *extra])
    captured = capsys.readouterr()
    lines = [
        line
        for line in captured.out.splitlines()
        if "done in" not in line and not line.startswith("wrote")
    ]
    files = {}
    if out.is_dir():
        files = {p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))}
    return code, "\n".join(lines), files, captured.err


small_csv_path: list = []
_baselines: dict = {}


def _baseline(capsys, tmp_path_factory, command):
    if command not in _baselines:
        folder = tmp_path_factory.mktemp(f"base-{command}")
        code, out, files, err = _run(capsys, folder, command)
        assert code == 0, err
        _baselines[command] = (out, files)
    return _baselines[command]


def _cases(table):
    return [
        pytest.param(command, extra, id=f"{command} {' '.join(extra)}")
        for command, options in table.items()
        for extra in options
    ]


@pytest.fixture(autouse=True)
def _csv(small_csv):
    small_csv_path[:] = [str(small_csv)]


@pytest.mark.parametrize(("command", "extra"), _cases(CHANGES))
def test_each_option_changes_the_output(
    command, extra, capsys, tmp_path, tmp_path_factory
):
    base = _baseline(capsys, tmp_path_factory, command)
    code, out, files, err = _run(capsys, tmp_path, command, extra)
    assert code == 0, err
    assert (out, files) != base, f"{' '.join(extra)} did not change the output"


@pytest.mark.parametrize(("command", "extra"), _cases(SAME))
def test_parallel_options_give_the_serial_output(
    command, extra, capsys, tmp_path, tmp_path_factory
):
    base = _baseline(capsys, tmp_path_factory, command)
    code, out, files, err = _run(capsys, tmp_path, command, extra)
    assert code == 0, err
    assert (out, files) == base


@pytest.mark.parametrize(("command", "extra"), _cases(REFUSED))
def test_each_bad_value_is_refused_up_front(command, extra, capsys, tmp_path):
    code, out, files, err = _run(capsys, tmp_path, command, extra)
    assert code in (1, 2)
    assert "error:" in err
    assert "Traceback" not in err
    assert not files  # refused before anything was written
