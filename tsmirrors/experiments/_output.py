"""Outputs of the experiments: markdown and CSV tables, PNG figures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import atomic_open

__all__ = [
    "markdown_table",
    "new_figure",
    "plot_trials",
    "save_figure",
    "write_tables",
]


def _fmt(value, floatfmt: str) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return ""
        if np.isinf(value):
            return "inf" if value > 0 else "-inf"
        return format(float(value), floatfmt)
    return str(value)


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A GitHub markdown table of ``df`` (index dropped)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v, floatfmt) for v in row) + " |")
    return "\n".join(lines)


def write_tables(
    out_dir: Path, name: str, title: str, tables: dict[str, pd.DataFrame],
    *, markdown: Sequence[str], notes: str = "", floatfmt: str = ".4g",
) -> list[Path]:
    """Write every table as CSV and the ``markdown`` ones to ``<name>.md``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for key, df in tables.items():
        path = out_dir / f"{name}_{key}.csv"
        with atomic_open(path, "w", newline="") as fh:
            df.to_csv(fh, index=False)
        files.append(path)
    parts = [f"# {title}", ""]
    if notes:
        parts += [notes.strip(), ""]
    for key in markdown:
        parts += [f"## {key}", "", markdown_table(tables[key], floatfmt), ""]
    md = out_dir / f"{name}.md"
    with atomic_open(md, "w") as fh:
        fh.write("\n".join(parts))
    files.append(md)
    return files


def new_figure(nrows: int, ncols: int, size: tuple[float, float]):
    """A matplotlib Figure (no pyplot state) and its axes grid."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def save_figure(fig, path: Path) -> Path:
    """Save ``fig`` as PNG at 110 dpi."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=110)
    return path


def plot_trials(ax, histories: Sequence[pd.DataFrame], column: str,
                x: str = "epoch", every: int = 10) -> None:
    """Each trial in colour, their mean in black with +-1 std bars."""
    import matplotlib as mpl

    cmap = mpl.colormaps["tab20"]
    vals = []
    for k, h in enumerate(histories):
        if len(h) == 0:
            continue
        ax.plot(h[x], h[column], color=cmap(k % 20), lw=0.7, alpha=0.7)
        vals.append(h[column].to_numpy())
    if not vals:
        return
    n = min(v.size for v in vals)
    stack = np.vstack([v[:n] for v in vals])
    xs = next(h for h in histories if len(h))[x].to_numpy()[:n]
    mean, std = stack.mean(axis=0), stack.std(axis=0)
    ax.plot(xs, mean, color="black", lw=1.6, label="SGD mean")
    step = max(1, n // every)
    ax.errorbar(xs[::step], mean[::step], yerr=std[::step], fmt="none",
                ecolor="black", elinewidth=0.8, capsize=2)
