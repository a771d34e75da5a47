"""Figure E.1: test MSE over the Lasso optimal set, by hit-and-run.

Samples 5000 networks uniformly from the optimal set (Proposition E.3) of a
planted affine and a planted 3-layer relu problem (5 training, 100 test
points) and marks the minimum Euclidean-norm solution. Writes
fig_e1_optimal_set.png, optimal_set.md and CSV tables.

Usage: python examples/fig_e1_optimal_set.py [--quick] [--n-jobs N] [--out DIR]
       [--backend loky|dask] [--data CSV]
"""

from __future__ import annotations

from tsmirrors.experiments._cli import main

if __name__ == "__main__":
    main(["optimal_set"], description=__doc__)
