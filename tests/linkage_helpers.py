"""Hand-built linked worlds in the canonical schema, for the linkage stage's tests."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from socflow.linkage import Settings, build_cohort
from socflow.mapping import empty_table
from socflow.schema import OASYS_SECTIONS, polars_schema

GROUPS = ("Drug offences", "Violence against the person", "Theft offences", "Fraud offences")


def canonical(table: str, data: dict) -> pl.DataFrame:
    """`data` as the canonical table: missing columns null, dtypes cast."""
    n = len(next(iter(data.values())))
    frame = pl.DataFrame(data)
    return pl.concat(
        [
            empty_table(table),
            frame.with_columns(
                pl.lit(None).alias(c) for c in polars_schema(table) if c not in frame.columns
            )
            .select(list(polars_schema(table)))
            .cast(polars_schema(table))  # type: ignore[arg-type]
            .head(n),
        ]
    )


def world(
    n_persons: int = 2000,
    seed: int = 1,
    soc_share: float = 0.3,
    need_log_odds: dict[str, float] | None = None,
    oasys_share: float = 0.7,
) -> dict[str, pl.DataFrame]:
    """Persons with one or two Crown Court cases, magistrates' history, prison journeys for
    the custodial, OASys assessments with needs planted as a log-odds difference SOC vs
    non-SOC, probation starts and PNC events."""
    rng = np.random.default_rng(seed)
    need_log_odds = need_log_odds or {}
    persons = [f"P{i:05d}" for i in range(n_persons)]
    soc = rng.random(n_persons) < soc_share
    age = rng.integers(18, 60, n_persons)
    sex = np.where(rng.random(n_persons) < 0.85, "M", "F")
    group = rng.choice(GROUPS, n_persons)
    disposal = [
        date(2015, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 5 * 365, n_persons)
    ]
    custody = rng.random(n_persons) < np.where(soc, 0.7, 0.4)
    crown = canonical(
        "crown_defendant_cases",
        {
            "row_id": [f"c{i}" for i in range(n_persons)],
            "defendant_on_case_id": [f"d{i}" for i in range(n_persons)],
            "case_id": [f"k{i}" for i in range(n_persons)],
            "receipt_type": ["trial"] * n_persons,
            "offence_date": [d - timedelta(days=200) for d in disposal],
            "receipt_date": [d - timedelta(days=100) for d in disposal],
            "disposal_date": disposal,
            "ho_offence_code": ["00101"] * n_persons,
            "age_at_offence": age.tolist(),
            "sex": sex.tolist(),
            "outcome": ["guilty_plea"] * n_persons,
            "sentence_type": np.where(custody, "immediate_custody", "community_sentence").tolist(),
            "custody_days": np.where(custody, rng.integers(100, 2000, n_persons), 0).tolist(),
            "offence_group": group.tolist(),
            "outcome_group": ["convicted"] * n_persons,
        },
    )
    flags = pl.DataFrame({"defendant_on_case_id": crown["defendant_on_case_id"], "soc": soc})
    # Magistrates' history: 0-3 earlier cases, the non-SOC more often.
    n_prior = rng.poisson(np.where(soc, 0.8, 1.5))
    mags_person = np.repeat(np.arange(n_persons), n_prior)
    lag = rng.integers(30, 4 * 365, len(mags_person))
    mags_disposal = [
        disposal[p] - timedelta(days=200 + int(g)) for p, g in zip(mags_person, lag, strict=True)
    ]
    mags = canonical(
        "mags_defendant_cases",
        {
            "row_id": [f"m{i}" for i in range(len(mags_person))],
            "case_id": [f"mk{i}" for i in range(len(mags_person))],
            "proceeding_type": ["criminal"] * len(mags_person),
            "disposal_date": mags_disposal,
            "ho_offence_code": ["00101"] * len(mags_person),
            "age_at_offence": (age[mags_person] - 1).tolist(),
            "sentence_type": np.where(
                rng.random(len(mags_person)) < 0.2, "immediate_custody", "fine"
            ).tolist(),
            "outcome_group": ["convicted"] * len(mags_person),
        },
    )
    # Prison journeys for 90% of the custodial; OASys for a share of everyone after disposal.
    in_prison = custody & (rng.random(n_persons) < 0.9)
    prison_idx = np.flatnonzero(in_prison)
    prison = canonical(
        "prison_journeys",
        {
            "row_id": [f"j{i}" for i in prison_idx],
            "reception_date": [disposal[i] for i in prison_idx],
            "release_date": [disposal[i] + timedelta(days=300) for i in prison_idx],
            "reception_reason": ["sentenced"] * len(prison_idx),
        },
    )
    assessed = np.flatnonzero(rng.random(n_persons) < oasys_share)
    oasys_data: dict = {
        "row_id": [f"o{i}" for i in assessed],
        "assessment_date": [
            disposal[i] + timedelta(days=int(rng.integers(10, 300))) for i in assessed
        ],
        "full_assessment": ["yes"] * len(assessed),
        "ogrs_2yr": rng.uniform(10, 90, len(assessed)).tolist(),
        "ovp_2yr": rng.uniform(5, 60, len(assessed)).tolist(),
    }
    for section in OASYS_SECTIONS:
        logit = -0.5 + need_log_odds.get(section, 0.0) * soc[assessed]
        has = rng.random(len(assessed)) < 1 / (1 + np.exp(-logit))
        oasys_data[f"{section}_need"] = np.where(has, "yes", "no").tolist()
        oasys_data[f"{section}_score"] = (has * 2 + rng.integers(0, 2, len(assessed))).tolist()
    oasys = canonical("oasys_assessments", oasys_data)
    probation_idx = np.flatnonzero(~custody)
    probation = canonical(
        "probation_starts",
        {
            "row_id": [f"p{i}" for i in probation_idx],
            "start_date": [disposal[i] for i in probation_idx],
            "disposal_type": ["community_order"] * len(probation_idx),
        },
    )
    pnc_person = np.repeat(np.arange(n_persons), rng.poisson(np.where(soc, 1.0, 2.0)))
    pnc = canonical(
        "pnc_events",
        {
            "row_id": [f"n{i}" for i in range(len(pnc_person))],
            "event_date": [
                disposal[p] - timedelta(days=int(rng.integers(300, 5000))) for p in pnc_person
            ],
            "event_type": rng.choice(
                ["conviction", "caution", "custody"], len(pnc_person)
            ).tolist(),
        },
    )
    link = pl.concat(
        [
            pl.DataFrame(
                {"source_dataset": "crown", "row_id": crown["row_id"], "person_id": persons}
            ),
            pl.DataFrame(
                {
                    "source_dataset": "mags",
                    "row_id": mags["row_id"],
                    "person_id": [persons[i] for i in mags_person],
                }
            ),
            pl.DataFrame(
                {
                    "source_dataset": "prison",
                    "row_id": prison["row_id"],
                    "person_id": [persons[i] for i in prison_idx],
                }
            ),
            pl.DataFrame(
                {
                    "source_dataset": "oasys",
                    "row_id": oasys["row_id"],
                    "person_id": [persons[i] for i in assessed],
                }
            ),
            pl.DataFrame(
                {
                    "source_dataset": "probation",
                    "row_id": probation["row_id"],
                    "person_id": [persons[i] for i in probation_idx],
                }
            ),
            pl.DataFrame(
                {
                    "source_dataset": "pnc",
                    "row_id": pnc["row_id"],
                    "person_id": [persons[i] for i in pnc_person],
                }
            ),
        ]
    ).cast({"source_dataset": polars_schema("xjs_link")["source_dataset"]})
    cohort, flow = build_cohort(crown, link, flags, Settings())
    return {
        "crown": crown,
        "flags": flags,
        "mags": mags,
        "link": link,
        "cohort": cohort,
        "cohort_flow": flow,
        "prison_journeys": prison,
        "oasys_assessments": oasys,
        "probation_starts": probation,
        "pnc_events": pnc,
    }
