"""load_prices on a large Kaggle-layout file against plain pandas.read_csv.

Writes a minutely ``unix,date,symbol,open,high,low,close,Volume BTC,Volume
USD`` file (newest row first, as Kaggle ships it) to a temporary folder, then
reads it in fresh processes, so that each peak RSS belongs to one reader:

- ``pandas.read_csv(path)``: the plain read a user would try first;
- ``tsmirrors.data.load_prices(path)``: layout detection, checks, parsing.

Prints wall time and peak RSS of each and the ratios. Timings on a shared
machine are noisy; the ratio within one run is the number to compare.

    python benchmarks/bench_loaders.py                  # 5,000,000 rows
    python benchmarks/bench_loaders.py --rows 200000    # quick
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

READERS = {
    "pandas.read_csv": "import pandas as pd; frame = pd.read_csv(path)",
    "load_prices": (
        "import warnings; from tsmirrors.data import load_prices\n"
        "with warnings.catch_warnings():\n"
        "    warnings.simplefilter('ignore')\n"
        "    frame = load_prices(path)"
    ),
}

CHILD = """
import json, resource, sys, time
path = sys.argv[1]
t0 = time.perf_counter()
{body}
wall = time.perf_counter() - t0
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"wall": wall, "rss": peak_kib * 1024, "rows": len(frame)}}))
"""


def write_kaggle_file(path: Path, rows: int, seed: int = 0) -> None:
    """A minutely Kaggle btcinusd file of ``rows`` rows, newest first."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    unix = 1_500_000_000 + 60 * np.arange(rows, dtype=np.int64)[::-1]
    close = 1000.0 * np.exp(np.cumsum(rng.normal(0, 1e-3, rows)))[::-1]
    vol = rng.exponential(2.0, rows)
    frame = pd.DataFrame(
        {
            "unix": unix,
            "date": pd.to_datetime(unix, unit="s").strftime("%Y-%m-%d %H:%M:%S"),
            "symbol": "BTC/USD",
            "open": close.round(2),
            "high": (close * 1.001).round(2),
            "low": (close * 0.999).round(2),
            "close": close.round(2),
            "Volume BTC": vol.round(8),
            "Volume USD": (vol * close).round(2),
        }
    )
    tmp = path.with_suffix(".part")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)


def run_reader(name: str, path: Path) -> dict:
    repo = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(repo))
    code = CHILD.format(body=READERS[name])
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument(
        "--file", default=None, help="reuse or create this file (default: temp)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.file) if args.file else Path(tmp) / "kaggle.csv"
        if not path.exists():
            print(f"writing {args.rows:,} rows to {path} ...", flush=True)
            write_kaggle_file(path, args.rows)
        size = path.stat().st_size
        print(f"{path}: {size / 2**20:.0f} MiB")
        results = {name: run_reader(name, path) for name in READERS}
    base = results["pandas.read_csv"]
    print(
        f"{'reader':<18}{'rows':>11}{'seconds':>10}{'peak RSS MiB':>14}"
        f"{'time x':>9}{'RSS x':>8}"
    )
    for name, r in results.items():
        print(
            f"{name:<18}{r['rows']:>11,}{r['wall']:>10.1f}{r['rss'] / 2**20:>14.0f}"
            f"{r['wall'] / base['wall']:>9.2f}{r['rss'] / base['rss']:>8.2f}"
        )


if __name__ == "__main__":
    main()
