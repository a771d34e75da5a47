"""Packed products of side-by-side 2-layer dictionaries equal the blockwise ones."""

from __future__ import annotations

import numpy as np
import pytest

from tsmirrors.features.operators import TwoLayerOperator
from tsmirrors.models.convex import HStackDesign


def _blocks(activation, n=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * [1.0, 50.0, 1e-3][:d]
    X[:5, 0] = X[5:10, 0]  # ties among the inputs (and so among the knots)
    return [TwoLayerOperator.from_inputs(X[:, k], activation) for k in range(d)]


@pytest.mark.parametrize("activation", ["abs", "relu", "leaky_relu"])
def test_packed_products_equal_blockwise(activation):
    blocks = _blocks(activation)
    design = HStackDesign(blocks)
    assert design._packed is not None
    dense = np.hstack([b.toarray() for b in blocks])
    rng = np.random.default_rng(1)
    r = rng.normal(size=dense.shape[0])
    # the same kernels on the same sorted data: equal to rounding of the
    # blockwise products; against the dense matrix, to its accumulated rounding
    blockwise = np.concatenate([b._rmatvec(r) for b in blocks])
    np.testing.assert_allclose(design.rmatvec(r), blockwise, rtol=0, atol=1e-12 * (
        np.abs(blockwise).max()))
    scale = np.abs(dense).sum(axis=0).max() * np.abs(r).max()
    np.testing.assert_allclose(design.rmatvec(r), dense.T @ r, atol=1e-12 * scale)
    idx = np.array([0, 7, 61, 130, 150, 61])  # across blocks, one repeated
    w = rng.normal(size=idx.size)
    expect = dense[:, idx] @ w
    np.testing.assert_allclose(design.matvec_sparse(idx, w), expect,
                               atol=1e-12 * np.abs(dense).max() * np.abs(w).sum())
    np.testing.assert_array_equal(design.columns(idx), dense[:, idx])


def test_sign_blocks_are_not_packed():
    # sign(0) is neither branch: the coefficient form would be wrong at knots
    assert HStackDesign(_blocks("sign"))._packed is None


def test_column_index_checked():
    design = HStackDesign(_blocks("abs"))
    with pytest.raises(IndexError, match="out of range"):
        design.columns([design.shape[1]])
    with pytest.raises(IndexError, match="out of range"):
        design.matvec_sparse([-1], [1.0])


def test_matvec_sparse_of_dense_and_unpacked_blocks_uses_the_columns_in_use():
    rng = np.random.default_rng(2)
    dense = rng.normal(size=(30, 12))  # a deep library's dense block
    sign = TwoLayerOperator.from_inputs(rng.normal(size=30), "sign")
    design = HStackDesign([dense, sign])
    assert design._packed is None
    full = np.hstack([dense, sign.toarray()])
    idx = np.array([3, 15, 3, 40])  # both blocks, one column twice
    w = rng.normal(size=idx.size)
    scale = np.abs(full).max() * np.abs(w).sum()  # the size of the sum
    np.testing.assert_allclose(design.matvec_sparse(idx, w), full[:, idx] @ w,
                               rtol=0, atol=1e-12 * scale)
