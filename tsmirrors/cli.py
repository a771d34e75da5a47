"""The ``tsmirrors`` command line."""

from __future__ import annotations

import argparse
import sys
import traceback

import numpy as np

from ._version import __version__


def _cmd_library(args: argparse.Namespace) -> int:
    """Print every supported network with its library size on N points."""
    from .features import Library, library_size

    if args.n_points < 2:
        raise ValueError(
            f"--n-points needs at least 2 distinct points, got {args.n_points}"
        )
    rng = np.random.default_rng(args.seed)
    x = rng.normal(size=args.n_points)
    rows = [
        ("deep_narrow", 2, a)
        for a in ("relu", "leaky_relu", "abs", "sign", "threshold")
    ]
    rows += [
        ("deep_narrow", d, a) for d in (3, 4) for a in ("relu", "leaky_relu", "abs")
    ]
    rows += [("symmetrized", 3, a) for a in ("relu", "leaky_relu")]
    header = (
        f"{'architecture':<12} {'depth':>5} {'activation':<11} "
        f"{'candidates':>11} {'distinct':>9}"
    )
    print(f"Deep libraries on N = {args.n_points} random points")
    print(header)
    print("-" * len(header))
    for arch, depth, act in rows:
        n_cand = library_size(act, depth, arch, n_points=args.n_points)
        lib = Library(
            activation=act,
            depth=depth,
            architecture=arch,
            memory_budget=args.memory_budget,
        )
        if depth > 2 and n_cand * args.n_points * 8 > args.memory_budget:
            distinct = f"{'(budget)':>9}"
        else:
            distinct = f"{lib.fit(x).n_features_:>9,}"
        print(f"{arch:<12} {depth:>5} {act:<11} {n_cand:>11,} {distinct}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tsmirrors",
        description="Globally optimal neural-network forecasters for 1-D series.",
    )
    parser.add_argument(
        "--version", action="version", version=f"tsmirrors {__version__}"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks on errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "library",
        help="list the supported networks and the size of their Lasso libraries",
        description="List every supported (architecture, depth, activation) and the "
        "number of features of its deep library on N random points.",
        epilog="example:\n  tsmirrors library --n-points 10",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--n-points", type=int, default=10, help="number of points N (default 10)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random points")
    p.add_argument(
        "--memory-budget", type=int, default=2**30, help="bytes (default 1 GiB)"
    )
    p.set_defaults(func=_cmd_library)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, OSError, ImportError, RuntimeError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"tsmirrors: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
