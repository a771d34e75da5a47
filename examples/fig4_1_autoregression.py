"""Figures 4.1 and 4.2: 2-layer abs autoregression, convex vs SGD vs AR(1).

Trains the 2-layer abs network of (4.2) on (4.3) with beta = 1 exactly (the
Lasso) and by 20 SGD runs (m = 200, lr 0.05, 100 epochs), against AR(1)+bias,
on two windows of the hourly 2017 BTC series (2000 training hours, the next
2000 as test) and a planted series. Writes fig4_1_autoregression.png,
fig4_2_training_time.png, autoregression.md and CSV tables.

Usage: python examples/fig4_1_autoregression.py [--quick] [--n-jobs N] [--out DIR]
       [--backend loky|dask] [--data CSV]
"""

from __future__ import annotations

from tsmirrors.experiments._cli import main

if __name__ == "__main__":
    main(["autoregression"], description=__doc__)
