"""Design matrices: one sparse block per term, the stacked design, covariate patterns and
the collinearity check."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.linalg import solve_triangular

from socflow.model.levels import _display_levels
from socflow.model.settings import INTERCEPT

# Relative tolerance of the collinearity check on the cross-product matrix.
COLLINEAR_TOL = 1e-9
# Covariate patterns are numbered by marking their keys in an array of this many flags at most
# (16 MB); beyond, by sorting.
MAX_MARKED_KEYS = 1 << 24


@dataclass(frozen=True)
class PatternDesign:
    """A design reduced to its distinct rows ("covariate patterns"): `matrix` (patterns x
    columns), the pattern of every row (`of_row`), and each pattern's numbers of rows and of
    events. Rows with the same covariates share their fitted probability, so the likelihood,
    the per-cluster scores and the marginal effect are exact sums over patterns."""

    matrix: sp.csr_matrix
    of_row: np.ndarray
    rows: np.ndarray
    events: np.ndarray

    def columns(self, keep: np.ndarray) -> PatternDesign:
        """The same patterns with only the columns `keep` (indices, in order)."""
        return replace(self, matrix=self.matrix[:, keep])


def first_rows(patterns: np.ndarray, n_patterns: int) -> np.ndarray:
    """The first row of every pattern."""
    first = np.full(n_patterns, len(patterns), dtype=np.int64)
    np.minimum.at(first, patterns, np.arange(len(patterns)))
    return first


def collapse_patterns(
    x: sp.csr_matrix, y: np.ndarray, patterns: np.ndarray | None
) -> PatternDesign:
    """Distinct design rows (one per pattern), with their numbers of rows and of events
    (`patterns` None: every row is its own pattern)."""
    n = x.shape[0]
    y = np.asarray(y, dtype=float)
    if patterns is None:
        return PatternDesign(x.tocsr(), np.arange(n), np.ones(n), y)
    n_patterns = int(patterns.max()) + 1
    return PatternDesign(
        x.tocsr()[first_rows(patterns, n_patterns)],
        patterns,
        np.bincount(patterns, minlength=n_patterns).astype(float),
        np.bincount(patterns, weights=y, minlength=n_patterns),
    )


def blocks_pattern_design(
    blocks: list[Block], y: np.ndarray, patterns: np.ndarray | None
) -> tuple[PatternDesign, list[tuple[str, str]]]:
    """`collapse_patterns(stack_blocks(...))` without stacking the blocks' rows: only one row
    of each pattern is stacked (the same matrix, built from far fewer rows)."""
    n = len(y)
    if patterns is None:
        x, names = stack_blocks(n, blocks)
        return collapse_patterns(x, y, None), names
    n_patterns = int(patterns.max()) + 1
    first = first_rows(patterns, n_patterns)
    xu, names = stack_block_rows(first, blocks)
    y = np.asarray(y, dtype=float)
    design = PatternDesign(
        xu,
        patterns,
        np.bincount(patterns, minlength=n_patterns).astype(float),
        np.bincount(patterns, weights=y, minlength=n_patterns),
    )
    return design, names


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

    def take(self, rows: np.ndarray) -> Block:
        """The block of these rows only (a categorical block is rebuilt from its codes)."""
        if self.codes is None:
            return Block(self.matrix[rows], self.names, None)
        return dummies_block(self.codes[rows], self.names)


def dummies_block(codes: np.ndarray, names: list[tuple[str, str]]) -> Block:
    """One dummy column per level code 0..L-1; code -1 (the reference) has none."""
    hit = np.flatnonzero(codes >= 0)
    matrix = sp.csr_matrix(
        (np.ones(len(hit)), (hit, codes[hit])), shape=(len(codes), len(names)), dtype=np.float64
    )
    return Block(matrix, names, codes)


def design_block(
    frame: pl.DataFrame, term: str, reference: str | None, numeric: bool = False
) -> Block:
    """Columns of one term: one dummy per non-reference level (in display order), or the
    numeric values as they are."""
    if numeric:
        values = frame[term].cast(pl.Float64).to_numpy()
        return Block(sp.csr_matrix(values.reshape(-1, 1)), [(term, "")], None)
    levels = [lv for lv in _display_levels(frame, term) if lv != reference]
    codes = (
        frame[term]
        .replace_strict({lv: j for j, lv in enumerate(levels)}, default=-1, return_dtype=pl.Int64)
        .to_numpy()
    )
    return dummies_block(codes, [(term, lv) for lv in levels])


def stack_blocks(n: int, blocks: list[Block]) -> tuple[sp.csr_matrix, list[tuple[str, str]]]:
    """The design matrix of an intercept and these blocks, and its column names."""
    names: list[tuple[str, str]] = [(INTERCEPT, "")]
    for b in blocks:
        names.extend(b.names)
    x = sp.hstack([sp.csr_matrix(np.ones((n, 1))), *[b.matrix for b in blocks]], format="csr")
    return x, names


def stack_block_rows(
    rows: np.ndarray, blocks: list[Block]
) -> tuple[sp.csr_matrix, list[tuple[str, str]]]:
    """`stack_blocks(len(rows), [b.take(rows) for b in blocks])`, the same matrix (data,
    indices and row pointers), written directly: every block has at most one value per row,
    so a row's values are the intercept, then each block's value in block order."""
    n = len(rows)
    names: list[tuple[str, str]] = [(INTERCEPT, "")]
    # One slot per row and block (the intercept first), filled in place, row-major: the stored
    # slots in order are the CSR values.
    columns = np.zeros((n, len(blocks) + 1), dtype=np.int64)
    stored = np.ones((n, len(blocks) + 1), dtype=bool)
    values: np.ndarray | None = None
    offset = 1
    for i, b in enumerate(blocks, start=1):
        names.extend(b.names)
        if b.codes is not None:
            codes = b.codes[rows]
            np.add(codes, offset, out=columns[:, i])
            np.greater_equal(codes, 0, out=stored[:, i])
        else:
            # A numeric column as a sparse matrix stores its non-zero values only.
            if values is None:
                values = np.ones((n, len(blocks) + 1))
            values[:, i] = b.matrix[rows].toarray().ravel()
            columns[:, i] = offset
            np.not_equal(values[:, i], 0, out=stored[:, i])
        offset += b.width
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(stored.sum(axis=1), out=indptr[1:])
    data = np.ones(int(indptr[-1])) if values is None else values[stored]
    matrix = sp.csr_matrix((data, columns[stored], indptr), shape=(n, offset))
    return matrix, names


def pattern_index(blocks: list[Block]) -> np.ndarray | None:
    """Covariate pattern of every row (0..P-1) from the blocks' level codes; None when a
    numeric term makes (nearly) every row its own pattern."""
    if not blocks or any(b.codes is None for b in blocks):
        return None
    if math.prod(b.width + 1 for b in blocks) >= 2**62:
        stacked = np.column_stack([b.codes for b in blocks])
        return np.unique(stacked, axis=0, return_inverse=True)[1].ravel()
    # Mixed radix: digits are level codes + 1 (0 = reference), radices the level counts; the
    # patterns are numbered in order of that key (`np.unique`'s inverse), one block at a time:
    # the patterns so far, extended by the next block's digit, are numbered by marking the
    # keys present (no sort of the rows while the keys are few).
    pattern = np.zeros(len(blocks[0].codes), dtype=np.int64)
    count = 1
    for b in blocks:
        radix = b.width + 1
        key = pattern * radix + (b.codes + 1)
        if count * radix <= MAX_MARKED_KEYS:
            present = np.zeros(count * radix, dtype=bool)
            present[key] = True
            number = np.cumsum(present) - 1
            pattern, count = number[key], int(number[-1]) + 1
        else:
            distinct, pattern = np.unique(key, return_inverse=True)
            pattern, count = pattern.ravel(), len(distinct)
    return pattern


@dataclass(frozen=True)
class Patterns:
    """Covariate patterns of some blocks: every row's pattern (None when a numeric term makes
    every row its own) and how many there are."""

    of_row: np.ndarray | None
    count: int


def covariate_patterns(blocks: list[Block], n: int) -> Patterns:
    """The patterns of these blocks over `n` rows (no blocks: one pattern), computed once and
    extended by `with_leading_block` for each SOC definition."""
    if not blocks:
        return Patterns(np.zeros(n, dtype=np.int64), 1)
    inverse = pattern_index(blocks)
    return Patterns(inverse, 0 if inverse is None else int(inverse.max()) + 1)


def with_leading_block(block: Block, rest: Patterns) -> np.ndarray | None:
    """`pattern_index([block, *rest_blocks])` from the patterns of the rest: the same numbering
    (patterns sorted by the leading block's code, then by the rest's pattern), without sorting
    the rows again."""
    if block.codes is None or rest.of_row is None:
        return None
    key = (block.codes + 1) * rest.count + rest.of_row
    present = np.zeros((block.width + 1) * rest.count, dtype=bool)
    present[key] = True
    return (np.cumsum(present) - 1)[key]


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
