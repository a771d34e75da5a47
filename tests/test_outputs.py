"""Outputs are all-or-nothing: atomic files, one set per run, --out checked first."""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from tsmirrors import _atomic, cli

matplotlib.use("Agg")

BTC = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "btc"
GEMINI_2017 = BTC / "BTCUSD_gemini_1h_2017.csv"


def _snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _full_disk(write_some):
    """A writer that writes part of its output, then fails as a full disk does."""

    def writer(self, target, *args, **kwargs):
        if not hasattr(target, "write"):
            Path(target).write_bytes(write_some)
        elif "b" in target.mode:
            target.write(write_some)
        else:
            target.write(write_some.decode())
        raise OSError(errno.ENOSPC, "No space left on device")

    return writer


def _backtest_frames(seed: int):
    rng = np.random.default_rng(seed)
    stamps = pd.date_range("2020-01-01", periods=30, freq="h")
    series = pd.Series(100 + rng.normal(size=30).cumsum(), index=stamps)
    preds = pd.DataFrame(
        {
            "timestamp": stamps[10:],
            "step": 1,
            "y_true": series.to_numpy()[10:],
            "y_pred": series.to_numpy()[10:] + 1,
        }
    ).assign(model="naive")
    rows = {"naive": {"mae": float(seed), "rmse": 2.0}}
    return rows, preds, series


def test_atomic_open_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "scores.csv"
    _atomic.atomic_write_bytes(path, b"old,complete\n")
    with pytest.raises(OSError, match="No space"):
        with _atomic.atomic_open(path, "w") as fh:
            fh.write("new,cut mid-r")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert path.read_bytes() == b"old,complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode & stat.S_IRGRP or os.umask(0o022) & stat.S_IRGRP  # not 0600


@pytest.mark.parametrize("fail_at", ["csv", "png"])
def test_full_disk_leaves_the_previous_backtest_outputs(tmp_path, monkeypatch, fail_at):
    out = tmp_path / "out"
    cli._write_outputs(out, *_backtest_frames(1), "old", "old run")
    before = _snapshot(out)
    assert set(before) >= {"predictions.csv", "scores.csv", "backtest.png"}
    if fail_at == "csv":
        monkeypatch.setattr(pd.DataFrame, "to_csv", _full_disk(b"timestamp,st"))
    else:
        monkeypatch.setattr(Figure, "savefig", _full_disk(b"\x89PNG\r\n"))
    with pytest.raises(OSError, match="No space"):
        cli._write_outputs(out, *_backtest_frames(2), "new", "new run")
    assert _snapshot(out) == before  # every old file intact, nothing added


def test_cli_reports_a_full_disk_and_keeps_the_old_path_outputs(
    tmp_path, monkeypatch, capsys
):
    args = ["path", "--csv", str(GEMINI_2017), "--window", "120", "--n-betas", "5",
            "--out", str(tmp_path)]
    assert cli.main(args) == 0
    before = _snapshot(tmp_path)
    manifest = json.loads(before["manifest.json"])
    assert sorted(manifest["files"]) == ["path.csv", "path.png"]
    monkeypatch.setattr(Figure, "savefig", _full_disk(b"\x89PNG"))
    assert cli.main(args[:-1] + [str(tmp_path)]) == 1
    assert "No space left" in capsys.readouterr().err
    assert _snapshot(tmp_path) == before


def test_a_run_replaces_the_whole_set_of_the_previous_run(tmp_path):
    with _atomic.OutputSet(tmp_path) as run:
        for name in ("a.csv", "b.csv", "plot.png"):
            run.path(name).write_text("first")
    (tmp_path / "notes.txt").write_text("mine")  # not an output: kept
    with _atomic.OutputSet(tmp_path) as run:
        for name in ("a.csv", "b.csv"):
            run.path(name).write_text("second")
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert names == ["a.csv", "b.csv", "manifest.json", "notes.txt"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["run_id"] == run.run_id
    for name, entry in manifest["files"].items():
        assert _atomic.sha256_file(tmp_path / name) == entry["sha256"]
        assert entry["run_id"] == run.run_id


def test_other_commands_files_stay_listed_with_the_run_that_wrote_them(tmp_path):
    with _atomic.OutputSet(tmp_path, command="backtest") as first:
        for name in ("predictions.csv", "scores.csv"):
            first.path(name).write_text("backtest")
    with _atomic.OutputSet(tmp_path, command="path") as second:
        second.path("path.csv").write_text("path")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert sorted(manifest["files"]) == ["path.csv", "predictions.csv", "scores.csv"]
    owners = {name: e["run_id"] for name, e in manifest["files"].items()}
    assert owners == {
        "path.csv": second.run_id,
        "predictions.csv": first.run_id,
        "scores.csv": first.run_id,
    }
    assert (tmp_path / "predictions.csv").read_text() == "backtest"


def test_staging_folders_of_killed_runs_are_cleared(tmp_path):
    old, recent = tmp_path / ".staging-old", tmp_path / ".staging-recent"
    for folder in (old, recent):
        folder.mkdir()
        (folder / "predictions.csv").write_text("cut mid-r")
    two_days_ago = old.stat().st_mtime - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    with _atomic.OutputSet(tmp_path) as run:
        run.path("scores.csv").write_text("x")
    assert not old.exists() and recent.exists()  # a run may still be writing there


def test_concurrent_runs_never_mix_their_files(tmp_path, monkeypatch):
    real_replace = os.replace
    gate = threading.Barrier(2)

    def slow_replace(src, dst):  # widen the window between two renames
        real_replace(src, dst)
        threading.Event().wait(0.02)

    monkeypatch.setattr(_atomic.os, "replace", slow_replace)

    def run(tag):
        with _atomic.OutputSet(tmp_path) as outputs:
            for name in ("predictions.csv", "scores.csv", "backtest.png"):
                outputs.path(name).write_text(tag)
            gate.wait()

    threads = [threading.Thread(target=run, args=(t,)) for t in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    contents = {
        (tmp_path / n).read_text()
        for n in ("predictions.csv", "scores.csv", "backtest.png")
    }
    assert len(contents) == 1
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        assert _atomic.sha256_file(tmp_path / name) == entry["sha256"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".staging")]


@pytest.fixture
def no_work(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the command started its work before checking --out")

    monkeypatch.setattr(cli, "_load_series", fail)


def _cli_error(args, capsys) -> str:
    assert cli.main(args) == 1
    return capsys.readouterr().err


def test_bad_out_is_refused_before_any_work(tmp_path, capsys, no_work):
    existing = tmp_path / "file.txt"
    existing.write_text("x")
    csv = str(GEMINI_2017)
    err = _cli_error(["backtest", "--csv", csv, "--out", str(existing)], capsys)
    assert "--out" in err and "exists and is not a folder" in err
    below = existing / "sub"
    err = _cli_error(["path", "--csv", csv, "--out", str(below)], capsys)
    assert "cannot create --out" in err
    err = _cli_error(["forecast", "--csv", csv, "--plot", str(tmp_path)], capsys)
    assert "is a folder" in err
    err = _cli_error(
        ["forecast", "--csv", csv, "--plot", str(tmp_path / "f.xyz")], capsys
    )
    assert "must end in one of .png" in err and "got .xyz" in err
    assert existing.read_text() == "x"
    # a good --out is checked without being created: a failed run leaves nothing
    fresh = tmp_path / "new" / "out"
    assert _atomic.check_output_dir(fresh) == fresh
    assert not (tmp_path / "new").exists()


def test_read_only_out_is_refused_before_any_work(tmp_path, capsys, monkeypatch,
                                                  no_work):
    # a read-only folder refuses new files; simulated so that the test does
    # not depend on the user running it (root ignores permission bits)
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(_atomic.tempfile, "mkstemp", refuse)
    err = _cli_error(
        ["backtest", "--csv", str(GEMINI_2017), "--out", str(tmp_path)], capsys
    )
    assert "--out" in err and "is not writable" in err


def test_experiment_files_are_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    from tsmirrors.experiments._common import new_figure, save_figure, write_tables

    fig, _ = new_figure(1, 1, (2, 2))
    tables = {"t": pd.DataFrame({"a": [1.0, 2.0]})}
    save_figure(fig, tmp_path / "f.png")
    write_tables(tmp_path, "x", "X", tables, markdown=["t"])
    before = _snapshot(tmp_path)
    monkeypatch.setattr(Figure, "savefig", _full_disk(b"\x89PNG"))
    with pytest.raises(OSError, match="No space"):
        save_figure(fig, tmp_path / "f.png")
    monkeypatch.setattr(pd.DataFrame, "to_csv", _full_disk(b"a\n1."))
    with pytest.raises(OSError, match="No space"):
        write_tables(tmp_path, "x", "X", tables, markdown=["t"])
    assert _snapshot(tmp_path) == before
