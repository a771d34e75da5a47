"""Peak memory of the exact library build against its ``memory_budget``.

Each case is the largest exact library of its kind whose candidate
dictionary fits the default budget of 1 GiB (the candidates times N times 8
bytes): depth-4 abs at N = 107, symmetrized relu at N = 53, depth-3 relu at
N = 322 and depth-3 abs (with midpoint biases) at N = 127, on N standard
normal points.

Every case runs alone in a fresh Python process (one at a time, so that
peaks do not add up), which reports the growth of its peak resident set
(``ru_maxrss``) over the build, ``Library(...).fit_transform(x)``, against
the budget. The ratio ``peak / budget`` must stay at or below 1.

Run ``python benchmarks/bench_library_memory.py`` (about a minute per case
on one core) or ``--quick`` for a smoke run with a budget of 64 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CASES = {
    "deep_narrow-4-abs": dict(architecture="deep_narrow", depth=4, activation="abs",
                              n=107),
    "symmetrized-3-relu": dict(architecture="symmetrized", depth=3,
                               activation="relu", n=53),
    "deep_narrow-3-relu": dict(architecture="deep_narrow", depth=3,
                               activation="relu", n=322),
    "deep_narrow-3-abs": dict(architecture="deep_narrow", depth=3, activation="abs",
                              n=127),
}
GIB = 2**30


def _scaled(case: dict, budget: int) -> dict:
    """The case at the largest N whose candidate dictionary fits ``budget``."""
    from tsmirrors.features import library_size

    n = case["n"]
    kw = {k: case[k] for k in ("architecture", "depth", "activation")}
    while n > 3 and library_size(n_points=n, **kw) * n * 8 > budget:
        n -= 1
    return {**case, "n": n}


def _child(name: str, budget: int) -> None:
    import resource

    import numpy as np

    from tsmirrors.features import Library

    case = _scaled(CASES[name], budget)
    x = np.random.default_rng(0).normal(size=case["n"])
    lib = Library(activation=case["activation"], depth=case["depth"],
                  architecture=case["architecture"], memory_budget=budget)
    Library(activation="abs", depth=3).fit_transform(x[:5])  # warm up imports
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    try:
        a = lib.fit_transform(x)
        result = {"columns": int(a.shape[1])}
    except ValueError as exc:
        result = {"refused": str(exc)}
    result["seconds"] = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result.update(n=case["n"], peak=after - before)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a budget of 64 MiB (smaller N)")
    parser.add_argument("--case", choices=sorted(CASES), action="append",
                        help="run only these cases (repeatable)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=int, default=None,
                        help="memory_budget in bytes (default 1 GiB)")
    args = parser.parse_args()
    from tsmirrors.features import library_size

    budget = args.budget or (64 * 2**20 if args.quick else GIB)
    if args.child:
        _child(args.child, budget)
        return
    print(f"exact library build, peak RSS growth against memory_budget = "
          f"{budget / 2**20:,.0f} MiB (one case per process, one at a time)")
    header = (f"{'case':<20} {'N':>4} {'candidates':>11} {'columns':>9} "
              f"{'peak MiB':>9} {'peak/budget':>11} {'seconds':>8}")
    print(header)
    print("-" * len(header))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    for name in args.case or CASES:
        out = subprocess.run(
            [sys.executable, __file__, "--child", name, "--budget", str(budget)],
            capture_output=True, text=True, env=env, check=True,
        ).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        columns = "refused" if "refused" in r else f"{r['columns']:,}"
        candidates = library_size(
            n_points=r["n"],
            **{k: CASES[name][k] for k in ("architecture", "depth", "activation")},
        )
        print(f"{name:<20} {r['n']:>4} {candidates:>11,} {columns:>9} "
              f"{r['peak'] / 2**20:>9,.0f} {r['peak'] / budget:>11.2f} "
              f"{r['seconds']:>8.1f}")
        if "refused" in r:
            print(f"    {r['refused']}")


if __name__ == "__main__":
    main()
