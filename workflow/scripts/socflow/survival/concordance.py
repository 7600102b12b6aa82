"""Harrell's C of a fitted model: lifelines' definition, counted on a grid in vectorised form.

lifelines (`concordance_index`, used as the reference) walks the persons in order of exit time
with a search tree of earlier deaths' predictions, a Python loop over every person. Its counts
are: for a person dying at t, the deaths before t are comparable; for a person censored at t,
the deaths at or before t are; a comparable death with a lower prediction is a correct pair, an
equal one a tie. The same counts come from cumulative sums over the grid of deaths by distinct
time and distinct prediction, in vectorised form, a chunk of predictions at a time.
"""

from __future__ import annotations

import numpy as np

# Cells of the grid counted at once (distinct death times x a chunk of distinct predictions):
# two int64 arrays of this many cells, 128 MB.
MAX_GRID_CELLS = 8_000_000


def concordance_index(time: np.ndarray, predicted: np.ndarray, event: np.ndarray) -> float:
    """lifelines.utils.concordance_index(time, predicted, event), the same counts exactly.

    The grid of deaths by time (rows) and prediction (columns) is counted a chunk of columns at
    a time, so that memory stays bounded whatever the number of distinct predictions; lifelines
    counts only when the death times alone exceed the grid.
    """
    time = np.asarray(time, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    died = np.asarray(event).astype(bool)
    death_times = np.unique(time[died])
    values = np.unique(predicted[died])
    if (
        not died.any()
        or len(death_times) > MAX_GRID_CELLS
        or np.isnan(time).any()
        or np.isnan(predicted).any()
    ):
        from lifelines.utils import concordance_index as lifelines_index  # noqa: PLC0415

        return float(lifelines_index(time, predicted, died))
    n_times, n_values = len(death_times), len(values)
    width = max(1, min(n_values, MAX_GRID_CELLS // n_times))
    death_row = np.searchsorted(death_times, time[died])
    death_col = np.searchsorted(values, predicted[died])
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
    keep = row >= 0
    row, pred = row[keep], predicted[keep]
    lower = np.searchsorted(values, pred, side="left")  # predictions of deaths strictly below
    exact = (lower < n_values) & (values[np.minimum(lower, n_values - 1)] == pred)
    pairs = np.cumsum(np.bincount(death_row, minlength=n_times))[row].sum()
    correct = 0
    tied = 0
    for first in range(0, n_values, width):
        last = min(first + width, n_values)
        in_chunk = (death_col >= first) & (death_col < last)
        cell = death_row[in_chunk] * (last - first) + (death_col[in_chunk] - first)
        grid = np.bincount(cell, minlength=n_times * (last - first)).reshape(n_times, -1)
        at = grid.cumsum(axis=0)  # deaths at or before the row with each prediction
        below = at.cumsum(axis=1)  # ... with a prediction at or below each
        # Persons whose strictly-lower predictions end in this chunk.
        ends = (lower > first) & (lower <= last)
        q = np.flatnonzero(ends)
        correct += int(below[row[q], lower[q] - first - 1].sum())
        # Persons whose strictly-lower predictions end beyond it take the whole chunk.
        beyond = lower > last
        correct += int(below[row[beyond], -1].sum())
        hit = exact & (lower >= first) & (lower < last)
        tied += int(at[row[hit], lower[hit] - first].sum())
    if pairs == 0:
        raise ZeroDivisionError("No admissable pairs in the dataset.")
    return float((correct + tied / 2) / int(pairs))
