"""Float64 torch networks of Section 2 and their training objective (1.1).

Importing this subpackage imports torch (the ``tsmirrors[torch]`` extra);
``import tsmirrors`` alone does not.
"""

from ._base import ARCHITECTURES, MirrorNet, make_generator
from .architectures import ParallelNet, StandardNet
from .deep import DeepNarrowNet, SymmetrizedNet
from .objective import LOSSES, training_objective, training_objective_torch

__all__ = [
    "ARCHITECTURES",
    "LOSSES",
    "MirrorNet",
    "StandardNet",
    "ParallelNet",
    "DeepNarrowNet",
    "SymmetrizedNet",
    "make_generator",
    "training_objective",
    "training_objective_torch",
]
