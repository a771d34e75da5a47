"""Figures 4.3, 4.5, 4.6, 4.7 and E.2: deep narrow abs networks of depth 2 to 5.

Solves 200 Lasso problems per depth over 1000 sequentially sampled deep
library features (depth 2: the whole library) with beta = 1/T, T = 1000, on
four windows of the hourly 2017 BTC series. Writes loss and time histograms,
a predictions plot, depth.md and CSV tables.

Usage: python examples/fig4_3_depth.py [--quick] [--n-jobs N] [--out DIR]
       [--backend loky|dask] [--data CSV]
"""

from __future__ import annotations

from tsmirrors.experiments._cli import main

if __name__ == "__main__":
    main(["depth"], description=__doc__)
