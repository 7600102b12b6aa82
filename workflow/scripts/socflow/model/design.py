"""Design matrices: one sparse block per term, the stacked design, covariate patterns and
the collinearity check."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.linalg import solve_triangular

from socflow.model.levels import _display_levels
from socflow.model.settings import INTERCEPT

# Relative tolerance of the collinearity check on the cross-product matrix.
COLLINEAR_TOL = 1e-9


def collapse_patterns(
    x: sp.csr_matrix, y: np.ndarray, patterns: np.ndarray | None
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Distinct design rows (one per pattern), with their numbers of rows and of events."""
    n = x.shape[0]
    if patterns is None:
        return x.tocsr(), np.ones(n), np.asarray(y, dtype=float)
    n_patterns = int(patterns.max()) + 1
    first = np.full(n_patterns, n, dtype=np.int64)
    np.minimum.at(first, patterns, np.arange(n))
    rows = np.bincount(patterns, minlength=n_patterns).astype(float)
    events = np.bincount(patterns, weights=y, minlength=n_patterns)
    return x.tocsr()[first], rows, events


@dataclass(frozen=True)
class Block:
    """The design columns of one term, and each row's level code (-1: the reference level;
    None for a numeric term)."""

    matrix: sp.csr_matrix
    names: list[tuple[str, str]]
    codes: np.ndarray | None

    @property
    def width(self) -> int:
        return self.matrix.shape[1]


def design_block(
    frame: pl.DataFrame, term: str, reference: str | None, numeric: bool = False
) -> Block:
    """Columns of one term: one dummy per non-reference level (in display order), or the
    numeric values as they are."""
    n = frame.height
    if numeric:
        values = frame[term].cast(pl.Float64).to_numpy()
        return Block(sp.csr_matrix(values.reshape(-1, 1)), [(term, "")], None)
    levels = [lv for lv in _display_levels(frame, term) if lv != reference]
    codes = (
        frame[term]
        .replace_strict({lv: j for j, lv in enumerate(levels)}, default=-1, return_dtype=pl.Int64)
        .to_numpy()
    )
    hit = np.flatnonzero(codes >= 0)
    matrix = sp.csr_matrix(
        (np.ones(len(hit)), (hit, codes[hit])), shape=(n, len(levels)), dtype=np.float64
    )
    return Block(matrix, [(term, lv) for lv in levels], codes)


def stack_blocks(n: int, blocks: list[Block]) -> tuple[sp.csr_matrix, list[tuple[str, str]]]:
    """The design matrix of an intercept and these blocks, and its column names."""
    names: list[tuple[str, str]] = [(INTERCEPT, "")]
    for b in blocks:
        names.extend(b.names)
    x = sp.hstack([sp.csr_matrix(np.ones((n, 1))), *[b.matrix for b in blocks]], format="csr")
    return x, names


def pattern_index(blocks: list[Block]) -> np.ndarray | None:
    """Covariate pattern of every row (0..P-1) from the blocks' level codes; None when a
    numeric term makes (nearly) every row its own pattern."""
    if not blocks or any(b.codes is None for b in blocks):
        return None
    if math.prod(b.width + 1 for b in blocks) >= 2**62:
        stacked = np.column_stack([b.codes for b in blocks])
        return np.unique(stacked, axis=0, return_inverse=True)[1].ravel()
    key = np.zeros(len(blocks[0].codes), dtype=np.int64)
    for b in blocks:
        # Mixed radix: digits are level codes + 1 (0 = reference), radices the level counts.
        key = key * (b.width + 1) + (b.codes + 1)
    _, inverse = np.unique(key, return_inverse=True)
    return inverse


def independent_columns(gram: np.ndarray, tol: float = COLLINEAR_TOL) -> np.ndarray:
    """Columns kept, in order, while each adds something the earlier kept ones do not span
    (incremental Cholesky of the cross-product matrix); empty columns are dropped."""
    k = gram.shape[0]
    keep = np.zeros(k, dtype=bool)
    chol = np.zeros((k, k))
    m = 0
    for j in range(k):
        gjj = gram[j, j]
        if gjj <= 0:
            continue
        kept = np.flatnonzero(keep)
        z = solve_triangular(chol[:m, :m], gram[kept, j], lower=True) if m else np.zeros(0)
        resid = gjj - float(z @ z)
        if resid > tol * gjj:
            chol[m, :m] = z
            chol[m, m] = math.sqrt(resid)
            keep[j] = True
            m += 1
    return keep
