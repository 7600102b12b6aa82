"""Harrell's C of a fitted model: lifelines' definition, counted on a grid when it is small.

lifelines (`concordance_index`, used as the reference) walks the persons in order of exit time
with a search tree of earlier deaths' predictions, a Python loop over every person. Its counts
are: for a person dying at t, the deaths before t are comparable; for a person censored at t,
the deaths at or before t are; a comparable death with a lower prediction is a correct pair, an
equal one a tie. When the deaths' distinct times x distinct predictions make a small grid (a
design of dummies has few distinct linear predictors), the same counts come from cumulative
sums over that grid, in vectorised form; otherwise lifelines counts them.
"""

from __future__ import annotations

import numpy as np

# The largest grid (distinct death times x distinct death predictions) counted in memory:
# two int64 arrays of this many cells, 320 MB.
MAX_GRID_CELLS = 20_000_000


def concordance_index(time: np.ndarray, predicted: np.ndarray, event: np.ndarray) -> float:
    """lifelines.utils.concordance_index(time, predicted, event), the same counts exactly."""
    time = np.asarray(time, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    died = np.asarray(event).astype(bool)
    death_times = np.unique(time[died])
    values = np.unique(predicted[died])
    if (
        not died.any()
        or len(death_times) * len(values) > MAX_GRID_CELLS
        or np.isnan(time).any()
        or np.isnan(predicted).any()
    ):
        from lifelines.utils import concordance_index as lifelines_index  # noqa: PLC0415

        return float(lifelines_index(time, predicted, died))
    n_values = len(values)
    cell = np.searchsorted(death_times, time[died]) * n_values + np.searchsorted(
        values, predicted[died]
    )
    grid = np.bincount(cell, minlength=len(death_times) * n_values).reshape(-1, n_values)
    # at[t, v]: deaths at or before the t-th death time with prediction values[v];
    # below[t, v]: the same with a prediction at or below values[v].
    at = grid.cumsum(axis=0)
    below = at.cumsum(axis=1)
    # The deaths comparable with each person: death times strictly before a death, at or
    # before a censoring; row -1 means none.
    row = (
        np.where(
            died,
            np.searchsorted(death_times, time, side="left"),
            np.searchsorted(death_times, time, side="right"),
        )
        - 1
    )
    has_pool = row >= 0
    row, pred = row[has_pool], predicted[has_pool]
    lower = np.searchsorted(values, pred, side="left")  # values strictly below pred
    pairs = below[row, n_values - 1].sum()
    correct = np.where(lower > 0, below[row, np.maximum(lower - 1, 0)], 0).sum()
    exact = (lower < n_values) & (values[np.minimum(lower, n_values - 1)] == pred)
    tied = np.where(exact, at[row, np.minimum(lower, n_values - 1)], 0).sum()
    if pairs == 0:
        raise ZeroDivisionError("No admissable pairs in the dataset.")
    return float((int(correct) + int(tied) / 2) / int(pairs))
