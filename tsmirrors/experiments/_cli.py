"""Command-line entry shared by the example scripts."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .._atomic import atomic_open
from ._common import DEFAULT_OUT, ExperimentResult
from ._output import markdown_table

__all__ = ["EXPERIMENTS", "main", "run"]

#: name -> (function name, whether it reads the price file)
EXPERIMENTS = {
    "autoregression": ("autoregression", True),
    "depth": ("depth", True),
    "planted": ("planted_path", False),
    "quantile": ("quantile_regression", True),
    "optimal_set": ("optimal_set", False),
}


#: what ``--quick`` does and costs (measured on a shared 2-core machine)
QUICK_HELP = (
    "small sizes for a smoke test, not the paper's results: from a few seconds "
    "to about a minute per experiment on 2 cores, depending on the load (the "
    "first also loads compiled code); 0.5-2 min for all five"
)


def run(name: str, out_dir: str | Path, *, quick: bool = False,
        n_jobs: int | None = 1, backend: str = "loky",
        data_path: str | Path | None = None) -> ExperimentResult:
    """Run one experiment by its short name (a key of :data:`EXPERIMENTS`)."""
    from .. import experiments

    func_name, reads_prices = EXPERIMENTS[name]
    func = getattr(experiments, func_name)
    kwargs = {"quick": quick, "n_jobs": n_jobs, "backend": backend}
    if reads_prices:
        kwargs["data_path"] = data_path
    return func(out_dir, **kwargs)


def main(names: Sequence[str], argv: Sequence[str] | None = None,
         description: str = "") -> list[ExperimentResult]:
    """Parse ``--quick --n-jobs --backend --out --data`` and run ``names``.

    Prints each experiment's wall time and, with several experiments, the
    total; returns the results.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help=QUICK_HELP)
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="parallel workers for independent trials (-1: all)")
    parser.add_argument("--backend", default="loky",
                        help="joblib backend, or 'dask' (default: loky)")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help=f"output directory (default: ./{DEFAULT_OUT})")
    parser.add_argument("--data", default=None,
                        help="hourly BTC CSV (default: ../shared/data/btc/"
                             "BTCUSD_gemini_1h_2017.csv or $TSMIRRORS_BTC_HOURLY)")
    args = parser.parse_args(argv)
    results, rows = [], []
    start = time.perf_counter()
    for name in names:
        res = run(name, args.out, quick=args.quick, n_jobs=args.n_jobs,
                  backend=args.backend, data_path=args.data)
        results.append(res)
        rows.append({"experiment": name, "wall_time_s": res.wall_time_s})
        print(f"{name}: {res.wall_time_s:.1f} s, files in {args.out}", flush=True)
    total = time.perf_counter() - start
    if len(names) > 1:
        timing = pd.DataFrame(rows + [{"experiment": "total", "wall_time_s": total}])
        text = (f"# Wall times (n_jobs={args.n_jobs}, quick={args.quick})\n\n"
                + markdown_table(timing, ".1f") + "\n")
        Path(args.out).mkdir(parents=True, exist_ok=True)
        with atomic_open(Path(args.out) / "timing.md", "w") as fh:
            fh.write(text)
        print(f"total wall time: {total:.1f} s ({total / 60:.1f} min)")
    return results
