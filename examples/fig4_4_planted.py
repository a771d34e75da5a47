"""Figures 4.4 and E.3: regularization path on planted data, convex vs SGD.

Planted 2-layer abs series with p = 10 neurons, sigma^2 in {1, 0.01}, T = 1000
and an independent test series: the exact convex path against 20 SGD runs
(lr 0.1) at several beta, and training curves at beta = 1. Writes
fig4_4_regularization_path.png, fig_e3_planted_training_curves.png,
planted.md and CSV tables.

Usage: python examples/fig4_4_planted.py [--quick] [--n-jobs N] [--out DIR]
       [--backend loky|dask] [--data CSV]
"""

from __future__ import annotations

from tsmirrors.experiments._cli import main

if __name__ == "__main__":
    main(["planted"], description=__doc__)
