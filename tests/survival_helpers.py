"""Shared builders of the survival tests: settings and simulated follow-up tables."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import polars as pl

from socflow import survival as sv

D = date.fromisoformat


def make_settings(**kw) -> sv.Settings:
    base = sv.Settings(
        first_disposal_date=D("2013-01-01"), last_disposal_date=D("2020-12-31"),
        data_end_date=D("2020-12-31"), waiting_period_days=365, count_window_days=730,
    )  # fmt: skip
    return dataclasses.replace(base, **kw)


def simulated_follow_up(n: int = 4000, seed: int = 11, hr: float = 0.7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    soc = rng.random(n) < 0.25
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    rate = np.where(soc, hr, 1.0) * np.select([group == "a", group == "b"], [1.0, 1.8], 0.6)
    t = rng.exponential(300 / rate)
    c = rng.uniform(100, 1500, n)
    return pl.DataFrame(
        {
            "person": [f"p{i}" for i in range(n)],
            "case_id": [f"c{i // 2}" for i in range(n)],
            sv.GROUP: np.where(soc, sv.SOC_LABEL, sv.NON_SOC_LABEL),
            "offence_group": group,
            "region": np.where(np.arange(n) < 5, "tiny", "big"),
            "time": np.maximum(np.minimum(t, c).round(), 1).astype(int),
            "event": t <= c,
        }
    )
