"""Harrell's C (socflow.survival.concordance) against lifelines' concordance_index."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines.utils import concordance_index as lifelines_index

from socflow.survival import concordance


@pytest.mark.parametrize("seed", range(6))
def test_grid_counts_equal_lifelines_with_ties_in_times_and_predictions(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    # Few distinct times and predictions: ties of every kind (death-death, death-censored at
    # one time, equal predictions), as in a design of dummies with follow-up in days.
    time = rng.integers(1, 60, size=n).astype(float)
    predicted = rng.integers(0, 25, size=n) * 0.37 - 2.0
    event = rng.random(n) < 0.4
    got = concordance.concordance_index(time, predicted, event)
    assert got == lifelines_index(time, predicted, event)  # exact: the same integer counts


def test_continuous_predictions_equal_lifelines():
    rng = np.random.default_rng(11)
    time = rng.exponential(100, size=2000).round()
    predicted = rng.normal(size=2000)
    event = rng.random(2000) < 0.5
    assert concordance.concordance_index(time, predicted, event) == lifelines_index(
        time, predicted, event
    )


@pytest.mark.parametrize("cells", [200, 1000, 7919])
def test_grid_counted_in_chunks_of_predictions_equals_lifelines(monkeypatch, cells):
    rng = np.random.default_rng(cells)
    time = rng.integers(1, 50, size=3000).astype(float)
    predicted = rng.integers(0, 400, size=3000) * 0.013
    event = rng.random(3000) < 0.5
    monkeypatch.setattr(concordance, "MAX_GRID_CELLS", cells)  # chunks of 4 to 161 predictions
    assert concordance.concordance_index(time, predicted, event) == lifelines_index(
        time, predicted, event
    )


def test_more_death_times_than_the_grid_falls_back_to_lifelines(monkeypatch):
    rng = np.random.default_rng(3)
    time = rng.integers(1, 40, size=500).astype(float)
    predicted = rng.normal(size=500)
    event = rng.random(500) < 0.5
    monkeypatch.setattr(concordance, "MAX_GRID_CELLS", 10)
    assert concordance.concordance_index(time, predicted, event) == lifelines_index(
        time, predicted, event
    )


def test_no_deaths_is_refused_as_lifelines_does():
    with pytest.raises(ZeroDivisionError):
        concordance.concordance_index(np.array([1.0, 2.0]), np.array([0.1, 0.2]), np.zeros(2))
    with pytest.raises(ZeroDivisionError):
        lifelines_index(np.array([1.0, 2.0]), np.array([0.1, 0.2]), np.zeros(2))
