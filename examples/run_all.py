"""Run every experiment of Section 4 and Appendix E and print the total wall time.

Figures 4.1/4.2 (autoregression), 4.3/4.5-4.7/E.2 (depth), 4.4/E.3 (planted
regularization path), Appendix E.2 quantile regression and Figure E.1
(optimal set). Writes every figure and table, and timing.md, into --out.

Usage: python examples/run_all.py [--quick] [--n-jobs N] [--out DIR]
       [--backend loky|dask] [--data CSV]
"""

from __future__ import annotations

from tsmirrors.experiments._cli import EXPERIMENTS, main

if __name__ == "__main__":
    main(list(EXPERIMENTS), description=__doc__)
