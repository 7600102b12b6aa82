"""socflow.establishments panel models against R (fixtures in tests/data/establishments_r/).

The fixtures were made by tests/fixtures/r/establishments_reference.R (`make fixtures`) with
R 4.2.2: glm (poisson; negative.binomial with theta = 1 / alpha at the moment estimate) and
sandwich::vcovCL clustered by establishment (HC1 with the G/(G-1) adjustment, which is what
statsmodels' cluster covariance with its small-sample correction computes). Required
agreement: relative 1e-6 on the SOC-share coefficient, its clustered standard error and the
dispersion.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from socflow.establishments import EstablishmentSettings, fit_panel

FIXTURES = Path(__file__).resolve().parent / "data" / "establishments_r"
RTOL = 1e-6


def _read(name: str) -> pl.DataFrame:
    return pl.read_csv(FIXTURES / name, comment_prefix="#", null_values=["NA", ""])


def test_fixtures_say_how_they_were_made():
    for name in ("data.csv", "coefficients.csv"):
        head = (FIXTURES / name).read_text().splitlines()[0]
        assert head.startswith("# made by tests/fixtures/r/establishments_reference.R with R")


def test_poisson_and_negative_binomial_equal_r():
    data = _read("data.csv").with_columns(pl.col("month_start").str.to_date().alias("month"))
    ref = {r["family"]: r for r in _read("coefficients.csv").iter_rows(named=True)}
    s = EstablishmentSettings(first_date=date(2016, 1, 1), last_date=date(2017, 12, 31),
                              incident_types=("assault",), share_step_points=10)  # fmt: skip
    fits = {f.family: f for f in fit_panel(data, "assault", s)}
    for family, r in ref.items():
        f = fits[family]
        assert f.error == ""
        assert f.coef == pytest.approx(r["coef"], rel=RTOL)
        assert f.se == pytest.approx(r["se"], rel=RTOL)
        assert f.rate_ratio == pytest.approx(np.exp(r["coef"]), rel=RTOL)
        assert f.n_clusters == 12
        if r["alpha"] is not None:
            assert f.alpha == pytest.approx(r["alpha"], rel=RTOL)
