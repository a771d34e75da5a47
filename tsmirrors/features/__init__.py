"""Feature dictionaries ("the library of mirrors") of the Lasso reformulation.

``Library`` builds the deep library of Definition 3.10 for 2-layer, deep
narrow and 3-layer symmetrized networks; ``activations`` holds the
piecewise linear activations of (2.1).
"""

from .activations import ACTIVATIONS, Activation, get_activation
from .library import SUPPORTED, Library, check_architecture, library_size
from .units import DeepNarrowUnits, SymmetrizedUnits

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "DeepNarrowUnits",
    "Library",
    "SUPPORTED",
    "SymmetrizedUnits",
    "check_architecture",
    "get_activation",
    "library_size",
]
