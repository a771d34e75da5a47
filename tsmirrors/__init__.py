"""tsmirrors: globally optimal neural-network forecasters for 1-D time series.

Training a 2-layer or deep narrow network on 1-D data is exactly a convex
Lasso problem over an explicit dictionary of ramp and reflection features
("the library of mirrors"). tsmirrors builds those dictionaries, solves the
Lasso exactly, rebuilds the network, and uses it for autoregressive and
quantile forecasting.
"""

from ._version import __version__

__all__ = ["__version__"]
