"""Build a library's dictionary in blocks of candidates, within a memory budget.

An exact deep library has up to millions of candidate features, most of
which repeat on the training points. Evaluating every candidate at once and
de-duplicating the matrix takes several times its size in temporaries, so
the dictionary is built in passes over blocks of candidates instead:

1. the largest absolute entry, the scale of the rounding that decides which
   columns are equal;
2. de-duplication: a block's columns are rounded, hashed (an integer random
   projection) and compared with the columns kept so far; equal hashes are
   confirmed entry by entry (the kept column is evaluated again), so the
   result is exact. Only the kept candidates and their hashes are stored;
3. the kept columns, evaluated block by block into the final matrix, which
   is allocated once, when its size is known.

The columns kept are those of a whole-matrix de-duplication: the first, in
enumeration order, of every distinct nonzero column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

__all__ = [
    "BLOCK_BYTES",
    "WORK_FACTOR",
    "TooManyColumns",
    "block_size",
    "distinct_candidates",
    "fill_matrix",
    "work_bytes",
]

#: Target size in bytes of one block of dictionary columns.
BLOCK_BYTES = 4 * 2**20
#: Block-sized arrays alive at once while a block is evaluated, rounded,
#: hashed and compared (the symmetrized units' evaluation alone holds five).
WORK_FACTOR = 8


class TooManyColumns(Exception):
    """More distinct columns than the budget allows (``kept`` so far)."""

    def __init__(self, kept: int):
        super().__init__(kept)
        self.kept = kept


def block_size(n_rows: int, budget: int) -> int:
    """Candidates per block: a block's working memory stays a small part of
    ``budget``, at most ``WORK_FACTOR * BLOCK_BYTES``."""
    target = min(BLOCK_BYTES, budget // (4 * WORK_FACTOR))
    return max(1, target // (8 * max(n_rows, 1)))


def work_bytes(n_rows: int, block: int) -> int:
    """Working memory of one block of ``block`` candidates on ``n_rows`` points."""
    return WORK_FACTOR * 8 * n_rows * block


def _rounded(a: np.ndarray, inv_step: float) -> np.ndarray:
    q = a * inv_step
    np.rint(q, out=q)
    return q


class _Digits:
    """A growing array of the kept candidates' digits (amortized doubling)."""

    def __init__(self, width: int):
        self.data = np.empty((16, width), dtype=np.int64)
        self.size = 0

    def extend(self, rows: np.ndarray) -> None:
        need = self.size + len(rows)
        if need > len(self.data):
            grown = np.empty((max(need, 2 * len(self.data)), self.data.shape[1]),
                             dtype=np.int64)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : need] = rows
        self.size = need

    def result(self) -> np.ndarray:
        self.data.resize((self.size, self.data.shape[1]), refcheck=False)
        return self.data


def _block_representatives(q: np.ndarray, sig: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct column of ``q``.

    Columns with equal hashes are grouped (in position order) and each group
    member is compared with the group's first; the rare members that differ
    from it (hash collisions) are resolved one group at a time.
    """
    m = sig.size
    order = np.lexsort((np.arange(m), sig))
    sig_sorted = sig[order]
    starts = np.flatnonzero(np.concatenate([[True], sig_sorted[1:] != sig_sorted[:-1]]))
    sizes = np.diff(np.append(starts, m))
    keep = [order[starts]]
    if np.any(sizes > 1):
        group_of = np.repeat(np.arange(starts.size), sizes)
        member = np.ones(m, dtype=bool)
        member[starts] = False  # members after the first of their group
        member &= np.repeat(sizes > 1, sizes)
        others = order[member]
        firsts = order[starts[group_of[member]]]
        same = np.all(q[:, others] == q[:, firsts], axis=0)
        for g in np.unique(group_of[member][~same]):  # hash collisions
            group = order[starts[g] : starts[g] + sizes[g]]
            rest = group[1:][~np.all(q[:, group[1:]] == q[:, group[:1]], axis=0)]
            while rest.size:
                keep.append(rest[:1])
                rest = rest[1:][~np.all(q[:, rest[1:]] == q[:, rest[:1]], axis=0)]
    return np.sort(np.concatenate(keep))


def distinct_candidates(
    blocks: Callable[[], Iterable[np.ndarray]],
    evaluate: Callable[[np.ndarray], np.ndarray],
    n_rows: int,
    width: int,
    max_kept: int,
    rtol: float = 1e-10,
) -> np.ndarray:
    """Digits of the candidates whose columns are distinct and nonzero.

    Columns are compared after rounding to ``rtol`` times the largest
    absolute entry of all candidates; the first candidate (in the order of
    ``blocks``) of every distinct column is kept.

    Parameters
    ----------
    blocks : callable
        Returns a fresh iterator over the candidates' digits, blocks of
        shape (b, width), in enumeration order (called twice).
    evaluate : callable
        The columns of a block of digits, shape (n_rows, b).
    n_rows : int
    width : int
        Digits per candidate.
    max_kept : int
        Most distinct columns allowed.
    rtol : float, default=1e-10

    Returns
    -------
    ndarray of shape (k, width)

    Raises
    ------
    TooManyColumns
        As soon as more than ``max_kept`` columns are distinct.
    """
    scale = 0.0
    for digits in blocks():
        if len(digits):
            a = evaluate(digits)
            scale = max(scale, float(a.max()), -float(a.min()))
    kept = _Digits(width)
    if scale == 0.0:
        return kept.result()
    inv_step = 1.0 / (scale * rtol)
    # Integer arithmetic (wrapping on overflow) makes equal columns give
    # bit-identical hashes, whatever the memory layout.
    proj = np.random.default_rng(0).integers(1, 2**31, size=n_rows)
    hashes = np.empty(0, dtype=np.int64)  # sorted hashes of the kept columns
    owners = np.empty(0, dtype=np.int64)  # kept column of each hash
    for digits in blocks():
        if not len(digits):
            continue
        q = _rounded(evaluate(digits), inv_step)
        nonzero = np.flatnonzero((q.max(axis=0) != 0) | (q.min(axis=0) != 0))
        if nonzero.size == 0:
            continue
        if nonzero.size < q.shape[1]:
            q = q[:, nonzero]
        qi = q.astype(np.int64)
        qi *= proj[:, None]
        sig = qi.sum(axis=0)
        del qi
        reps = _block_representatives(q, sig)
        rep_sig = sig[reps]
        lo = np.searchsorted(hashes, rep_sig, side="left")
        hi = np.searchsorted(hashes, rep_sig, side="right")
        new = np.ones(reps.size, dtype=bool)
        hit = np.flatnonzero(hi > lo)
        if hit.size:
            old = _rounded(evaluate(kept.data[owners[lo[hit]]]), inv_step)
            same = np.all(old == q[:, reps[hit]], axis=0)
            new[hit[same]] = False
            del old
            for i in hit[~same]:  # a hash collision: try the other kept columns
                for owner in owners[lo[i] + 1 : hi[i]]:
                    col = _rounded(evaluate(kept.data[[owner]]), inv_step)[:, 0]
                    if np.array_equal(col, q[:, reps[i]]):
                        new[i] = False
                        break
        fresh = reps[new]
        if kept.size + fresh.size > max_kept:
            raise TooManyColumns(kept.size + fresh.size)
        fresh_sig = rep_sig[new]
        order = np.argsort(fresh_sig, kind="stable")
        at = np.searchsorted(hashes, fresh_sig[order])
        hashes = np.insert(hashes, at, fresh_sig[order])
        owners = np.insert(owners, at, kept.size + order)
        kept.extend(digits[nonzero[fresh]])
    return kept.result()


def fill_matrix(units, x: np.ndarray, block: int) -> np.ndarray:
    """``units.evaluate(x)``, allocated once and filled ``block`` columns at a time."""
    out = np.empty((x.size, len(units)))
    for start in range(0, len(units), block):
        stop = min(start + block, len(units))
        out[:, start:stop] = units.subset(np.arange(start, stop)).evaluate(x)
    return out
