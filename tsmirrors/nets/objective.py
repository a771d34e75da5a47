"""The non-convex training objective (1.1), computed from a network's parameters."""

from __future__ import annotations

from .._validation import check_finite_array, check_nonnegative, check_quantile
from ._base import DTYPE, MirrorNet, torch

__all__ = ["LOSSES", "training_objective", "training_objective_torch"]

LOSSES = ("squared", "quantile")


def check_loss(loss, quantile) -> tuple[str, float]:
    """Validate ``loss`` and, for the quantile loss, ``quantile``."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    tau = check_quantile(quantile, "quantile")
    return loss, tau


def data_term(pred, y, loss: str, quantile: float):
    """Summed loss: ``1/2 sum r^2`` or ``sum L_tau(r)`` with ``r = y - f``.

    ``L_tau(r) = 0.5 |r| + (tau - 0.5) r`` is the pinball loss of the
    ``tau``-quantile (``tau r`` for ``r >= 0``, ``(tau - 1) r`` otherwise).
    """
    r = y - pred
    if loss == "squared":
        return 0.5 * (r * r).sum()
    return (0.5 * r.abs() + (quantile - 0.5) * r).sum()


def objective_unchecked(net: MirrorNet, X, y, beta: float, loss: str, quantile):
    """(1.1) as a torch scalar, for tensors already validated."""
    return data_term(net(X), y, loss, quantile) + (
        beta / net.effective_depth
    ) * net.penalty()


def _check_data(net, X, y):
    if not isinstance(net, MirrorNet):
        raise TypeError(
            "net must be a tsmirrors.nets network (StandardNet, ParallelNet, "
            f"DeepNarrowNet or SymmetrizedNet), got {type(net).__name__}"
        )
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    X = check_finite_array(X, "X")
    y = check_finite_array(y, "y")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X and y have different numbers of samples: {X.shape[0]} and "
            f"{y.shape[0]}"
        )
    X_t = net._as_input(X)
    y_t = torch.as_tensor(y, dtype=DTYPE)
    return X_t, y_t


def training_objective_torch(
    net: MirrorNet, X, y, beta: float, loss: str = "squared", quantile: float = 0.5
):
    """Differentiable training objective (1.1); returns a torch scalar.

    Same arguments and conventions as :func:`training_objective`; gradients
    flow to the network's parameters.
    """
    beta = check_nonnegative(beta, "beta")
    loss, tau = check_loss(loss, quantile)
    X_t, y_t = _check_data(net, X, y)
    return objective_unchecked(net, X_t, y_t, beta, loss, tau)


def training_objective(
    net: MirrorNet, X, y, beta: float, loss: str = "squared", quantile: float = 0.5
) -> float:
    """Training objective (1.1) of a network, from its parameters.

    ``loss(f(X), y) + (beta / L~) * sum_{q in theta_w} ||q||_2^{L~}``, where
    the data term is a sum over samples (not a mean):

    * ``loss="squared"``: ``1/2 sum_i (f(x_i) - y_i)^2``;
    * ``loss="quantile"``: ``sum_i L_tau(y_i - f(x_i))`` with
      ``L_tau(r) = 0.5 |r| + (tau - 0.5) r``, the pinball loss of the
      ``tau``-quantile.

    ``L~`` is the effective depth: the depth ``L`` for ReLU, leaky ReLU and
    absolute value, 2 for sign and threshold (Section 1, Remark D.1).
    ``theta_w`` (biases and ``xi`` are never regularized) is, per
    architecture:

    * standard: ``alpha`` and each weight matrix ``W^(l)`` as a whole
      (Frobenius norm);
    * parallel: per unit ``i``, ``alpha_i`` and each ``W^(i,l)``;
    * deep narrow: per unit, ``alpha_i`` and each scalar ``w_{i,l}``;
    * symmetrized: per unit, ``alpha_i`` and the 2-vectors ``W^(i,1)``,
      ``W^(i,2)``;
    * sign and threshold (any architecture): only ``alpha`` and the last
      amplitudes ``s^(L-1)``; inner weights and amplitudes are invariant
      directions and are not regularized (Remark D.1, Lemma D.3).

    Parameters
    ----------
    net : MirrorNet
        A :class:`StandardNet`, :class:`ParallelNet`, :class:`DeepNarrowNet`
        or :class:`SymmetrizedNet`.
    X : array-like or tensor of shape (n, d) or (n,)
    y : array-like or tensor of shape (n,)
    beta : float
        Regularization strength ``beta >= 0``.
    loss : {"squared", "quantile"}, default="squared"
    quantile : float, default=0.5
        ``tau`` in (0, 1), used by the quantile loss.

    Returns
    -------
    float

    Examples
    --------
    >>> from tsmirrors.nets import DeepNarrowNet
    >>> net = DeepNarrowNet([[2.0]], [[0.0]], [1.5], activation="relu")
    >>> training_objective(net, [1.0], [2.0], beta=1.0)  # 0.5 * 1 + (2^2 + 1.5^2) / 2
    3.625
    """
    with torch.no_grad():
        value = training_objective_torch(net, X, y, beta, loss, quantile)
    return float(value.item())
