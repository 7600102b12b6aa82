"""socflow.distributions against scipy.stats, bit for bit, on the domains the rules use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from socflow import distributions as d

REPO = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(20130101)
PROBABILITIES = np.r_[RNG.random(2000), 0.5, 0.95, 0.975, 0.995, 1e-300, 1 - 1e-16, 1.0]


def _same(ours, theirs) -> None:
    assert type(ours) is type(theirs)
    assert np.array_equal(ours, theirs, equal_nan=True)


def test_normal_quantile_and_tail_are_scipy_stats_norm():
    _same(d.normal_quantile(np.r_[PROBABILITIES, 0.0]), stats.norm.ppf(np.r_[PROBABILITIES, 0.0]))
    for level in (0.8, 0.9, 0.95, 0.99):
        _same(d.normal_quantile(0.5 + level / 2), stats.norm.ppf(0.5 + level / 2))
    x = np.r_[RNG.normal(0, 5, 2000), 0.0, -0.0, np.inf, -np.inf, np.nan, 40.0]
    _same(d.normal_sf(x), stats.norm.sf(x))
    _same(d.normal_sf(np.abs(x)), stats.norm.sf(np.abs(x)))
    _same(d.normal_sf(1.3), stats.norm.sf(1.3))


@pytest.mark.parametrize("df", [1, 2, 3, 7.0, 40])
def test_chi2_tail_is_scipy_stats_chi2_including_below_the_support(df):
    x = np.r_[RNG.exponential(5, 2000), 0.0, -0.0, -1e-12, -3.0, np.inf, np.nan, 1e4]
    _same(d.chi2_sf(x, df), stats.chi2.sf(x, df))
    _same(d.chi2_sf(3.2, df), stats.chi2.sf(3.2, df))


@pytest.mark.parametrize("df", [1, 2, 5, 30, 1000])
def test_t_quantile_is_scipy_stats_t(df):
    _same(d.t_quantile(PROBABILITIES, df), stats.t.ppf(PROBABILITIES, df))
    _same(d.t_quantile(0.975, df), stats.t.ppf(0.975, df))


def test_average_ranks_are_scipy_rankdata_average():
    for values in (
        RNG.integers(0, 30, 500), RNG.random(100), np.array([3, 3, 3]), np.array([], dtype=float),
        RNG.integers(0, 5, 50).astype(float), np.array([2.0, -1.0, 2.0, np.inf, -np.inf]),
    ):  # fmt: skip
        _same(d.average_ranks(values), stats.rankdata(values, method="average"))
    with pytest.raises(ValueError, match="NaN"):
        d.average_ranks(np.array([1.0, np.nan]))


def test_rules_import_no_scipy_stats():
    """The point of the module: the rules start without scipy.stats (harm's estimation aside),
    and the model rule without statsmodels (its Newton steps are reproduced)."""
    modules = ["socflow.disclose", "socflow.survival.run", "socflow.headline", "socflow.linkage",
               "socflow.custody", "socflow.soc", "socflow.sdc", "socflow.model.run"]  # fmt: skip
    code = (
        f"import sys; import {', '.join(modules)}; "
        "print('scipy.stats' in sys.modules or 'statsmodels' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "workflow" / "scripts")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "False"
