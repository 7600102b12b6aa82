"""Adjusted comparison of criminogenic needs: one logistic regression per OASys need.

For each need, the log-odds of having it is modelled on SOC status, adjusting for the terms of
`linkage.adjust_for`: age at offence (linear, per 10 years, centred), sex and offence group
(categorical, reference the largest level). Levels too small to publish (fewer persons than
`sdc.min_level_persons`, or for any need fewer persons with or without it than
`sdc.min_level_events`) are pooled into "other <term> (pooled)", and that pool, if still too
small, into the largest level, so that one design serves every need and every coefficient can
pass the disclosure stage's model checks. Persons with an adjustment term unknown are left out
(counted). Standard errors are the model-based ones (the inverse information). The fits are
statsmodels `Logit`'s Newton steps (start at zero, stop once no coefficient moves by more than
1e-8, at most 100 steps) without its per-model rank check of the design (a QR of all rows each
time): the estimates equal `Logit`'s to rounding (tests: 1e-10 relative).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from scipy import special

from socflow.distributions import normal_quantile, normal_sf
from socflow.linkage.profiles import section_label
from socflow.linkage.settings import NON_SOC_LABEL, SOC_LABEL, Settings
from socflow.schema import OASYS_SECTIONS
from socflow.sdc.model import check_model
from socflow.sdc.thresholds import SdcThresholds

log = logging.getLogger(__name__)
CATEGORICAL = ("sex", "offence_group")
TERM_LABELS = {"age_at_offence": "age at offence (per 10 years)", "sex": "sex",
               "offence_group": "offence group", "soc": "SOC status"}  # fmt: skip


COEFFICIENT_SCHEMA = {
    "need": pl.String,
    "term": pl.String,
    "level": pl.String,
    "coef": pl.Float64,
    "se": pl.Float64,
    "ci_lower": pl.Float64,
    "ci_upper": pl.Float64,
    "p_value": pl.Float64,
    "odds_ratio": pl.Float64,
}
LEVEL_SCHEMA = {"term": pl.String, "level": pl.String, "persons": pl.Int64, "events": pl.Int64}


def _no_coefficients() -> pl.DataFrame:
    return pl.DataFrame(schema=COEFFICIENT_SCHEMA)


def _no_levels() -> pl.DataFrame:
    return pl.DataFrame(schema=LEVEL_SCHEMA)


@dataclass
class NeedModels:
    """The SOC coefficient of each need's model, the level counts behind it, and notes."""

    coefficients: (
        pl.DataFrame
    )  # need, term, level, coef, se, ci_lower, ci_upper, p_value, odds_ratio
    levels: pl.DataFrame  # term, level, persons, events (per need for SOC status)
    residual_df: int
    n_persons: int
    notes: list[str] = field(default_factory=list)
    left_out: int = 0


def _needs(profiled: pl.DataFrame) -> list[str]:
    return [s for s in OASYS_SECTIONS if f"{s}_need" in profiled.columns]


def _pool(frame: pl.DataFrame, term: str, needs: list[str], thr: SdcThresholds) -> pl.DataFrame:
    """Pool the levels of `term` too small to publish (see the module note)."""

    def small_levels(df: pl.DataFrame) -> set[str]:
        counts = df.group_by(term).agg(
            pl.len().alias("persons"),
            *[pl.col(f"y_{n}").sum().alias(f"e_{n}") for n in needs],
        )
        bad = pl.col("persons") < thr.min_level_persons
        for n in needs:
            bad = bad | (pl.col(f"e_{n}") < thr.min_level_events)
            bad = bad | ((pl.col("persons") - pl.col(f"e_{n}")) < thr.min_level_events)
        return set(counts.filter(bad)[term].to_list())

    small = small_levels(frame)
    if not small:
        return frame
    pooled = f"other {TERM_LABELS[term]} (pooled)"
    frame = frame.with_columns(
        pl.when(pl.col(term).is_in(list(small))).then(pl.lit(pooled)).otherwise(pl.col(term))
        .alias(term)
    )  # fmt: skip
    if pooled in small_levels(frame):
        largest = _reference(frame, term, exclude=pooled)
        frame = frame.with_columns(
            pl.when(pl.col(term) == pooled).then(pl.lit(largest)).otherwise(pl.col(term))
            .alias(term)
        )  # fmt: skip
    return frame


def _reference(frame: pl.DataFrame, term: str, exclude: str | None = None) -> str:
    """The largest level (ties: the first by name), other than `exclude` if there is one."""
    counts = frame.group_by(term).len()
    if exclude is not None and counts.filter(pl.col(term) != exclude).height:
        counts = counts.filter(pl.col(term) != exclude)
    return counts.sort(["len", term], descending=[True, False])[term][0]


def _too_few(frame: pl.DataFrame, needs: list[str], thr: SdcThresholds) -> list[str]:
    """Needs held, or not held, by fewer than `min_level_events` SOC or non-SOC persons."""
    out = []
    for n in needs:
        counts = (
            frame.filter(pl.col(f"y_{n}").is_not_null())
            .group_by("soc")
            .agg(pl.len().alias("persons"), pl.col(f"y_{n}").sum().alias("events"))
        )
        least = counts.select(
            pl.min_horizontal(pl.col("events"), pl.col("persons") - pl.col("events")).min()
        ).item()
        if counts.height < 2 or least is None or least < thr.min_level_events:
            out.append(n)
    return out


def fit_need_models(profiled: pl.DataFrame, s: Settings, thr: SdcThresholds) -> NeedModels:
    """Fit one logistic regression per need present (see the module note)."""
    needs = _needs(profiled)
    terms = list(s.adjust_for)
    frame = profiled.select(
        "person_id",
        pl.col("soc").cast(pl.Float64),
        *[pl.col(c) for c in terms],
        *[
            (pl.col(f"{n}_need").cast(pl.String) == "yes").cast(pl.Float64).alias(f"y_{n}")
            for n in needs
        ],
    )
    before = frame.height
    frame = frame.drop_nulls(["soc", *terms])
    left_out = before - frame.height
    notes = []
    if left_out:
        notes.append(f"{left_out:,} profiled persons left out: an adjustment term not recorded")
    if "sex" in terms:
        frame = frame.filter(pl.col("sex") != "U")
    # A need too rare (or too common) among SOC or non-SOC persons to publish is not modelled,
    # and does not decide the pooling of the others' levels.
    rare = _too_few(frame, needs, thr)
    if rare:
        notes.append(
            "not published (too few persons with or without the need, SOC or non-SOC): "
            + ", ".join(section_label(n) for n in rare)
        )
    needs = [n for n in needs if n not in rare]
    if not needs or frame.height == 0:
        notes.append("no need model fitted: no need with enough persons to publish")
        return NeedModels(_no_coefficients(), _no_levels(), 0, frame.height, notes, left_out)
    for term in (t for t in terms if t in CATEGORICAL):
        frame = _pool(frame, term, needs, thr)
    columns, names = [frame["soc"].to_numpy()], ["soc"]
    level_rows: list[dict] = []
    reference = {}
    if "age_at_offence" in terms:
        age = frame["age_at_offence"].cast(pl.Float64).to_numpy()
        columns.append((age - age.mean()) / 10.0)
        names.append("age_at_offence")
    for term in (t for t in terms if t in CATEGORICAL):
        ref = _reference(frame, term)
        reference[term] = ref
        counts = frame.group_by(term).len().sort(term)
        for lvl, n in counts.iter_rows():
            level_rows.append({"term": TERM_LABELS[term], "level": lvl, "persons": n,
                               "events": None})  # fmt: skip
            if lvl != ref:
                columns.append((frame[term] == lvl).cast(pl.Float64).to_numpy())
                names.append(f"{term}={lvl}")
    X = np.column_stack([np.ones(frame.height), *columns])
    z = float(normal_quantile(0.5 + s.confidence_level / 2))
    rows = []
    for n in needs:
        recorded = frame[f"y_{n}"].is_not_null().to_numpy()
        y = frame[f"y_{n}"].to_numpy()[recorded]
        soc_counts = (
            frame.filter(pl.col(f"y_{n}").is_not_null())
            .group_by("soc")
            .agg(pl.len().alias("persons"), pl.col(f"y_{n}").sum().alias("events"))
        )
        for flag, label in ((1.0, SOC_LABEL), (0.0, NON_SOC_LABEL)):
            got = soc_counts.filter(pl.col("soc") == flag)
            persons = int(got["persons"][0]) if got.height else 0
            events = int(got["events"][0]) if got.height else 0
            level_rows.append(
                {
                    "term": f"SOC status ({section_label(n)})",
                    "level": label,
                    "persons": persons,
                    # The smaller of having and not having the need: both are counts of persons.
                    "events": min(events, persons - events),
                }
            )
        try:
            params, cov = newton_logit(y, X[recorded])
        except Exception as exc:  # a failed fit is reported, never fatal
            notes.append(f"{section_label(n)}: model not fitted ({type(exc).__name__}: {exc})")
            log.warning("need model %s not fitted: %s", n, exc)
            continue
        coef, se = float(params[1]), float(np.sqrt(cov[1, 1]))
        rows.append(
            {
                "need": section_label(n),
                "term": "SOC status",
                "level": SOC_LABEL,
                "coef": coef,
                "se": se,
                "ci_lower": float(np.exp(coef - z * se)),
                "ci_upper": float(np.exp(coef + z * se)),
                "p_value": float(2 * normal_sf(abs(coef / se))),
                "odds_ratio": float(np.exp(coef)),
            }
        )
    coefficients = pl.DataFrame(
        rows,
        schema=COEFFICIENT_SCHEMA,
    )
    levels = pl.DataFrame(level_rows, schema=LEVEL_SCHEMA)
    residual_df = int(frame.height - X.shape[1])
    # Needs whose SOC / non-SOC counts are too small to publish are left out here, with a note,
    # so that the others can pass the disclosure stage's model check together.
    check = check_model(max(residual_df, 0), levels, thr)
    failing = check.failing_levels
    if failing.height:
        bad_terms = set(failing["term"].to_list())
        dropped = [section_label(n) for n in needs
                   if f"SOC status ({section_label(n)})" in bad_terms]  # fmt: skip
        if dropped:
            notes.append(
                "not published (too few persons with or without the need, SOC or non-SOC): "
                + ", ".join(dropped)
            )
            coefficients = coefficients.filter(~pl.col("need").is_in(dropped))
            levels = levels.filter(~pl.col("term").is_in([f"SOC status ({d})" for d in dropped]))
    if reference:
        notes.append(
            "reference levels: "
            + "; ".join(f"{TERM_LABELS[t]} = {lvl}" for t, lvl in reference.items())
        )
    return NeedModels(coefficients, levels, residual_df, frame.height, notes, left_out)


def newton_logit(
    y: np.ndarray, x: np.ndarray, max_steps: int = 100, tol: float = 1e-8
) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression of `y` (0/1) on `x` by statsmodels `Logit`'s Newton steps: from
    zero, until no coefficient moves by more than `tol`; the coefficients and their
    model-based covariance (the inverse information at the estimate). Raises RuntimeError
    when the steps do not converge, LinAlgError when the information is singular."""
    params = np.zeros(x.shape[1])
    for _ in range(max_steps):
        p = special.expit(x @ params)
        step = np.linalg.solve((x.T * (p * (1 - p))) @ x, x.T @ (y - p))
        params = params + step
        if not np.any(np.abs(step) > tol):
            break
    else:
        raise RuntimeError("Newton steps did not converge")
    p = special.expit(x @ params)
    return params, np.linalg.inv((x.T * (p * (1 - p))) @ x)
