"""Shared test helpers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sklearn.utils.estimator_checks import estimator_checks_generator

#: the shared BTC data (never copied into the repository)
BTC = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "btc"


def sklearn_checks(*estimators):
    """scikit-learn's estimator checks, without the array API one (unsupported)."""
    return [
        (est, check)
        for estimator in estimators
        for est, check in estimator_checks_generator(estimator, mark="xfail")
        if getattr(check, "func", check).__name__ != "check_array_api_input"
    ]


def check_id(value):
    """Readable test ids: the check's name, or the estimator's repr."""
    if callable(value):
        return getattr(value, "func", value).__name__
    return type(value).__name__


#: quantile levels of the value-at-risk tests
VAR_TAUS = (0.01, 0.05, 0.1, 0.5, 0.9, 0.95, 0.99)


def garch_like(n=400, seed=0):
    """A random walk whose step size switches between calm and volatile."""
    import numpy as np

    rng = np.random.default_rng(seed)
    sd = np.where((np.arange(n) // 100) % 2 == 0, 1.0, 4.0)
    return 1000 + np.cumsum(sd * rng.standard_normal(n))


def run_main(capsys, *args):
    """Run the CLI in-process: its exit code, stdout and stderr."""
    from tsmirrors import cli

    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def short_csv(tmp_path_factory):
    """The first 300 hours of the 2017 Gemini BTC file, as a CSV path."""
    path = tmp_path_factory.mktemp("data") / "btc.csv"
    with open(BTC / "BTCUSD_gemini_1h_2017.csv") as handle:
        path.write_text("".join(handle.readlines()[:301]))
    return str(path)


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures a test opened (pyplot keeps them, and warns past 20)."""
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")
