"""Every supported architecture: reconstruction error and convex-vs-SGD gap.

For each (architecture, depth, activation), on N random points with a smooth
target: the convex fit, its reconstructed torch network (output and
training-objective relative errors against the convex model), and the gap
between the convex objective and the best of several Adam runs on the same
objective (1.1) with at least m* neurons (negative: convex is lower).

Usage: python benchmarks/bench_architectures.py [--quick] [--n N]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from tsmirrors.models.convex import ConvexNetRegressor
from tsmirrors.models.sgd import SGDNetRegressor
from tsmirrors.nets import training_objective

ROWS = [
    ("deep_narrow", 2, "relu"),
    ("deep_narrow", 2, "leaky_relu"),
    ("deep_narrow", 2, "abs"),
    ("deep_narrow", 2, "sign"),
    ("deep_narrow", 2, "threshold"),
    ("deep_narrow", 3, "relu"),
    ("deep_narrow", 3, "leaky_relu"),
    ("deep_narrow", 3, "abs"),
    ("deep_narrow", 4, "relu"),
    ("deep_narrow", 4, "abs"),
    ("symmetrized", 3, "relu"),
    ("symmetrized", 3, "leaky_relu"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and epochs")
    parser.add_argument("--n", type=int, default=20, help="training points")
    parser.add_argument("--beta", type=float, default=0.05, help="beta of (1.1)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.n, 1))
    y = np.sin(2 * x[:, 0]) + 0.2 * rng.normal(size=args.n)
    new = np.linspace(-4, 4, 81)[:, None]
    runs, epochs = (2, 200) if args.quick else (5, 2000)
    print(
        f"N={args.n} points, beta={args.beta}; best of {runs} Adam runs x {epochs} "
        "epochs (lr 0.01) with m* + 8 neurons"
    )
    head = (
        f"{'architecture':<12} {'L':>2} {'activation':<11} {'p':>6} {'m*':>4} "
        f"{'fit ms':>7} {'output err':>11} {'objective err':>13} "
        f"{'convex - best SGD':>18}"
    )
    print(head)
    print("-" * len(head))
    # load the compiled kernels once, outside the timings
    ConvexNetRegressor(activation="relu", beta=args.beta).fit(x, y)
    for arch, depth, act in ROWS:
        t0 = time.perf_counter()
        model = ConvexNetRegressor(
            activation=act, depth=depth, architecture=arch, beta=args.beta
        ).fit(x, y)
        t_fit = time.perf_counter() - t0
        net = model.to_torch()
        pts = np.vstack([x, new])
        ref = model.predict(pts)
        out_err = np.max(np.abs(net.predict(pts) - ref)) / np.max(np.abs(ref))
        obj = training_objective(net, x, y, args.beta)
        obj_err = abs(obj - model.objective_) / model.objective_
        best = np.inf
        for seed in range(runs):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sgd = SGDNetRegressor(
                    architecture=arch,
                    activation=act,
                    depth=depth,
                    n_neurons=model.n_neurons_ + 8,
                    beta=args.beta,
                    optimizer="adam",
                    lr=0.01,
                    epochs=epochs,
                    random_state=seed,
                ).fit(x, y)
            best = min(best, sgd.objective_)
        print(
            f"{arch:<12} {depth:>2} {act:<11} {model.coef_.size:>6} "
            f"{model.n_neurons_:>4} {t_fit * 1e3:>7.1f} {out_err:>11.1e} "
            f"{obj_err:>13.1e} {model.objective_ - best:>18.3e}"
        )


if __name__ == "__main__":
    main()
