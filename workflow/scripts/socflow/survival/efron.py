"""The Cox partial likelihood with Efron (or Breslow) ties, in vectorised form.

Everything the fit, the robust variance and the proportional-hazards test need comes from one
pass over the rows sorted by stratum and descending time, with cumulative sums, so that the cost
is O(n log n + n p^2) and never quadratic in the number of persons.

Notation, per stratum and distinct event time k with d_k events: S0, S1 the sums of r = exp(x'b)
and r x over the risk set (time >= t_k), D0, D1 the same sums over the d_k events. Efron's
approximation replaces the risk set by d_k weighted copies l = 0..d_k-1 with the events
down-weighted by l/d_k: denominator S0 - (l/d_k) D0 and mean (S1 - (l/d_k) D1) / denominator.
Breslow's uses l/d_k = 0. An event at t_k thus belongs to copy l of its own time with weight
1 - l/d_k, every other member of the risk set with weight 1.

Score residuals (Therneau, Grambsch and Fleming 1990, Efron form as R's `coxph`): for row i,
    U_i = delta_i (x_i - mean-bar_k(i)) - r_i sum_{k, l} w_ikl (x_i - mean_kl) / denominator_kl
with mean-bar_k the average of the d_k copies' means and w_ikl the weight above. Their sum is the
score; their cluster sums give the sandwich variance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse

TIES = ("efron", "breslow")


class CoxConvergenceError(RuntimeError):
    """Newton-Raphson did not reach the tolerance (separation, collinearity or too few steps)."""


@dataclass(frozen=True)
class RiskSets:
    """The sort order and tie blocks of (stratum, time), shared by every evaluation.

    Rows sorted by stratum, then descending time; a block is one (stratum, time). Blocks are
    numbered in that sorted order.
    """

    order: np.ndarray  # sorted position -> original row
    block_start: np.ndarray  # block -> sorted position of its first row
    row_block: np.ndarray  # original row -> block
    block_end: np.ndarray  # block -> sorted position of its last row
    block_stratum: np.ndarray  # block -> stratum code
    block_time: np.ndarray  # block -> time
    events: np.ndarray  # original row -> 1.0 / 0.0
    block_events: np.ndarray  # block -> number of events d_k
    event_rows: np.ndarray  # original rows of the events, sorted by block
    event_block: np.ndarray  # block of each event row (non-decreasing)
    event_fraction: np.ndarray  # l / d_k for each event row (0 for Breslow)
    event_starts: np.ndarray  # position of the first event of each block with events
    blocks_with_events: np.ndarray  # those blocks

    def block_sums(self, values: np.ndarray) -> np.ndarray:
        """Sums of per-event `values` (rows in event order) per block, zero without events."""
        shape = (len(self.block_end), *values.shape[1:])
        out = np.zeros(shape)
        if len(self.event_starts):
            out[self.blocks_with_events] = np.add.reduceat(values, self.event_starts, axis=0)
        return out


def risk_sets(
    time: np.ndarray, event: np.ndarray, strata: np.ndarray | None = None, ties: str = "efron"
) -> RiskSets:
    """Sort once: blocks of equal (stratum, time) and each event's Efron copy fraction."""
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    time = np.asarray(time, dtype=float)
    events = np.asarray(event, dtype=float)
    strata = np.zeros(len(time), dtype=np.int64) if strata is None else np.asarray(strata)
    order = _stratum_time_order(time, strata)
    t, st = time[order], strata[order]
    new_block = np.r_[True, (t[1:] != t[:-1]) | (st[1:] != st[:-1])]
    block_sorted = np.cumsum(new_block) - 1
    n_blocks = int(block_sorted[-1]) + 1 if len(t) else 0
    block_end = np.r_[np.flatnonzero(new_block[1:]), len(t) - 1] if len(t) else np.array([], int)
    row_block = np.empty(len(time), dtype=np.int64)
    row_block[order] = block_sorted
    block_events = np.bincount(block_sorted, weights=events[order], minlength=n_blocks)
    sorted_events = order[events[order] > 0]
    event_block = row_block[sorted_events]
    # Copy index l = 0..d_k-1 of each event within its block (the order among ties is immaterial:
    # only the set of fractions l / d_k enters).
    first_of_block = np.r_[True, event_block[1:] != event_block[:-1]]
    start = np.flatnonzero(first_of_block)
    position = np.arange(len(event_block)) - np.repeat(
        start, np.diff(np.r_[start, len(event_block)])
    )
    fraction = position / block_events[event_block] if ties == "efron" else np.zeros(len(position))
    return RiskSets(
        order=order,
        block_start=np.r_[0, block_end[:-1] + 1] if len(t) else np.array([], int),
        row_block=row_block,
        block_end=block_end,
        block_stratum=st[block_end] if len(t) else st,
        block_time=t[block_end] if len(t) else t,
        events=events,
        block_events=block_events,
        event_rows=sorted_events,
        event_block=event_block,
        event_fraction=fraction,
        event_starts=start,
        blocks_with_events=event_block[start],
    )


def _stratum_time_order(time: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """`np.lexsort((-time, strata))`: rows by stratum, then descending time, ties in row order.

    Whole-number times (days) and integer strata make one integer key, sorted stably: the same
    permutation, in about half the time of sorting by two keys.
    """
    if len(time) and strata.dtype.kind in "iu" and np.array_equal(time, np.floor(time)):
        low, high = time.min(), time.max()
        stratum = strata.astype(np.int64) - int(strata.min())
        span = int(high - low) + 1
        if (int(stratum.max()) + 1) * span < 2**62:
            key = stratum * span + (high - time).astype(np.int64)
            return np.argsort(key, kind="stable")
    return np.lexsort((-time, strata))


def _stratum_cumsum(values: np.ndarray, stratum: np.ndarray) -> np.ndarray:
    """Cumulative sum along axis 0 restarting where `stratum` changes (rows grouped by it)."""
    csum = np.cumsum(values, axis=0)
    if len(stratum) == 0:
        return csum
    first = np.flatnonzero(np.r_[True, stratum[1:] != stratum[:-1]])
    start = np.repeat(first, np.diff(np.r_[first, len(stratum)]))
    before = np.where(start > 0, 1.0, 0.0)
    previous = csum[np.maximum(start - 1, 0)]
    if values.ndim == 2:
        return csum - previous * before[:, None]
    return csum - previous * before


def _ascending_cumsum(rs: RiskSets, block_values: np.ndarray) -> np.ndarray:
    """Per block, the sum over its stratum's blocks at or before its time."""
    rev = np.arange(len(rs.block_end))[::-1]
    return _stratum_cumsum(block_values[rev], rs.block_stratum[rev])[rev]


@dataclass(frozen=True)
class RowPatterns:
    """The distinct rows of a design and which one each row is.

    A design of dummies has far fewer distinct rows than persons, so X' diag(w) X is computed
    on the distinct rows with their summed weights: the cost of the information matrix falls
    from n p^2 to n + k p^2 (k distinct rows).
    """

    index: np.ndarray  # row -> pattern
    rows: np.ndarray  # pattern -> the row's values

    def crossprod(self, weight: np.ndarray) -> np.ndarray:
        """X' diag(weight) X, symmetric."""
        summed = np.bincount(self.index, weights=weight, minlength=len(self.rows))
        return _weighted_crossprod(self.rows, summed)


def row_patterns(x: np.ndarray, max_share: float = 0.5) -> RowPatterns | None:
    """The distinct rows of `x`, or None when they exceed `max_share` of the rows (no gain).

    Rows are keyed by an exact integer hash of their bit patterns; the grouping is then checked
    element by element, so a hash collision falls back to None rather than merging rows.
    """
    x = np.ascontiguousarray(x, dtype=float)
    if x.ndim != 2 or len(x) == 0:
        return None
    _, first, index = np.unique(_row_keys(x), return_index=True, return_inverse=True)
    if len(first) > max_share * len(x):
        return None
    rows = x[first]
    index = index.reshape(-1)
    # Checked a slice of rows at a time: no n x p copy of the design.
    for at in range(0, len(x), _KEY_ROWS):
        if not np.array_equal(rows[index[at : at + _KEY_ROWS]], x[at : at + _KEY_ROWS]):
            return None
    return RowPatterns(index=index, rows=rows)


def column_patterns(patterns: RowPatterns, columns: np.ndarray) -> RowPatterns:
    """`row_patterns(x[:, columns])` from the patterns of `x`, without a pass over its rows.

    The distinct rows of a column subset are the distinct subsets of the distinct rows, found
    and numbered as `row_patterns` would (same keys, same order), so the result is the same
    object, bit for bit.
    """
    sub = np.ascontiguousarray(patterns.rows[:, columns])
    _, first, inverse = np.unique(_row_keys(sub), return_index=True, return_inverse=True)
    rows = sub[first]
    if not np.array_equal(rows[inverse], sub):  # a key collision: never merge distinct rows
        raise ValueError("column_patterns: distinct rows share a key; use row_patterns")
    return RowPatterns(index=inverse.reshape(-1)[patterns.index], rows=rows)


# Rows hashed (and checked) at a time: a slice's columns, transposed, stay in the CPU's cache.
_KEY_ROWS = 2048


def _row_keys(x: np.ndarray) -> np.ndarray:
    """An integer hash of each row's bit pattern (FNV-style), for grouping equal rows.

    key = (...((0 * M ^ b_0) * M ^ b_1) ...) * M ^ b_{p-1} over the row's 64-bit words b_j,
    in integer arithmetic modulo 2^64 (exact, so any evaluation order gives the same keys).
    """
    bits = np.ascontiguousarray(x).view(np.uint64)
    keys = np.zeros(len(x), dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    with np.errstate(over="ignore"):
        for at in range(0, len(x), _KEY_ROWS):
            columns = np.ascontiguousarray(bits[at : at + _KEY_ROWS].T)
            key = keys[at : at + _KEY_ROWS]
            for word in columns:
                key *= prime
                key ^= word
    return keys


def _crossprod(x: np.ndarray, weight: np.ndarray, patterns: RowPatterns | None) -> np.ndarray:
    return _weighted_crossprod(x, weight) if patterns is None else patterns.crossprod(weight)


@dataclass(frozen=True)
class SparseDesign:
    """A design of dummies as a sparse matrix of its uncentred values, x = matrix - centre.

    Most entries of a dummy design are zero, so the per-row work of an evaluation (the linear
    predictor, the risk-weighted block sums) is done on the non-zero entries only and centred
    afterwards: sum_i r_i (X_i - c) = sum_i r_i X_i - c sum_i r_i. The centred results equal the
    dense ones up to rounding (relative 1e-13 in the fitted coefficients and variances).

    Each row lies in exactly one (stratum, time) block, so the block sums of w_i X_i are one
    weighted count of the non-zero entries by (block, column) cell. The entries are kept in
    ascending row order (canonical CSR), so each cell accumulates its rows in ascending order:
    the same additions in the same order as the product of a blocks x rows indicator matrix
    with the CSR design, bit for bit.
    """

    matrix: sparse.csr_matrix  # n x p, uncentred
    centre: np.ndarray  # p
    entry_row: np.ndarray  # row of each non-zero entry, ascending
    entry_cell: np.ndarray  # its (block, column) cell: block * p + column
    event_entries: np.ndarray  # positions of the entries of event rows, ascending
    n_blocks: int
    event_sum: np.ndarray  # p: sum of the centred event rows

    def block_sums(self, weight: np.ndarray) -> np.ndarray:
        """Per block, the sum of weight_i X_i (uncentred) over its rows: blocks x p."""
        return self._cell_sums(self.entry_row, self.entry_cell, self.matrix.data, weight)

    def event_block_sums(self, weight: np.ndarray) -> np.ndarray:
        """Per block, the sum of weight_i X_i (uncentred) over its event rows: blocks x p."""
        at = self.event_entries
        return self._cell_sums(
            self.entry_row[at], self.entry_cell[at], self.matrix.data[at], weight
        )

    def _cell_sums(self, row, cell, value, weight) -> np.ndarray:
        p = self.matrix.shape[1]
        sums = np.bincount(cell, weights=weight[row] * value, minlength=self.n_blocks * p)
        return sums.reshape(self.n_blocks, p)


def sparse_design(rs: RiskSets, x: np.ndarray, centre: np.ndarray) -> SparseDesign | None:
    """`x` (uncentred) as a SparseDesign over the risk sets `rs`, or None when at least a
    quarter of its entries are non-zero (no gain)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.size == 0 or np.count_nonzero(x) > 0.25 * x.size:
        return None
    n, p = x.shape
    # Canonical CSR (entries by row, then column: the summation order), built from the
    # positions of the non-zero values in the row-major array.
    values = np.ascontiguousarray(x).ravel()
    at = np.flatnonzero(values)
    entry_row = at // p
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(entry_row, minlength=n), out=indptr[1:])
    matrix = sparse.csr_matrix((values[at], at - entry_row * p, indptr), shape=(n, p))
    entry_cell = rs.row_block[entry_row] * p + matrix.indices
    event_entries = np.flatnonzero(rs.events[entry_row] > 0)
    ev = rs.event_rows
    event_sum = np.asarray(matrix[ev].sum(axis=0)).ravel() - len(ev) * centre
    return SparseDesign(
        matrix=matrix,
        centre=np.asarray(centre, dtype=float),
        entry_row=entry_row,
        entry_cell=entry_cell,
        event_entries=event_entries,
        n_blocks=len(rs.block_end),
        event_sum=event_sum,
    )


def _sparse_crossprod(d: SparseDesign, weight: np.ndarray) -> np.ndarray:
    """x' diag(weight) x of the centred design, from the sparse uncentred one."""
    raw = (d.matrix.T @ d.matrix.multiply(weight[:, None])).toarray()
    xw = d.matrix.T @ weight
    c = d.centre
    out = raw - np.outer(c, xw) - np.outer(xw, c) + weight.sum() * np.outer(c, c)
    return (out + out.T) / 2


@dataclass(frozen=True)
class Evaluation:
    """The partial likelihood and its pieces at one coefficient vector.

    Per (stratum, time) block k: S1 and D1 (risk-set and event sums of r x) and the sums over the
    block's Efron copies l of 1/den, f/den, 1/den^2, f/den^2 and f^2/den^2 (f = l/d_k, den the
    copy's denominator). Every sum over copies of the copy means, mean_l = (S1 - f D1) / den,
    follows from these without forming one p-vector per event.
    """

    log_likelihood: float
    score: np.ndarray  # p
    information: np.ndarray  # p x p (minus the Hessian)
    risk: np.ndarray  # exp(x'b), per row
    s1: np.ndarray  # blocks x p
    d1: np.ndarray  # blocks x p
    inv: np.ndarray  # per block: sum_l 1 / den
    frac_inv: np.ndarray  # per block: sum_l f / den
    inv2: np.ndarray  # per block: sum_l 1 / den^2
    frac_inv2: np.ndarray  # per block: sum_l f / den^2
    frac2_inv2: np.ndarray  # per block: sum_l f^2 / den^2
    cum_a: np.ndarray  # per row: sum over its risk sets and copies of w / den
    patterns: RowPatterns | None = None  # the design's distinct rows, when worth using

    def copy_mean_sums(self) -> np.ndarray:
        """Per block: sum over its copies of the copy mean."""
        return self.s1 * self.inv[:, None] - self.d1 * self.frac_inv[:, None]

    def mean_outer(self, block_weight: np.ndarray | None = None) -> np.ndarray:
        """sum_k w_k sum_l mean_l mean_l' (w = 1 without weights)."""
        w = np.ones(len(self.inv)) if block_weight is None else block_weight
        s1, d1 = self.s1, self.d1
        cross = (s1 * (w * self.frac_inv2)[:, None]).T @ d1
        out = (s1 * (w * self.inv2)[:, None]).T @ s1 - cross - cross.T
        return out + (d1 * (w * self.frac2_inv2)[:, None]).T @ d1


def evaluate(
    rs: RiskSets,
    x: np.ndarray,
    beta: np.ndarray,
    patterns: RowPatterns | None = None,
    design: SparseDesign | None = None,
) -> Evaluation:
    """Log partial likelihood, score, information and the cumulative terms at `beta`.

    `x` should be centred (the caller's business: centring changes nothing but rounding) and
    row-major (`np.ascontiguousarray`): the row gathers are several times slower otherwise.
    `patterns` (`row_patterns(x)`) make the information matrix cheap for a design of dummies;
    `design` (`sparse_design`: the same x, uncentred and sparse) makes the per-row work cheap.
    """
    ev = rs.event_rows
    kb = rs.event_block
    if design is None:
        x = np.asarray(x, dtype=float)
        eta = x @ beta
        risk = np.exp(eta)
        xr = x * risk[:, None]
        block_r = np.add.reduceat(risk[rs.order], rs.block_start)
        block_rx = np.add.reduceat(xr[rs.order], rs.block_start, axis=0)
        d0 = rs.block_sums(risk[ev])
        d1 = rs.block_sums(xr[ev])
    else:
        eta = design.matrix @ beta - design.centre @ beta
        risk = np.exp(eta)
        block_r = np.add.reduceat(risk[rs.order], rs.block_start)
        c = design.centre
        block_rx = design.block_sums(risk) - np.outer(block_r, c)
        d0 = rs.block_sums(risk[ev])
        d1 = design.event_block_sums(risk) - np.outer(d0, c)
    s0 = _stratum_cumsum(block_r, rs.block_stratum)
    s1 = _stratum_cumsum(block_rx, rs.block_stratum)
    frac = rs.event_fraction
    denom = s0[kb] - frac * d0[kb]
    inv = 1.0 / denom
    inv2 = inv * inv
    sums = {
        "inv": rs.block_sums(inv),
        "frac_inv": rs.block_sums(frac * inv),
        "inv2": rs.block_sums(inv2),
        "frac_inv2": rs.block_sums(frac * inv2),
        "frac2_inv2": rs.block_sums(frac * frac * inv2),
    }
    cum_a = (
        _ascending_cumsum(rs, sums["inv"])[rs.row_block]
        - rs.events * sums["frac_inv"][rs.row_block]
    )
    partial = Evaluation(
        log_likelihood=float(eta[ev].sum() - np.log(denom).sum()),
        score=np.zeros(x.shape[1]),
        information=np.zeros((x.shape[1], x.shape[1])),
        risk=risk,
        s1=s1,
        d1=d1,
        cum_a=cum_a,
        patterns=patterns,
        **sums,
    )
    event_sum = x[ev].sum(0) if design is None else design.event_sum
    score = event_sum - partial.copy_mean_sums().sum(0)
    if design is not None and patterns is None:
        crossprod = _sparse_crossprod(design, risk * cum_a)
    else:
        crossprod = _crossprod(x, risk * cum_a, patterns)
    information = crossprod - partial.mean_outer()
    return replace(partial, score=score, information=information)


def time_weighted_information(
    rs: RiskSets, x: np.ndarray, ev: Evaluation, block_weight: np.ndarray
) -> np.ndarray:
    """sum_k w_k I_k: the information with each event time's contribution weighted by w_k."""
    cum_a = (
        _ascending_cumsum(rs, ev.inv * block_weight)[rs.row_block]
        - rs.events * (ev.frac_inv * block_weight)[rs.row_block]
    )
    return _crossprod(x, ev.risk * cum_a, ev.patterns) - ev.mean_outer(block_weight)


def block_scores(rs: RiskSets, x: np.ndarray, ev: Evaluation) -> np.ndarray:
    """Score contribution of each (stratum, time) block: sum of event x minus the copies' means."""
    return rs.block_sums(x[rs.event_rows]) - ev.copy_mean_sums()


def score_residuals_from(rs: RiskSets, x: np.ndarray, ev: Evaluation) -> np.ndarray:
    """Score residuals U_i (one row per observation), consistent with the ties of `rs`.

    Counted a slice of rows at a time: no n x p temporaries, only the result.
    """
    c = ev.s1 * ev.inv2[:, None] - ev.d1 * ev.frac_inv2[:, None]  # sum_l mean_l / den_l
    e = ev.s1 * ev.frac_inv2[:, None] - ev.d1 * ev.frac2_inv2[:, None]  # sum_l f mean_l / den_l
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_bar = np.where(
            rs.block_events[:, None] > 0, ev.copy_mean_sums() / rs.block_events[:, None], 0.0
        )
    later_c = _ascending_cumsum(rs, c)
    out = np.empty(x.shape)
    for at in range(0, len(x), _RESIDUAL_ROWS):
        rows = slice(at, at + _RESIDUAL_ROWS)
        block = rs.row_block[rows]
        delta = rs.events[rows, None]
        xs = x[rows]
        cum_c = later_c[block] - delta * e[block]
        at_risk = ev.risk[rows, None] * (xs * ev.cum_a[rows, None] - cum_c)
        out[rows] = delta * (xs - mean_bar[block]) - at_risk
    return out


# Rows of score residuals counted at once: a few hundred kB of temporaries each.
_RESIDUAL_ROWS = 4096


@dataclass(frozen=True)
class CoxSolution:
    """Coefficients at the maximum of the partial likelihood, and how they were reached."""

    beta: np.ndarray
    variance: np.ndarray  # inverse information (model-based)
    log_likelihood: float
    log_likelihood_null: float
    iterations: int
    max_step: float  # largest |Newton step| at the last iteration
    scaled_gradient: float  # sqrt(U' I^-1 U) at the returned beta
    evaluation: Evaluation


def newton_raphson(
    rs: RiskSets,
    x: np.ndarray,
    initial: np.ndarray | None = None,
    tolerance: float = 1e-9,
    max_iterations: int = 50,
    design: SparseDesign | None = None,
    patterns: RowPatterns | str | None = "find",
) -> CoxSolution:
    """Maximise the partial likelihood by Newton-Raphson with step halving.

    Stops when every component of the Newton step is at most `tolerance` * (1 + |beta_j|), after
    taking that last step; Newton's quadratic convergence then leaves the coefficients within
    about the square of the tolerance of the maximum whatever the start. Raises
    CoxConvergenceError when the tolerance is not reached in `max_iterations` steps. `design`
    (`sparse_design` of the uncentred x) does each evaluation on the non-zero entries.
    `patterns` are `row_patterns(x)`, found here unless given (None: not used).
    """
    x = np.ascontiguousarray(x, dtype=float)
    p = x.shape[1]
    if isinstance(patterns, str):
        patterns = row_patterns(x)
    beta = np.zeros(p) if initial is None else np.asarray(initial, dtype=float).copy()
    null = evaluate(rs, x, np.zeros(p), patterns, design).log_likelihood
    ev = evaluate(rs, x, beta, patterns, design)
    if initial is not None and ev.log_likelihood < null:
        beta = np.zeros(p)
        ev = evaluate(rs, x, beta, patterns, design)
    step_size = np.inf
    for iteration in range(1, max_iterations + 1):
        step = _solve(ev.information, ev.score)
        step_size = float(np.max(np.abs(step) / (1.0 + np.abs(beta)))) if p else 0.0
        candidate = beta + step
        trial = evaluate(rs, x, candidate, patterns, design)
        halvings = 0
        while not np.isfinite(trial.log_likelihood) or (
            trial.log_likelihood < ev.log_likelihood - 1e-12 * abs(ev.log_likelihood)
        ):
            if halvings == 30:
                raise CoxConvergenceError("Cox fit: step halving failed to raise the likelihood")
            candidate = (beta + candidate) / 2
            trial = evaluate(rs, x, candidate, patterns, design)
            halvings += 1
        beta, ev = candidate, trial
        if step_size <= tolerance:
            variance = _inverse(ev.information)
            return CoxSolution(
                beta=beta,
                variance=variance,
                log_likelihood=ev.log_likelihood,
                log_likelihood_null=null,
                iterations=iteration,
                max_step=step_size,
                scaled_gradient=float(np.sqrt(max(ev.score @ variance @ ev.score, 0.0))),
                evaluation=ev,
            )
    raise CoxConvergenceError(
        f"Cox fit did not converge in {max_iterations} Newton steps (last relative step "
        f"{step_size:.3g} > {tolerance:g}): check for separation or collinear terms"
    )


def _weighted_crossprod(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """X' diag(weight) X, symmetric."""
    out = x.T @ (x * weight[:, None])
    return (out + out.T) / 2


def _solve(information: np.ndarray, score: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(information, score)
    except np.linalg.LinAlgError as exc:
        raise CoxConvergenceError(
            "Cox fit: the information matrix is singular (collinear or empty terms)"
        ) from exc


def _inverse(information: np.ndarray) -> np.ndarray:
    inverse = np.linalg.inv(information)
    return (inverse + inverse.T) / 2
