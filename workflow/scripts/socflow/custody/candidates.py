"""The stage's outputs for the disclosure stage: match rates and recall after release."""

from __future__ import annotations

import polars as pl

from socflow.custody.incidence import EVENT, cumulative_incidence, risk_ratio
from socflow.custody.matching import NEAR, NOT_CUSTODIAL, SPANS, UNMATCHED
from socflow.custody.settings import ALL_LABEL, NON_SOC_LABEL, SOC_LABEL, CustodySettings
from socflow.outputs import Candidate
from socflow.survival.followup import days_label

GROUP = "soc_status"
GROUPS = (SOC_LABEL, NON_SOC_LABEL, ALL_LABEL)


def _groups(frame: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    return [(g, frame if g == ALL_LABEL else frame.filter(pl.col(GROUP) == g)) for g in GROUPS]


def match_statistics(matched: pl.DataFrame) -> pl.DataFrame:
    """Shares of custodial index persons matched to a journey (any way, and each way), per
    group; each a share of its `n_persons` custodial persons."""
    custodial = matched.filter(pl.col("match_type") != NOT_CUSTODIAL)
    rows = []
    for label, condition in (
        ("matched to a prison journey", pl.col("match_type").is_in([SPANS, NEAR])),
        (f"matched: {SPANS}", pl.col("match_type") == SPANS),
        (f"matched: {NEAR}", pl.col("match_type") == NEAR),
    ):
        for g, part in _groups(custodial):
            n = part.height
            k = part.filter(condition).height
            rows.append(
                {
                    "statistic": f"custodial index persons {label}: {g}",
                    "value": k / n if n else None,
                    "ci_lower": None,
                    "ci_upper": None,
                    "n_persons": n,
                }
            )
    return pl.DataFrame(rows, schema=_STATS)


_STATS = {
    "statistic": pl.String,
    "value": pl.Float64,
    "ci_lower": pl.Float64,
    "ci_upper": pl.Float64,
    "n_persons": pl.Int64,
}


def recall_statistics(follow: pl.DataFrame, s: CustodySettings) -> pl.DataFrame:
    """Cumulative incidence of recall at each horizon per group, and the SOC / non-SOC risk
    ratio. Each row rests on the fewer of the persons recalled by the horizon and the persons
    not (the estimate states both), and a ratio on the fewest of either group's."""
    rows = []
    level = s.confidence_level
    for h in s.horizons_days:
        inc = {}
        sides = {}
        for g, part in _groups(follow):
            inc[g] = cumulative_incidence(
                part["time"].to_numpy(), part["status"].to_numpy(), h, level
            )
            sides[g] = min(inc[g].events, inc[g].persons - inc[g].events)
            rows.append(
                {
                    "statistic": f"recalled within {days_label(h)} of release: {g}",
                    "value": inc[g].estimate if inc[g].persons else None,
                    "ci_lower": inc[g].ci_lower,
                    "ci_upper": inc[g].ci_upper,
                    "n_persons": sides[g],
                }
            )
        ratio, lower, upper = risk_ratio(inc[SOC_LABEL], inc[NON_SOC_LABEL], level)
        rows.append(
            {
                "statistic": f"risk ratio of recall within {days_label(h)}, SOC vs non-SOC",
                "value": ratio,
                "ci_lower": lower,
                "ci_upper": upper,
                "n_persons": min(sides[SOC_LABEL], sides[NON_SOC_LABEL]),
            }
        )
    return pl.DataFrame(rows, schema=_STATS)


def outcome_statistics(follow: pl.DataFrame) -> pl.DataFrame:
    """Released persons by how follow-up ended, shares per group (each of `n_persons`)."""
    rows = []
    for label, code in (("recalled", EVENT), ("released by death or deportation", 2)):
        for g, part in _groups(follow):
            n = part.height
            rows.append(
                {
                    "statistic": f"released persons {label} during follow-up: {g}",
                    "value": part.filter(pl.col("status") == code).height / n if n else None,
                    "ci_lower": None,
                    "ci_upper": None,
                    "n_persons": n,
                }
            )
    return pl.DataFrame(rows, schema=_STATS)


def build_candidates(
    matched: pl.DataFrame, follow: pl.DataFrame, s: CustodySettings
) -> list[Candidate]:
    level = round(100 * s.confidence_level)
    words = {"died": "death", "deported": "deportation"}
    competing = " or ".join(words.get(r, r.replace("_", " ")) for r in s.competing_release_reasons)
    return [
        Candidate(
            "custody_match",
            "statistics",
            "Custodial index persons matched to their prison journey",
            match_statistics(matched),
            spec={"person_shares": True},
            notes=f"Persons whose index Crown Court case ended in immediate custody. A journey "
            f"of the same person (cross-justice ID) matches when it began on remand on or "
            f"before the disposal and had not ended before it, or began as a sentenced "
            f"reception within {s.match.window_days} days of the disposal; recalls never "
            f"match. {UNMATCHED.capitalize()}: the release date is unknown.",
            order=1,
        ),
        Candidate(
            "custody_recall",
            "statistics",
            "Recall to prison after release: SOC and non-SOC persons",
            recall_statistics(follow, s),
            notes=f"Aalen-Johansen cumulative incidence of recall (a later journey received "
            f"as a recall) from the release date of the matched journey, with release by "
            f"{competing or 'no reason'} as a competing event and censoring at "
            f"{s.follow_up_end_date.isoformat()}; {level}% log(-log) intervals; risk ratio "
            f"with a delta-method interval on the log scale.",
            order=2,
        ),
        Candidate(
            "custody_outcomes",
            "statistics",
            "Released persons: how follow-up ended",
            outcome_statistics(follow),
            spec={"person_shares": True},
            notes="Shares of released persons recalled at any time in follow-up, and released "
            "by death or deportation (who cannot be recalled).",
            order=3,
        ),
    ]
