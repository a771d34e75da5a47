"""examples/RESULTS.md reports what the code measures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tsmirrors.experiments._common import (
    default_data_path,
    fit_convex,
    load_hourly_close,
    price_windows,
)
from tsmirrors.experiments.autoregression import optimal_test_range

PAGE = (Path(__file__).resolve().parents[1] / "examples" / "RESULTS.md").read_text(
    encoding="utf-8"
)


def _table_rows(header_start: str) -> list[dict]:
    """The markdown table whose header begins with ``header_start``."""
    lines = PAGE.splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    header = [c.strip() for c in lines[k].strip("|").split("|")]
    rows = []
    for line in lines[k + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, (c.strip() for c in line.strip("|").split("|")))))
    return rows


def test_figure_4_1_reports_the_range_over_all_optimal_networks():
    """At beta = 1 the optimum is a segment; the page gives both of its ends."""
    rows = {
        r["dataset"]: r
        for r in _table_rows("| dataset | convex_objective | sgd_objective_min")
    }
    windows = price_windows(load_hourly_close(default_data_path()), 2000, 2)
    for ds in windows:
        row = rows[ds.name]
        dim, lo, hi = optimal_test_range(ds, 1.0)
        assert dim == int(row["optimal_set_dim"]) == 1
        # the page prints 4 significant digits
        assert float(row["optimal_test_mse_min"]) == pytest.approx(lo, rel=5e-4)
        assert float(row["optimal_test_mse_max"]) == pytest.approx(hi, rel=5e-4)
        # the solver returns the end with the largest test MSE, as the page says
        _, info = fit_convex(ds, 1.0)
        assert info["test_loss"] == pytest.approx(hi, rel=1e-9)
        assert float(row["convex_test_mse"]) == pytest.approx(hi, rel=5e-4)


def test_every_claim_has_a_verdict_and_sgd_test_loss_is_one():
    rows = _table_rows("| Paper's claim |")
    assert all(r["Verdict"] for r in rows)
    claims = " ".join(r["Paper's claim"] for r in rows)
    assert re.search(r"SGD .*underperforms.* test loss", claims)
    depth = next(r for r in rows if "Deeper networks" in r["Paper's claim"])
    assert "under this setup" in depth["Verdict"]
