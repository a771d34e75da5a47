"""The tsmirrors command line, run in a subprocess as a user would."""

from __future__ import annotations

import subprocess
import sys


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tsmirrors.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_library_table():
    out = run_cli("library", "--n-points", "6")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    row = next(
        line for line in lines if line.split()[:3] == ["deep_narrow", "3", "relu"]
    )
    # deep narrow relu: 2^(L-1) N^(L-1) candidates, N (N - 1) distinct columns
    assert row.split()[3:] == ["144", "30"]


def test_bad_arguments_exit_nonzero_without_traceback():
    out = run_cli("library", "--n-points", "1")
    assert out.returncode == 1
    assert out.stderr.startswith("tsmirrors: error:")
    assert "Traceback" not in out.stderr
    assert "at least 2 distinct points" in out.stderr
