"""Appendix E.2: quantile regression with the pinball loss.

The comparisons of Figure 4.1 with L_tau for tau in {0.05, 0.5, 0.95}, and the
empirical coverage of the [0.05, 0.95] interval on test data. Writes
quantile_regression.png, quantile.md and CSV tables.

Usage: python examples/quantile_regression.py [--quick] [--n-jobs N] [--out DIR]
       [--backend loky|dask] [--data CSV]
"""

from __future__ import annotations

from tsmirrors.experiments._cli import main

if __name__ == "__main__":
    main(["quantile"], description=__doc__)
