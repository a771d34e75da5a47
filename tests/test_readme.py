"""The README's commands, run as a user runs them from the repository root.

Every fenced block of README.md is checked: Python blocks run (on the real
BTC file, cut to its last hours so that the test stays small), the cheap
shell commands run through the CLI (with small sizes added), and the
install lines are checked against ``.ci/run`` and ``pyproject.toml``.
"""

from __future__ import annotations

import ast
import contextlib
import io
import logging
import re
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tsmirrors
import tsmirrors.data
from tsmirrors import cli

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
CI_RUN = (REPO / ".ci" / "run").read_text(encoding="utf-8")
PYPROJECT = (REPO / "pyproject.toml").read_text(encoding="utf-8")


def _extras() -> dict[str, str]:
    """pyproject's optional dependencies: extra name -> its list, as text."""
    section = PYPROJECT.split("[project.optional-dependencies]")[1].split("\n[")[0]
    parts = re.split(r"^(\w+) = ", section, flags=re.MULTILINE)[1:]
    return dict(zip(parts[::2], parts[1::2]))


#: hours of the BTC file the Python blocks see: a 2000-hour window and 300 more
KEEP_HOURS = 2300


def _blocks(lang: str) -> list[str]:
    """Fenced code blocks of README.md in ``lang``."""
    pattern = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
    return [body for tag, body in pattern.findall(README) if tag == lang]


def _commands() -> list[list[str]]:
    """Every ``&&``-separated command of every bash block, split into words."""
    out = []
    for block in _blocks("bash"):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            for part in filter(None, (p.strip() for p in line.split("&&"))):
                out.append(shlex.split(part))
    return out


def _pip_installs(words_list) -> list[list[str]]:
    """The arguments of each ``pip install`` (quotes removed)."""
    installs = []
    for words in words_list:
        if "pip" in Path(words[0]).name or words[:3] == ["python", "-m", "pip"]:
            k = words.index("install")
            installs.append(words[k + 1 :])
    return installs


def _small_load_prices(calls):
    """``load_prices`` on the real file, keeping its last ``KEEP_HOURS`` rows."""
    real = tsmirrors.data.load_prices

    def load(path, *args, **kwargs):
        assert Path(path).is_file(), f"the README reads {path}, which is missing"
        calls.append(str(path))
        return real(path, *args, **kwargs).iloc[-KEEP_HOURS:]

    return load


# ------------------------------------------------------------- Python blocks
def test_readme_python_quickstart_runs(monkeypatch):
    block = next(b for b in _blocks("python") if "ConvexQuantileAR" in b)
    calls, runs = [], []
    real_backtest = tsmirrors.backtest

    def serial_backtest(*args, **kwargs):
        kwargs["n_jobs"] = 1  # the same results; no worker start-up in a test
        kwargs.setdefault("progress", False)
        runs.append(kwargs)
        return real_backtest(*args, **kwargs)

    monkeypatch.chdir(REPO)  # relative paths resolve as for a user
    monkeypatch.setattr(tsmirrors.data, "load_prices", _small_load_prices(calls))
    monkeypatch.setattr(tsmirrors, "backtest", serial_backtest)
    namespace = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(block, "README.md", "exec"), namespace)
    assert calls == ["../shared/data/btc/BTCUSD_gemini_1h_2017.csv"]
    assert len(runs) == 1
    scores, preds = namespace["scores"], namespace["preds"]
    assert "overall" in scores.index
    assert len(preds) == KEEP_HOURS - 2000
    assert hasattr(namespace["net"], "forward")  # a torch module
    assert "lower" in printed.getvalue()  # the interval was printed


def _guarded(tree: ast.Module) -> ast.If | None:
    for node in tree.body:
        test = getattr(node, "test", None)
        if (
            isinstance(node, ast.If)
            and isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and test.left.id == "__name__"
            and any(getattr(c, "value", None) == "__main__" for c in test.comparators)
        ):
            return node
    return None


def test_readme_dask_snippet_has_a_main_guard_and_runs(monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    block = next(b for b in _blocks("python") if "dask" in b)
    tree = ast.parse(block)
    guard = _guarded(tree)
    assert guard is not None, "the Dask snippet needs if __name__ == '__main__':"
    # nothing but imports runs when a worker process imports the script
    for node in tree.body:
        assert node is guard or isinstance(node, ast.Import | ast.ImportFrom)

    clients = []
    real_client = distributed.Client

    def in_process_client(*args, **kwargs):
        # the snippet's Client() starts worker processes; the test uses threads
        assert not args, "the README's client connects to a LocalCluster"
        client = real_client(
            processes=False,
            n_workers=1,
            threads_per_worker=1,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        clients.append(client)
        return client

    calls = []
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(distributed, "Client", in_process_client)
    monkeypatch.setattr(tsmirrors.data, "load_prices", _small_load_prices(calls))
    namespace = {"__name__": "__main__"}
    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            exec(compile(block, "README.md", "exec"), namespace)
    finally:
        for client in clients:
            client.close()
    assert len(clients) == 1 and clients[0].status == "closed"
    assert calls == ["../shared/data/btc/BTCUSD_gemini_1h_2017.csv"]
    assert "overall" in namespace["scores"].index


def test_readme_save_and_load_block_round_trips_a_model(tmp_path, monkeypatch):
    block = next(b for b in _blocks("python") if "tsmirrors.save(" in b)
    rng = np.random.default_rng(0)
    y = pd.Series(
        100 + rng.normal(size=300).cumsum(),
        index=pd.date_range("2020-01-01", periods=300, freq="h"),
    )
    model = tsmirrors.ConvexAR(beta=0.01).fit(y)
    expected = model.predict(6)
    monkeypatch.chdir(tmp_path)  # the block writes its file where it runs
    namespace = {"__name__": "__main__", "model": model}
    exec(compile(block, "README.md", "exec"), namespace)
    assert (tmp_path / "btc-convex-ar.tsm").is_file()
    assert namespace["model"] is not model
    pd.testing.assert_series_equal(namespace["model"].predict(6), expected)


def test_readme_automatic_settings_block_runs():
    import matplotlib

    matplotlib.use("Agg")
    block = next(b for b in _blocks("python") if 'beta="auto"' in b)
    t = np.arange(300)
    y = pd.Series(
        50 + 40 * np.sin(2 * np.pi * t / 11) + np.random.default_rng(0).normal(size=300)
    )  # a cycle, as sunspots: "auto" must keep neurons
    namespace = {"__name__": "__main__", "y": y}
    exec(compile(block, "README.md", "exec"), namespace)
    model = namespace["model"]
    assert model.beta_ > 0 and model.n_neurons_ > 0
    assert model.target_ in ("level", "difference", "log_return")
    assert set(model.lags_in_use_) <= set(range(1, 11))


def test_readme_python_blocks_are_all_covered():
    blocks = _blocks("python")
    assert len(blocks) == 4, "a new Python block in README.md needs a test here"


# -------------------------------------------------------------- shell blocks
SMALL = {
    "demo": ["--length", "300", "--window", "150", "--test-size", "12"]
    + ["--recover-beta", "0.05"],
    "backtest": ["--window", "300", "--test-size", "24", "--n-jobs", "1"],
}


def _forbid_torch(monkeypatch) -> list[str]:
    """Make every import of torch fail (``import torch`` and import_optional)."""
    import builtins
    import importlib

    tried = []
    real_import, real_import_module = builtins.__import__, importlib.import_module

    def guarded_import(name, *args, **kwargs):
        if name.split(".")[0] == "torch":
            tried.append(name)
            raise ImportError("torch is not installed")
        return real_import(name, *args, **kwargs)

    def guarded_import_module(name, *args, **kwargs):
        if name.split(".")[0] == "torch":
            tried.append(name)
            raise ImportError("torch is not installed")
        return real_import_module(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", guarded_import)
    monkeypatch.setattr(importlib, "import_module", guarded_import_module)
    return tried


def test_readme_main_job_commands_run_without_torch(tmp_path, monkeypatch):
    """``tsmirrors demo`` and the BTC backtest, with every torch import refused."""
    runs = []
    for words in _commands():
        name = Path(words[0]).name
        if name == "tsmirrors" and words[1] in SMALL:
            out = tmp_path / f"out{len(runs)}"
            runs.append(
                words[1:] + SMALL[words[1]] + ["--no-progress", "--out", str(out)]
            )
    assert [r[0] for r in runs] == ["demo", "backtest"]
    monkeypatch.chdir(REPO)
    tried = _forbid_torch(monkeypatch)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        codes = [cli.main(argv) for argv in runs]
    monkeypatch.undo()
    assert codes == [0, 0], printed.getvalue()[-2000:]
    assert tried == []  # the main job never asked for torch
    for k in range(len(runs)):
        for name in ("predictions.csv", "scores.csv", "backtest.png"):
            assert (tmp_path / f"out{k}" / name).is_file()
    scores = pd.read_csv(tmp_path / "out1" / "scores.csv", index_col=0)
    assert {"ConvexAR", "ConvexQuantileAR"} <= set(scores.index)


def test_readme_shell_blocks_are_valid_bash():
    for block in _blocks("bash"):
        done = subprocess.run(
            ["bash", "-n"], input=block, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr


def test_readme_install_lines_agree_with_ci_and_pyproject():
    installs = _pip_installs(_commands())
    extras = set(_extras())
    for args in installs:
        for arg in args:
            match = re.fullmatch(r"\.\[([\w,]+)\]", arg)
            if match:
                assert set(match.group(1).split(",")) <= extras, arg
    # the main job's install has no torch in it
    main_job = next(a for a in installs if any("stats" in x for x in a))
    assert not any(x.startswith("torch") or "all" in x for x in main_job)
    # the test-suite line installs what .ci/run installs, in the same order
    ci = [
        shlex.split(line.strip())
        for line in CI_RUN.splitlines()
        if re.match(r"\s*python -m pip install (?!--upgrade)", line)
    ]
    ci_installs = _pip_installs(ci)
    readme_suite = [a for a in installs if "--index-url" not in a][-2:]
    assert readme_suite == ci_installs
    assert "python -m pytest -q" in CI_RUN and "python -m pytest -q" in README
    # the CPU-wheel line pins the version CI uses, from PyTorch's CPU index
    cpu = next(a for a in installs if "--index-url" in a)
    assert cpu[cpu.index("--index-url") + 1] == "https://download.pytorch.org/whl/cpu"
    assert [x for x in cpu if x.startswith("torch")] == ci_installs[0]
    pin = tuple(int(v) for v in ci_installs[0][0].split("==")[1].split("."))
    low, high = re.findall(r"\d+(?:\.\d+)+", _extras()["torch"])
    assert tuple(map(int, low.split("."))) <= pin < tuple(map(int, high.split(".")))


def test_readme_development_block_names_real_files():
    for words in _commands():
        if words[0] == "bash":
            assert (REPO / words[1]).is_file(), words
        if words[0] == "ruff":
            for folder in words[2:]:
                assert (REPO / folder).is_dir(), folder
        if words[0] == "python" and words[1].endswith(".py"):
            assert (REPO / words[1]).is_file(), words


# ---------------------------------------------------------- the CLI synopsis
def test_readme_cli_synopsis_names_real_subcommands():
    block = next(b for b in _blocks("text") if "tsmirrors demo" in b)
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command" or a.choices)
    for line in block.splitlines():
        words = line.split("#")[0].split()
        if words and words[0] == "tsmirrors":
            assert words[1] in sub.choices, line


def test_readme_inline_commands_parse():
    parser = cli.build_parser()
    inline = re.findall(r"`(tsmirrors [^`]+)`", README)
    assert inline
    for command in inline:
        words = shlex.split(command)[1:]
        args = parser.parse_args(words)  # a bad option exits with code 2
        assert args.func is not None
        if getattr(args, "csv", None) and "/" in args.csv:
            assert (REPO / args.csv).is_file(), command


def test_readme_library_table_is_what_the_cli_prints():
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert cli.main(["library", "--n-points", "10"]) == 0
    rows = {
        tuple(line.split()[:3]): line.split()[3:5]
        for line in printed.getvalue().splitlines()
        if line.startswith(("deep_narrow", "symmetrized"))
    }
    table = [
        [c.strip() for c in line.strip("|").split("|")]
        for line in README.splitlines()
        if re.fullmatch(
            r"\| (deep_narrow|symmetrized) \| \d \| \w+ \| [\d,]+ \| [\d,]+ \|", line
        )
    ]
    assert len(table) == len(rows) == 13
    for arch, depth, act, candidates, distinct in table:
        assert rows[(arch, depth, act)] == [candidates, distinct]
