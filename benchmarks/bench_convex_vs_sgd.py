"""Convex training against SGD on the same 2-layer abs network (Section 4).

A standardized window of T = 2000 hourly 2017 BTC closes, the autoregression
x_t -> x_{t+1}, a 2-layer abs network with m = 200 neurons and beta = 1 in
the (4.3) scaling (beta = T/2 in the sum convention of (1.1)). Measured in
the same run:

* the convex fit, reconstruction of the torch network included, against one
  100-epoch SGD run (target: at most 1/20 of its time);
* the convex objective against the best of 20 SGD runs (lr 0.05; target:
  at most the best).

Usage: python benchmarks/bench_convex_vs_sgd.py [--quick] [--window START]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from _common import hourly_closes_2017, standardized_window

from tsmirrors.models.convex import ConvexNetRegressor
from tsmirrors.models.sgd import SGDNetRegressor
from tsmirrors.nets import training_objective


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="T=300, 3 SGD runs")
    parser.add_argument("--start", type=int, default=0, help="first hour of the window")
    parser.add_argument("--beta", type=float, default=1.0, help="beta in (4.3)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    T = 300 if args.quick else 2000
    runs = 3 if args.quick else 20
    series = standardized_window(hourly_closes_2017(), args.start, T + 1)
    X, y = series[:-1, None], series[1:]
    beta_sum = T * args.beta / 2

    # warm up imports and compiled kernels (the same fit), then time the fit
    # and the reconstruction
    ConvexNetRegressor(activation="abs", beta=beta_sum).fit(X, y).to_torch()
    t0 = time.perf_counter()
    convex = ConvexNetRegressor(activation="abs", beta=beta_sum).fit(X, y)
    net = convex.to_torch()
    t_convex = time.perf_counter() - t0
    rebuilt = training_objective(net, X, y, beta_sum)

    scale = 2.0 / T  # report objectives in the (4.3) scaling
    print(
        f"2-layer abs network, T={T}, m=200, beta={args.beta} in (4.3) "
        f"(beta_sum={beta_sum:g}); {runs} SGD runs of 100 full-batch epochs"
    )
    print(
        f"convex fit + reconstruction  {t_convex * 1e3:8.1f} ms   objective "
        f"{convex.objective_ * scale:.6f} ({convex.n_neurons_} neurons); rebuilt "
        f"torch network {rebuilt * scale:.6f}"
    )
    results = {}
    for lr in (0.05, 0.005):
        objectives, epoch_times, diverged = [], [], 0
        for seed in range(runs):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                sgd = SGDNetRegressor(
                    activation="abs",
                    n_neurons=200,
                    beta=beta_sum,
                    optimizer="sgd",
                    lr=lr,
                    epochs=100,
                    random_state=seed,
                ).fit(X, y)
            diverged += any("non-finite" in str(w.message) for w in caught)
            objectives.append(sgd.objective_)
            hist = sgd.history_
            epoch_times.append(float(hist["time_s"].iloc[-1]) / len(hist))
        t_run = 100 * float(np.median(epoch_times))
        results[lr] = (min(objectives), t_run)
        print(
            f"SGD lr={lr:<6} one 100-epoch run {t_run * 1e3:8.1f} ms   objective best "
            f"{min(objectives) * scale:.6f}, median {np.median(objectives) * scale:.6f}"
            f"; {diverged}/{runs} runs diverged (stopped at the last finite epoch)"
        )
    t_run = results[0.005][1]
    ratio = t_run / t_convex
    print(
        f"time: convex fit + reconstruction is {ratio:.0f}x faster than one 100-epoch "
        f"SGD run (target >= 20x: {'met' if ratio >= 20 else 'MISSED'})"
    )
    best = min(b for b, _ in results.values())
    gap = (convex.objective_ - best) * scale
    print(
        f"objective: convex - best of {2 * runs} SGD runs = {gap:.3e} in (4.3) "
        f"(target <= 0: {'met' if gap <= 1e-12 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
