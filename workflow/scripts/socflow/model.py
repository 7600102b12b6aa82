"""Aim 3: is SOC status associated with a Crown Court case being discontinued or dismissed?

Three binary outcomes are modelled for every defendant-case in the population (default: Crown
Court cases received for trial; cases received for sentence or on appeal cannot be
discontinued and are excluded with a count): *discontinued*, *dismissed* and *either*, each a
configured set of canonical outcomes. Each is regressed on SOC status by logistic regression
(statsmodels `Logit`, Newton steps, standard errors clustered by court), unadjusted, adjusted
for defendant and case characteristics (a configured formula of main effects), and adjusted
with court fixed effects; and again under every SOC sensitivity definition of the flagging
stage (`soc__<name>` columns).

Small categories are merged before fitting by one documented rule, so that covariates never
stop a model from passing disclosure control: a level of a categorical term is *too small*
when it has fewer than the SDC minimum of distinct persons (`sdc.min_level_persons`), of
persons with the event (`sdc.min_level_events`) or of persons without it
(`model.min_level_non_events`, which also keeps a level from separating the outcome).
Too-small levels of an ordered term (age band, receipt year, defendants band) are merged with
their smaller neighbour until all pass; those of an unordered term are pooled into one "Other"
level, which takes in the next-smallest level (never the largest) while it is still too small.
A term left with a single level drops out of the model; rows are never dropped. Merging
depends on the outcome only, so it is done once per outcome. SOC status is never merged: a SOC
level without events (perfect separation) is reported and that model is not fitted. Collinear
columns (e.g. region within court fixed effects), non-convergence, too few clusters and
implausibly large coefficients are reported, never fatal.

The data stay in Polars until the design matrix, which is built from the category codes as a
sparse matrix (mostly one-hot dummies). statsmodels fits on it through a `Logit` subclass that
evaluates the likelihood, score and Hessian on the distinct covariate patterns (exact, and far
fewer than rows); the Newton iterations, the cluster-robust covariance, inference and AIC are
statsmodels' own. McFadden's pseudo-R-squared uses the intercept-only log-likelihood in closed
form. The full scale (about 550k trial defendant-cases, 30 models) takes about 30 s of CPU.
"""

from __future__ import annotations

import logging
import math
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.linalg import solve_triangular
from scipy.stats import norm
from statsmodels.discrete.discrete_model import Logit
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from socflow.outputs import STATISTICS_SCHEMA, Candidate, write_candidates
from socflow.schema import OUTCOMES as CANONICAL_OUTCOMES
from socflow.schema import RECEIPT_TYPES
from socflow.sdc import SdcThresholds, check_model

log = logging.getLogger(__name__)

STAGE = "model"
OUTCOME_KEYS = ("discontinued", "dismissed", "either")
OUTCOME_LABELS = {
    "discontinued": "Discontinued",
    "dismissed": "Dismissed",
    "either": "Discontinued or dismissed",
}
SPECS = ("unadjusted", "adjusted", "court_fe")
SPEC_LABELS = {
    "unadjusted": "unadjusted",
    "adjusted": "adjusted",
    "court_fe": "adjusted, court fixed effects",
}
SOC_TERM = "soc"
SOC_YES, SOC_NO = "SOC", "non-SOC"
PRIMARY = "primary"
INTERCEPT = "Intercept"
DEFENDANTS_BAND = "defendants_band"
REFERENCE_NOTE = "reference"
AME_STATISTIC = "SOC minus non-SOC predicted probability, percentage points"
# A log odds ratio beyond this (an odds ratio above about 22,000) does not come from data that
# overlap: it is the signature of (quasi-)complete separation, so the fit is flagged.
SEPARATION_LOG_ODDS = 10.0
# Fewer clusters than this make cluster-robust standard errors unreliable (too small).
MIN_CLUSTERS = 20
# Relative tolerance of the collinearity check on the cross-product matrix.
COLLINEAR_TOL = 1e-9
_TERM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LEADING_NUMBER = re.compile(r"^\s*(\d+)")


class ModelConfigError(ValueError):
    """The `model` configuration cannot be used; the message names the key."""


def parse_formula(formula: str) -> tuple[str, ...]:
    """Terms of a main-effects formula `outcome ~ a + b + c` (the left side must be `outcome`:
    the same right side serves each of the three outcomes)."""
    if formula.count("~") != 1:
        raise ModelConfigError(f"formula {formula!r}: needs exactly one '~'")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    if lhs != "outcome":
        raise ModelConfigError(f"formula {formula!r}: left side must be 'outcome', got {lhs!r}")
    terms = tuple(t.strip() for t in rhs.split("+"))
    bad = [t for t in terms if not _TERM_NAME.match(t)]
    if bad:
        raise ModelConfigError(
            f"formula {formula!r}: terms must be column names joined by '+' (main effects "
            f"only); cannot read {bad}"
        )
    if len(set(terms)) != len(terms):
        raise ModelConfigError(f"formula {formula!r}: a term appears twice")
    if SOC_TERM not in terms:
        raise ModelConfigError(f"formula {formula!r}: must contain the term 'soc'")
    return terms


@dataclass(frozen=True)
class ModelSettings:
    """Everything that shapes the models (config section `model` plus the SDC thresholds)."""

    discontinued: tuple[str, ...]
    dismissed: tuple[str, ...]
    neither: tuple[str, ...]
    receipt_types: tuple[str, ...]
    exclude_outcomes: tuple[str, ...]
    soc_flag: str
    formulas: dict[str, str]
    unadjusted: tuple[str, ...]
    adjusted: tuple[str, ...]
    ordered_terms: tuple[str, ...]
    numeric_terms: tuple[str, ...]
    reference_levels: dict[str, str]
    defendants_bands: tuple[int, ...]
    fixed_effects: str
    cluster: str
    sensitivity_outcomes: tuple[str, ...]
    thresholds: SdcThresholds
    min_level_non_events: int
    other_label: str
    confidence_level: float
    max_iterations: int

    @property
    def min_level_persons(self) -> int:
        return self.thresholds.min_level_persons

    @property
    def min_level_events(self) -> int:
        return self.thresholds.min_level_events

    def outcome_sets(self) -> dict[str, tuple[str, ...]]:
        """Canonical outcomes that make each modelled outcome."""
        return {
            "discontinued": self.discontinued,
            "dismissed": self.dismissed,
            "either": self.discontinued + self.dismissed,
        }

    @classmethod
    def from_config(cls, cfg: dict[str, Any], sdc: dict[str, Any] | None = None) -> ModelSettings:
        """Read and check the `model` config section; `sdc` is the `sdc` section."""
        outcomes = cfg.get("outcomes", {})
        lists = {k: tuple(outcomes.get(k, ())) for k in ("discontinued", "dismissed", "neither")}
        for key, values in lists.items():
            unknown = sorted(set(values) - set(CANONICAL_OUTCOMES))
            if unknown:
                raise ModelConfigError(f"model.outcomes.{key}: not canonical outcomes {unknown}")
        for a, b in (
            ("discontinued", "dismissed"),
            ("discontinued", "neither"),
            ("dismissed", "neither"),
        ):
            both = sorted(set(lists[a]) & set(lists[b]))
            if both:
                raise ModelConfigError(f"model.outcomes: {both} in both {a} and {b}")
        if not lists["discontinued"] or not lists["dismissed"]:
            raise ModelConfigError("model.outcomes: discontinued and dismissed need outcomes")
        population = cfg.get("population", {})
        receipt_types = tuple(population.get("receipt_types", ("trial",)))
        if not receipt_types or set(receipt_types) - set(RECEIPT_TYPES):
            raise ModelConfigError(
                f"model.population.receipt_types: choose from {RECEIPT_TYPES}, got {receipt_types}"
            )
        formulas = dict(cfg.get("formulas", {}))
        formulas.setdefault("unadjusted", "outcome ~ soc")
        if "adjusted" not in formulas:
            raise ModelConfigError("model.formulas.adjusted is required")
        sens = tuple(cfg.get("sensitivity_outcomes", OUTCOME_KEYS))
        if set(sens) - set(OUTCOME_KEYS):
            raise ModelConfigError(f"model.sensitivity_outcomes: choose from {OUTCOME_KEYS}")
        soc_flag = cfg.get("soc_flag", "soc")
        if soc_flag not in ("soc", "soc_case"):
            raise ModelConfigError("model.soc_flag: 'soc' (defendant) or 'soc_case' (case)")
        bands = tuple(int(b) for b in cfg.get("defendants_bands", (1, 2, 3, 5, 10)))
        if list(bands) != sorted(set(bands)) or bands[0] < 1:
            raise ModelConfigError("model.defendants_bands: increasing lower edges from 1")
        level = float(cfg.get("confidence_level", 0.95))
        if not 0.5 < level < 1:
            raise ModelConfigError("model.confidence_level must lie between 0.5 and 1")
        return cls(
            discontinued=lists["discontinued"],
            dismissed=lists["dismissed"],
            neither=lists["neither"],
            receipt_types=receipt_types,
            exclude_outcomes=tuple(population.get("exclude_outcomes", ())),
            soc_flag=soc_flag,
            formulas={k: formulas[k] for k in ("unadjusted", "adjusted")},
            unadjusted=parse_formula(formulas["unadjusted"]),
            adjusted=parse_formula(formulas["adjusted"]),
            ordered_terms=tuple(cfg.get("ordered_terms", ())),
            numeric_terms=tuple(cfg.get("numeric_terms", ())),
            reference_levels={k: str(v) for k, v in cfg.get("reference_levels", {}).items()},
            defendants_bands=bands,
            fixed_effects=cfg.get("fixed_effects", "court_id"),
            cluster=cfg.get("cluster", "court_id"),
            sensitivity_outcomes=sens,
            thresholds=SdcThresholds.from_config(sdc),
            min_level_non_events=int(cfg.get("min_level_non_events", 10)),
            other_label=str(cfg.get("other_label", "Other")),
            confidence_level=level,
            max_iterations=int(cfg.get("max_iterations", 100)),
        )

    def model_terms(self) -> list[str]:
        """Every column a model uses (formula terms, fixed effects), in first-use order."""
        seen: dict[str, None] = {}
        for t in (*self.unadjusted, *self.adjusted, self.fixed_effects):
            seen.setdefault(t, None)
        return list(seen)


# ---------------------------------------------------------------------------------------------
# Population


def band_labels(edges: tuple[int, ...]) -> list[str]:
    """Labels of integer bands with these lower edges: 1, 2, 3-4, 5-9, 10+."""
    labels = []
    for lo, nxt in zip(edges, [*edges[1:], None], strict=True):
        if nxt is None:
            labels.append(f"{lo}+")
        elif nxt - 1 == lo:
            labels.append(str(lo))
        else:
            labels.append(f"{lo}-{nxt - 1}")
    return labels


def _band_expr(col: str, edges: tuple[int, ...]) -> pl.Expr:
    expr = pl.lit(None, dtype=pl.String)
    for lo, label in zip(edges, band_labels(edges), strict=True):
        expr = pl.when(pl.col(col) >= lo).then(pl.lit(label)).otherwise(expr)
    return expr


def soc_definitions(flags: pl.DataFrame, soc_flag: str = "soc") -> dict[str, str]:
    """SOC definitions in the flags table: name -> column (primary first, then variants in the
    flagging stage's order)."""
    prefix = f"{soc_flag}__"
    out = {PRIMARY: soc_flag}
    out.update({c.removeprefix(prefix): c for c in flags.columns if c.startswith(prefix)})
    return out


def soc_column(definition: str) -> str:
    """The population column holding SOC status under a definition."""
    return SOC_TERM if definition == PRIMARY else f"{SOC_TERM}__{definition}"


def build_population(
    crown: pl.DataFrame, flags: pl.DataFrame, settings: ModelSettings
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The modelling population, one row per defendant-case, and what was excluded and why.

    Returns (population, exclusions). The population has `defendant_on_case_id`, `person` (an
    integer code per person), `person_key` (the person key of the flags), `cluster`, `outcome`,
    one Boolean column per modelled outcome, SOC status under every definition (`soc`,
    `soc__<name>`: "SOC" / "non-SOC"), and every formula term (categorical terms as strings,
    numeric terms as floats). Exclusions has one row per reason (the first
    that applies) with `defendant_cases` and distinct `persons`.
    """
    defs = soc_definitions(flags, settings.soc_flag)
    flag_cols = [c for c in flags.columns if c not in crown.columns]
    joined = crown.join(
        flags.select("defendant_on_case_id", *flag_cols).with_columns(pl.lit(True).alias("_flag")),
        on="defendant_on_case_id",
        how="left",
    )
    if "n_defendants" in joined.columns:
        joined = joined.with_columns(
            _band_expr("n_defendants", settings.defendants_bands).alias(DEFENDANTS_BAND)
        )
    terms = [t for t in settings.model_terms() if t != SOC_TERM]
    missing = [t for t in [*terms, settings.cluster] if t not in joined.columns]
    if missing:
        raise ModelConfigError(
            f"model: term(s) {missing} are neither canonical Crown Court columns nor SOC flag "
            f"columns (nor {DEFENDANTS_BAND})"
        )
    person = pl.coalesce(
        pl.col("person"), pl.concat_str(pl.lit("crown:"), pl.col("defendant_id"))
    ).alias("person")
    receipt = pl.col("receipt_type").cast(pl.String)
    outcome = pl.col("outcome").cast(pl.String)
    reason = (
        pl.when(~receipt.is_in(list(settings.receipt_types)))
        .then(pl.format("receipt type outside the population: {}", receipt))
        .when(outcome.is_in(list(settings.exclude_outcomes)))
        .then(pl.format("outcome excluded by configuration: {}", outcome))
        .when(pl.col("_flag").is_null())
        .then(pl.lit("no SOC flag for the defendant-case"))
    )
    for col in [*terms, settings.cluster, *defs.values()]:
        reason = reason.when(pl.col(col).is_null()).then(pl.lit(f"missing value: {col}"))
    joined = joined.with_columns(person, reason.otherwise(None).alias("_reason"))
    exclusions = (
        joined.filter(pl.col("_reason").is_not_null())
        .group_by(pl.col("_reason").alias("reason"))
        .agg(
            pl.len().alias("defendant_cases"),
            pl.col("person").n_unique().alias("persons"),
        )
        .sort("reason")
    )
    kept = joined.filter(pl.col("_reason").is_null())
    events = {k: outcome.is_in(list(v)).alias(k) for k, v in settings.outcome_sets().items()}
    soc_label = [
        pl.when(pl.col(col)).then(pl.lit(SOC_YES)).otherwise(pl.lit(SOC_NO)).alias(soc_column(d))
        for d, col in defs.items()
    ]
    term_cols = [
        pl.col(t).cast(pl.Float64) if t in settings.numeric_terms else pl.col(t).cast(pl.String)
        for t in terms
    ]
    population = kept.select(
        "defendant_on_case_id",
        # Integer codes count distinct persons faster than strings; the key stays alongside.
        pl.col("person").rank("dense").cast(pl.UInt32).alias("person"),
        pl.col("person").alias("person_key"),
        pl.col(settings.cluster).cast(pl.String).alias("cluster"),
        outcome.alias("outcome"),
        *events.values(),
        *soc_label,
        *term_cols,
    ).sort("defendant_on_case_id")
    return population, exclusions


# ---------------------------------------------------------------------------------------------
# Small levels


def level_counts(frame: pl.DataFrame, term: str, event: str) -> pl.DataFrame:
    """Per level of `term`: defendant-cases, distinct persons, persons with and without the
    event."""
    return (
        frame.group_by(pl.col(term).alias("level"))
        .agg(
            pl.len().alias("rows"),
            pl.col("person").n_unique().alias("persons"),
            pl.col("person").filter(pl.col(event)).n_unique().alias("events"),
            pl.col("person").filter(~pl.col(event)).n_unique().alias("non_events"),
        )
        .sort("level")
    )


def _too_small(settings: ModelSettings) -> pl.Expr:
    return (
        (pl.col("persons") < settings.min_level_persons)
        | (pl.col("events") < settings.min_level_events)
        | (pl.col("non_events") < settings.min_level_non_events)
    )


def _order_key(level: str) -> tuple[int, str]:
    m = _LEADING_NUMBER.match(level)
    return (int(m.group(1)) if m else 10**9, level)


@dataclass
class LevelPlan:
    """How one categorical term's levels enter a model."""

    term: str
    mapping: dict[str, str]  # level in -> level in the model
    messages: list[str] = field(default_factory=list)
    counts: pl.DataFrame | None = None  # `level_counts` of the levels as they are

    @property
    def changes(self) -> bool:
        return any(k != v for k, v in self.mapping.items())


def plan_levels(
    frame: pl.DataFrame, term: str, event: str, settings: ModelSettings, ordered: bool
) -> LevelPlan:
    """Merge the too-small levels of `term` (see the module docstring for the rule)."""
    stats = level_counts(frame, term, event)
    levels = stats["level"].to_list()
    mapping: dict[str, str] = {lv: lv for lv in levels}
    failing = stats.filter(_too_small(settings))["level"].to_list()
    plan = LevelPlan(term, mapping, counts=stats)
    if not failing:
        return plan
    if ordered:
        groups = [[lv] for lv in sorted(levels, key=_order_key)]
        # Levels, not rows: a term has tens of levels at most.
        while len(groups) > 1:
            labels = {lv: _merged_label(g) for g in groups for lv in g}
            merged = level_counts(
                frame.with_columns(pl.col(term).replace_strict(labels)), term, event
            )
            small = dict(
                zip(merged["level"], merged.select(_too_small(settings)).to_series(), strict=True)
            )
            persons = dict(zip(merged["level"], merged["persons"], strict=True))
            bad = [i for i, g in enumerate(groups) if small[_merged_label(g)]]
            if not bad:
                break
            i = min(bad, key=lambda j: (persons[_merged_label(groups[j])], j))
            neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(groups)]
            j = min(neighbours, key=lambda k: (persons[_merged_label(groups[k])], k))
            lo, hi = sorted((i, j))
            groups[lo : hi + 1] = [groups[lo] + groups[hi]]
        for g in groups:
            for lv in g:
                mapping[lv] = _merged_label(g)
        merged_groups = [_merged_label(g) for g in groups if len(g) > 1]
        if merged_groups:
            plan.messages.append(
                f"{term}: too-small levels merged with their neighbours into "
                f"{', '.join(merged_groups)}"
            )
        return plan
    # Unordered: pool the too-small levels; while the pool is still too small, add the smallest
    # other level except the largest. If only the largest is left outside, the term has one
    # level and is left out of the model (rows are never left out).
    largest = stats.sort(["rows", "level"], descending=[True, False])["level"][0]
    by_size = stats.sort(["persons", "level"])["level"].to_list()
    pool = list(failing)
    while True:
        pooled = level_counts(
            frame.with_columns(
                pl.when(pl.col(term).is_in(pool))
                .then(pl.lit(settings.other_label))
                .otherwise(pl.col(term))
                .alias(term)
            ),
            term,
            event,
        ).filter(pl.col("level") == settings.other_label)
        if not pooled.select(_too_small(settings)).to_series().any():
            break
        more = [lv for lv in by_size if lv not in pool and lv != largest]
        if not more:
            pool = levels
            break
        pool.append(more[0])
    for lv in pool:
        mapping[lv] = settings.other_label
    added = sorted(set(pool) - set(failing))
    # Counted, not named: a note must not say which units (courts, offences) are small.
    plan.messages.append(
        f"{term}: {len(failing)} too-small level(s) pooled into '{settings.other_label}'"
        + (f" together with {len(added)} more" if added else "")
    )
    return plan


def _merged_label(group: list[str]) -> str:
    """`a to b` for a run of ordered levels (already merged labels keep their outer ends)."""
    if len(group) == 1:
        return group[0]
    return f"{group[0].split(' to ')[0]} to {group[-1].split(' to ')[-1]}"


def nested_terms(frame: pl.DataFrame, terms: list[str], within: str) -> list[str]:
    """Terms constant within every level of `within` (absorbed by its fixed effects)."""
    if not terms:
        return []
    per = frame.group_by(within).agg([pl.col(t).n_unique() for t in terms])
    return [t for t in terms if per[t].max() == 1]


# ---------------------------------------------------------------------------------------------
# Design and fit


class SparseLogit(Logit):
    """statsmodels' `Logit` whose log-likelihood, score, Hessian and perfect-prediction check
    are computed on the distinct rows of a sparse design ("covariate patterns").

    Rows with the same covariates share their predicted probability, so the likelihood and its
    derivatives are exact sums over patterns weighted by their rows and events: with categorical
    terms there are far fewer patterns than rows, and the products are sparse. Everything else
    (Newton iterations, the cluster-robust covariance from the row-level scores, inference) is
    statsmodels' own, on the full dense design.
    """

    def __init__(self, endog, exog, sparse_exog=None, patterns=None, **kwargs):
        super().__init__(endog, exog, **kwargs)
        sx = sp.csr_matrix(self.exog) if sparse_exog is None else sparse_exog
        self._xu, self._rows, self._events = collapse_patterns(sx, self.endog, patterns)
        self._xut = self._xu.T.tocsr()
        # Pattern of every stored value: weighting patterns is one multiplication of `data`.
        self._pattern_of_value = np.repeat(np.arange(self._xu.shape[0]), np.diff(self._xu.indptr))

    def _linear(self, params: np.ndarray) -> np.ndarray:
        return self._xu @ params

    def loglike(self, params):
        eta = self._linear(params)
        log_p = -np.logaddexp(0.0, -eta)
        log_q = -np.logaddexp(0.0, eta)
        return float(self._events @ log_p + (self._rows - self._events) @ log_q)

    def score(self, params):
        return self._xut @ (self._events - self._rows * _expit(self._linear(params)))

    def hessian(self, params):
        p = _expit(self._linear(params))
        w = (self._rows * p * (1 - p))[self._pattern_of_value]
        weighted = sp.csr_matrix(
            (self._xu.data * w, self._xu.indices, self._xu.indptr), shape=self._xu.shape
        )
        return -(self._xut @ weighted).toarray()

    def _check_perfect_pred(self, params, *args):
        # statsmodels warns when every row's prediction equals its outcome. On patterns that
        # means every pattern is pure (all or none of its rows have the event) and predicted
        # as such; equal expected and observed counts alone hold at any saturated fit.
        p = _expit(self._linear(params))
        pure = (self._events == 0) | (self._events == self._rows)
        if pure.all() and np.allclose(p, self._events / self._rows):
            warnings.warn(
                "Perfect separation or prediction detected", PerfectSeparationWarning, stacklevel=2
            )


def collapse_patterns(
    x: sp.csr_matrix, y: np.ndarray, patterns: np.ndarray | None
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Distinct design rows (one per pattern), with their numbers of rows and of events."""
    n = x.shape[0]
    if patterns is None:
        return x.tocsr(), np.ones(n), np.asarray(y, dtype=float)
    n_patterns = int(patterns.max()) + 1
    first = np.full(n_patterns, n, dtype=np.int64)
    np.minimum.at(first, patterns, np.arange(n))
    rows = np.bincount(patterns, minlength=n_patterns).astype(float)
    events = np.bincount(patterns, weights=y, minlength=n_patterns)
    return x.tocsr()[first], rows, events


def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass(frozen=True)
class Block:
    """The design columns of one term, and each row's level code (-1: the reference level;
    None for a numeric term)."""

    matrix: sp.csr_matrix
    names: list[tuple[str, str]]
    codes: np.ndarray | None

    @property
    def width(self) -> int:
        return self.matrix.shape[1]


def design_block(
    frame: pl.DataFrame, term: str, reference: str | None, numeric: bool = False
) -> Block:
    """Columns of one term: one dummy per non-reference level (in display order), or the
    numeric values as they are."""
    n = frame.height
    if numeric:
        values = frame[term].cast(pl.Float64).to_numpy()
        return Block(sp.csr_matrix(values.reshape(-1, 1)), [(term, "")], None)
    levels = [lv for lv in _display_levels(frame, term) if lv != reference]
    codes = (
        frame[term]
        .replace_strict({lv: j for j, lv in enumerate(levels)}, default=-1, return_dtype=pl.Int64)
        .to_numpy()
    )
    hit = np.flatnonzero(codes >= 0)
    matrix = sp.csr_matrix(
        (np.ones(len(hit)), (hit, codes[hit])), shape=(n, len(levels)), dtype=np.float64
    )
    return Block(matrix, [(term, lv) for lv in levels], codes)


def stack_blocks(n: int, blocks: list[Block]) -> tuple[sp.csr_matrix, list[tuple[str, str]]]:
    """The design matrix of an intercept and these blocks, and its column names."""
    names: list[tuple[str, str]] = [(INTERCEPT, "")]
    for b in blocks:
        names.extend(b.names)
    x = sp.hstack([sp.csr_matrix(np.ones((n, 1))), *[b.matrix for b in blocks]], format="csr")
    return x, names


def pattern_index(blocks: list[Block]) -> np.ndarray | None:
    """Covariate pattern of every row (0..P-1) from the blocks' level codes; None when a
    numeric term makes (nearly) every row its own pattern."""
    if not blocks or any(b.codes is None for b in blocks):
        return None
    if math.prod(b.width + 1 for b in blocks) >= 2**62:
        stacked = np.column_stack([b.codes for b in blocks])
        return np.unique(stacked, axis=0, return_inverse=True)[1].ravel()
    key = np.zeros(len(blocks[0].codes), dtype=np.int64)
    for b in blocks:
        # Mixed radix: digits are level codes + 1 (0 = reference), radices the level counts.
        key = key * (b.width + 1) + (b.codes + 1)
    _, inverse = np.unique(key, return_inverse=True)
    return inverse


def _display_levels(frame: pl.DataFrame, term: str) -> list[str]:
    levels = frame[term].unique().to_list()
    if term == SOC_TERM or term.startswith(f"{SOC_TERM}__"):
        return [lv for lv in (SOC_NO, SOC_YES) if lv in levels]
    return sorted(levels, key=_order_key)


def independent_columns(gram: np.ndarray, tol: float = COLLINEAR_TOL) -> np.ndarray:
    """Columns kept, in order, while each adds something the earlier kept ones do not span
    (incremental Cholesky of the cross-product matrix); empty columns are dropped."""
    k = gram.shape[0]
    keep = np.zeros(k, dtype=bool)
    chol = np.zeros((k, k))
    m = 0
    for j in range(k):
        gjj = gram[j, j]
        if gjj <= 0:
            continue
        kept = np.flatnonzero(keep)
        z = solve_triangular(chol[:m, :m], gram[kept, j], lower=True) if m else np.zeros(0)
        resid = gjj - float(z @ z)
        if resid > tol * gjj:
            chol[m, :m] = z
            chol[m, m] = math.sqrt(resid)
            keep[j] = True
            m += 1
    return keep


@dataclass
class Fit:
    """A fitted logistic regression (or why it was not fitted: `ok` False, `messages`)."""

    ok: bool
    names: list[tuple[str, str]] = field(default_factory=list)
    params: np.ndarray | None = None
    bse: np.ndarray | None = None
    pvalues: np.ndarray | None = None
    conf: np.ndarray | None = None  # (k, 2), log-odds scale
    converged: bool = False
    iterations: int = 0
    llf: float = math.nan
    llnull: float = math.nan
    prsquared: float = math.nan
    aic: float = math.nan
    nobs: int = 0
    df_resid: int = 0
    n_clusters: int = 0
    ame: tuple[float, float, float] | None = None  # SOC minus non-SOC, probability scale
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)


def fit_logit(
    y: np.ndarray,
    x: sp.csr_matrix,
    names: list[tuple[str, str]],
    clusters: np.ndarray,
    soc_term: str,
    settings: ModelSettings,
    start: dict[tuple[str, str], float] | None = None,
    patterns: np.ndarray | None = None,
) -> Fit:
    """Fit `y ~ x` by maximum likelihood with standard errors clustered by `clusters`
    (`patterns`: each row's covariate pattern, see `pattern_index`, to speed the fit up).

    Reports, and never raises on: collinear columns (dropped), perfect separation on a level
    (not fitted), non-convergence, implausibly large coefficients, numerical failure.
    """
    t0 = time.perf_counter()
    messages: list[str] = []
    xu, rows, events = collapse_patterns(x, y, patterns)
    gram = (xu.T @ xu.multiply(rows[:, None]).tocsr()).toarray()
    keep = independent_columns(gram)
    dropped = [names[j] for j in np.flatnonzero(~keep)]
    soc_cols = [j for j, (t, _) in enumerate(names) if t == soc_term]
    if not soc_cols or not keep[soc_cols].all():
        return Fit(False, names, messages=[f"{soc_term} is constant or collinear: not fitted"])
    if dropped:
        messages.append("collinear columns dropped: " + ", ".join(f"{t}={lv}" for t, lv in dropped))
    x = x[:, np.flatnonzero(keep)]
    xu = xu[:, np.flatnonzero(keep)]
    names = [nm for nm, k in zip(names, keep, strict=True) if k]
    # A dummy whose rows all have, or all lack, the event has no finite maximum likelihood
    # estimate (perfect separation): report instead of fitting.
    n_col = xu.T @ rows
    ev_col = xu.T @ events
    separated = [
        names[j]
        for j in range(1, len(names))
        if names[j][0] not in settings.numeric_terms and (ev_col[j] == 0 or ev_col[j] == n_col[j])
    ]
    if y.sum() == 0 or y.sum() == len(y):
        return Fit(False, names, messages=[*messages, "outcome does not vary: not fitted"])
    if separated:
        return Fit(
            False,
            names,
            messages=[
                *messages,
                "perfect separation (no events, or only events) at "
                + ", ".join(f"{t}={lv}" for t, lv in separated)
                + ": not fitted",
            ],
        )
    p0 = float(y.mean())
    start_params = np.zeros(len(names))
    start_params[0] = math.log(p0 / (1 - p0))
    if start:
        start_params = np.array(
            [start.get(nm, s) for nm, s in zip(names, start_params, strict=True)]
        )
    _, groups = np.unique(clusters, return_inverse=True)
    n_clusters = int(groups.max()) + 1
    if n_clusters < 2:
        return Fit(
            False,
            names,
            messages=[*messages, "fewer than two clusters: clustered errors undefined"],
        )
    if n_clusters < MIN_CLUSTERS:
        messages.append(f"only {n_clusters} clusters: clustered standard errors may be too small")
    # Null model (intercept only) in closed form: statsmodels would refit it by BFGS.
    llnull = len(y) * (p0 * math.log(p0) + (1 - p0) * math.log(1 - p0))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # Column-major exog: statsmodels sums the row scores by cluster column by column.
            model = SparseLogit(
                y, x.toarray(order="F"), sparse_exog=x, patterns=patterns, check_rank=False
            )
            res = model.fit(
                start_params=start_params,
                method="newton",
                maxiter=settings.max_iterations,
                disp=False,
                cov_type="cluster",
                cov_kwds={"groups": groups},
            )
            alpha = 1 - settings.confidence_level
            fit = Fit(
                ok=True,
                names=names,
                params=np.asarray(res.params),
                bse=np.asarray(res.bse),
                pvalues=np.asarray(res.pvalues),
                conf=np.asarray(res.conf_int(alpha=alpha)),
                converged=bool(res.mle_retvals.get("converged", False)),
                iterations=int(res.mle_retvals.get("iterations", 0)),
                llf=float(res.llf),
                llnull=llnull,
                prsquared=1.0 - float(res.llf) / llnull,
                aic=float(res.aic),
                nobs=int(res.nobs),
                df_resid=int(res.df_resid),
                n_clusters=n_clusters,
            )
            fit.ame = average_marginal_effect(
                x, fit.params, np.asarray(res.cov_params()), soc_cols[0], alpha
            )
    except Exception as exc:  # one model's numerical failure must not stop the run
        return Fit(False, names, messages=[*messages, f"fit failed: {type(exc).__name__}: {exc}"])
    for w in caught:
        text = str(w.message).splitlines()[0]
        if issubclass(w.category, DeprecationWarning):
            continue
        messages.append(f"statsmodels warning: {w.category.__name__}: {text}")
    if not fit.converged:
        messages.append(f"did not converge within {settings.max_iterations} Newton iterations")
    large = [
        names[j]
        for j in range(1, len(names))
        if abs(fit.params[j]) > SEPARATION_LOG_ODDS or not np.isfinite(fit.bse[j])
    ]
    if large:
        messages.append(
            "possible quasi-separation (implausibly large or undefined coefficient) at "
            + ", ".join(f"{t}={lv}" for t, lv in large)
        )
    fit.messages = messages
    fit.seconds = time.perf_counter() - t0
    return fit


def average_marginal_effect(
    x: sp.csr_matrix, params: np.ndarray, cov: np.ndarray, soc_col: int, alpha: float
) -> tuple[float, float, float]:
    """Average difference in predicted probability, everyone as SOC minus everyone as non-SOC,
    with a delta-method interval from the (cluster-robust) covariance."""
    eta = x @ params
    soc = x[:, soc_col].toarray().ravel()
    eta1 = eta + (1 - soc) * params[soc_col]
    eta0 = eta - soc * params[soc_col]
    p1, p0 = _expit(eta1), _expit(eta0)
    ame = float(np.mean(p1 - p0))
    w1, w0 = p1 * (1 - p1), p0 * (1 - p0)
    # d AME / d beta: the SOC column is 1 in the first scenario and 0 in the second.
    grad = (x.T @ (w1 - w0)) / x.shape[0]
    grad[soc_col] = float(np.mean(w1))
    se = math.sqrt(max(float(grad @ cov @ grad), 0.0))
    z = float(norm.ppf(1 - alpha / 2))
    return ame, ame - z * se, ame + z * se


# ---------------------------------------------------------------------------------------------
# One model


@dataclass
class ModelResult:
    """One model: outcome x specification x SOC definition."""

    outcome: str
    spec: str
    definition: str
    soc_term: str
    terms: list[str]
    n_rows: int
    n_persons: int
    fit: Fit
    coefficients: pl.DataFrame
    level_stats: pl.DataFrame  # term, level, rows, persons, events, non_events
    messages: list[str]

    @property
    def levels(self) -> pl.DataFrame:
        """What the model disclosure check reads: term, level, persons, events."""
        return self.level_stats.select("term", "level", "persons", "events")

    @property
    def label(self) -> str:
        return f"{OUTCOME_LABELS[self.outcome]}, {SPEC_LABELS[self.spec]}"

    def publishable(self, thresholds: SdcThresholds) -> bool:
        """Fitted, and passes the model disclosure check (residual df, level counts)."""
        if not self.fit.ok:
            return False
        return check_model(self.fit.df_resid, self.levels, thresholds).status == "pass"

    def soc_row(self) -> pl.DataFrame:
        return self.coefficients.filter(
            (pl.col("term") == self.soc_term) & (pl.col("level") == SOC_YES)
        )


def model_terms(spec: str, soc_col: str, settings: ModelSettings) -> list[str]:
    """Formula terms of a specification, with SOC status from `soc_col`."""
    base = settings.unadjusted if spec == "unadjusted" else settings.adjusted
    terms = [soc_col if t == SOC_TERM else t for t in base]
    if spec == "court_fe":
        terms = [t for t in terms if t != settings.fixed_effects] + [settings.fixed_effects]
    return terms


@dataclass
class PreparedOutcome:
    """The population readied for every model of one outcome. Small levels are merged once per
    outcome (merging depends on the outcome, not on the specification or the SOC definition),
    and each covariate's level counts, reference level and design columns are kept for re-use.
    """

    outcome: str
    frame: pl.DataFrame
    y: np.ndarray
    clusters: np.ndarray
    n_persons: int
    messages: dict[str, list[str]]
    references: dict[str, str]
    level_stats: dict[str, pl.DataFrame]
    blocks: dict[str, Block]
    nested: list[str]


def prepare_outcome(
    population: pl.DataFrame, outcome: str, settings: ModelSettings
) -> PreparedOutcome:
    """Merge the too-small levels of every covariate for `outcome` (see the module docstring)."""
    covariates = [t for t in settings.model_terms() if t != SOC_TERM]
    categorical = [t for t in covariates if t not in settings.numeric_terms]
    frame = population
    messages: dict[str, list[str]] = {t: [] for t in covariates}
    level_stats: dict[str, pl.DataFrame] = {}
    for term in categorical:
        plan = plan_levels(frame, term, outcome, settings, term in settings.ordered_terms)
        messages[term] = plan.messages
        if plan.changes:
            frame = frame.with_columns(
                pl.col(term).replace_strict(plan.mapping, return_dtype=pl.String)
            )
            level_stats[term] = model_levels(frame, [term], outcome)
        else:
            level_stats[term] = _as_level_stats(term, plan.counts)
    references = {t: _reference(frame, t, settings) for t in categorical}
    for t in categorical:
        if frame[t].n_unique() < 2:
            messages[t].append(f"{t}: a single level remains; left out of the model")
    for t in covariates:
        for m in messages[t]:
            log.info("%s: %s", OUTCOME_LABELS[outcome], m)
    fe = settings.fixed_effects
    return PreparedOutcome(
        outcome=outcome,
        frame=frame,
        y=frame[outcome].cast(pl.Float64).to_numpy(),
        clusters=frame["cluster"].rank("dense").to_numpy(),
        n_persons=frame["person"].n_unique(),
        messages=messages,
        references=references,
        level_stats=level_stats,
        blocks={
            t: design_block(frame, t, references.get(t), t in settings.numeric_terms)
            for t in covariates
        },
        nested=nested_terms(frame, [t for t in covariates if t != fe], fe),
    )


def fit_model(
    prepared: PreparedOutcome,
    spec: str,
    settings: ModelSettings,
    definition: str = PRIMARY,
    start: dict[tuple[str, str], float] | None = None,
) -> ModelResult:
    """Build the design of one model from the prepared outcome, fit, and tabulate."""
    outcome = prepared.outcome
    soc_col = soc_column(definition)
    terms = model_terms(spec, soc_col, settings)
    messages: list[str] = []
    if spec == "court_fe":
        nested = [t for t in terms if t in prepared.nested]
        if nested:
            messages.append(
                f"{', '.join(nested)} constant within {settings.fixed_effects}: absorbed by the "
                "fixed effects and left out"
            )
            terms = [t for t in terms if t not in nested]
    covariates = [t for t in terms if t != soc_col]
    for t in covariates:
        messages.extend(prepared.messages[t])
    # SOC status first, then the covariates that still have columns, in formula order.
    terms = [soc_col, *[t for t in covariates if prepared.blocks[t].width > 0]]
    categorical = [t for t in terms[1:] if t not in settings.numeric_terms]
    frame = prepared.frame
    if soc_col not in prepared.level_stats:
        prepared.level_stats[soc_col] = model_levels(frame, [soc_col], outcome)
    levels = pl.concat([prepared.level_stats[t] for t in [soc_col, *categorical]])
    references = {soc_col: SOC_NO, **{t: prepared.references[t] for t in categorical}}
    blocks = [design_block(frame, soc_col, SOC_NO), *[prepared.blocks[t] for t in terms[1:]]]
    x, names = stack_blocks(frame.height, blocks)
    fit = fit_logit(
        prepared.y, x, names, prepared.clusters, soc_col, settings, start, pattern_index(blocks)
    )
    messages.extend(fit.messages)
    result = ModelResult(
        outcome=outcome,
        spec=spec,
        definition=definition,
        soc_term=soc_col,
        terms=terms,
        n_rows=frame.height,
        n_persons=prepared.n_persons,
        fit=fit,
        coefficients=coefficient_table(fit, references),
        level_stats=levels,
        messages=messages,
    )
    # Merges were logged once per outcome by `prepare_outcome`; log what is this model's own.
    merges = {m for t in covariates for m in prepared.messages[t]}
    for m in messages:
        if m not in merges:
            log.info("%s (%s): %s", result.label, definition, m)
    if fit.ok:
        log.info(
            "%s (%s): %d columns, %s iterations, %.1fs",
            result.label,
            definition,
            len(fit.names),
            fit.iterations,
            fit.seconds,
        )
    return result


def _reference(frame: pl.DataFrame, term: str, settings: ModelSettings) -> str:
    """The configured reference level if it is (part of) a model level, else the largest level
    that is not the pooled "Other" (a mixed bag makes a poor baseline)."""
    wanted = settings.reference_levels.get(term)
    if wanted is not None:
        for lv in frame[term].unique().sort().to_list():
            if lv == wanted or (" to " in lv and wanted in lv.split(" to ")):
                return lv
    sizes = (
        frame.group_by(term)
        .len()
        .sort([pl.col(term) == settings.other_label, "len", term], descending=[False, True, False])
    )
    return sizes[term][0]


def model_levels(frame: pl.DataFrame, terms: list[str], event: str) -> pl.DataFrame:
    """Defendant-cases, distinct persons, and persons with and without the event, per level of
    every categorical term (display order: levels as in the design, reference included)."""
    parts = [_as_level_stats(t, level_counts(frame, t, event)) for t in terms]
    return pl.concat(parts) if parts else pl.DataFrame()


def _as_level_stats(term: str, counts: pl.DataFrame) -> pl.DataFrame:
    return counts.select(
        pl.lit(term).alias("term"),
        "level",
        "rows",
        pl.col("persons").cast(pl.Int64),
        pl.col("events").cast(pl.Int64),
        pl.col("non_events").cast(pl.Int64),
    )


COEFFICIENT_SCHEMA = {
    "term": pl.String,
    "level": pl.String,
    "note": pl.String,
    "coef": pl.Float64,
    "se": pl.Float64,
    "ci_lower": pl.Float64,
    "ci_upper": pl.Float64,
    "p_value": pl.Float64,
    "odds_ratio": pl.Float64,
}


def coefficient_table(fit: Fit, references: dict[str, str]) -> pl.DataFrame:
    """term, level, note, coef, se, ci_lower, ci_upper (odds-ratio scale), p_value, odds_ratio,
    term by term in model order, each categorical term's reference level first (odds ratio 1).
    """
    if not fit.ok:
        return pl.DataFrame(schema=COEFFICIENT_SCHEMA)
    rows: list[tuple] = []
    seen: set[str] = set()
    # One row per coefficient (tens), not per observation.
    for j, (term, level) in enumerate(fit.names):
        if term not in seen and term in references:
            rows.append((term, references[term], REFERENCE_NOTE, 0.0, None, None, None, None, 1.0))
        seen.add(term)
        rows.append(
            (
                term,
                level,
                "",
                float(fit.params[j]),
                float(fit.bse[j]),
                float(np.exp(fit.conf[j, 0])),
                float(np.exp(fit.conf[j, 1])),
                float(fit.pvalues[j]),
                float(np.exp(fit.params[j])),
            )
        )
    return pl.DataFrame(rows, schema=COEFFICIENT_SCHEMA, orient="row")


# ---------------------------------------------------------------------------------------------
# All models


@dataclass
class ModelRun:
    """Everything the stage computed."""

    population: pl.DataFrame
    exclusions: pl.DataFrame
    definitions: list[str]
    results: list[ModelResult]
    prepared: dict[str, PreparedOutcome]

    def get(self, outcome: str, spec: str, definition: str = PRIMARY) -> ModelResult:
        for r in self.results:
            if (r.outcome, r.spec, r.definition) == (outcome, spec, definition):
                return r
        raise KeyError((outcome, spec, definition))


def run_models(crown: pl.DataFrame, flags: pl.DataFrame, settings: ModelSettings) -> ModelRun:
    """Population, then every outcome x specification, then the sensitivity definitions."""
    population, exclusions = build_population(crown, flags, settings)
    definitions = list(soc_definitions(flags, settings.soc_flag))
    log.info(
        "population: %d defendant-cases, %d persons; %d SOC definitions",
        population.height,
        population["person"].n_unique(),
        len(definitions),
    )
    results: list[ModelResult] = []
    prepared_all: dict[str, PreparedOutcome] = {}
    for outcome in OUTCOME_KEYS:
        t0 = time.perf_counter()
        prepared = prepare_outcome(population, outcome, settings)
        prepared_all[outcome] = prepared
        log.info("%s: levels merged in %.1fs", OUTCOME_LABELS[outcome], time.perf_counter() - t0)
        adjusted: ModelResult | None = None
        for spec in SPECS:
            start = _start(adjusted) if spec == "court_fe" else None
            r = fit_model(prepared, spec, settings, start=start)
            results.append(r)
            if spec == "adjusted":
                adjusted = r
        if outcome not in settings.sensitivity_outcomes:
            continue
        for definition in definitions[1:]:
            start = _start(adjusted, rename={SOC_TERM: soc_column(definition)})
            results.append(fit_model(prepared, "adjusted", settings, definition, start=start))
    return ModelRun(population, exclusions, definitions, results, prepared_all)


def _start(
    r: ModelResult | None, rename: dict[str, str] | None = None
) -> dict[tuple[str, str], float] | None:
    """Starting values from a fitted model: a nearby model converges in fewer Newton steps."""
    if r is None or not r.fit.ok:
        return None
    rename = rename or {}
    return {
        (rename.get(t, t), lv): float(p)
        for (t, lv), p in zip(r.fit.names, r.fit.params, strict=True)
    }


# ---------------------------------------------------------------------------------------------
# Candidates


def _outcome_class() -> pl.Expr:
    return (
        pl.when(pl.col("discontinued"))
        .then(pl.lit(OUTCOME_LABELS["discontinued"]))
        .when(pl.col("dismissed"))
        .then(pl.lit(OUTCOME_LABELS["dismissed"]))
        .otherwise(pl.lit("Neither"))
    )


def population_table(population: pl.DataFrame) -> pl.DataFrame:
    """Distinct persons by outcome class (discontinued, dismissed, neither) x SOC status."""
    classes = [OUTCOME_LABELS["discontinued"], OUTCOME_LABELS["dismissed"], "Neither"]
    return (
        population.group_by(
            _outcome_class().alias("outcome_class"), pl.col(SOC_TERM).alias("soc_status")
        )
        .agg(pl.col("person").n_unique().alias("persons"))
        .with_columns(
            pl.col("outcome_class")
            .replace_strict({c: i for i, c in enumerate(classes)})
            .alias("_o"),
            (pl.col("soc_status") == SOC_NO).alias("_s"),
        )
        .sort("_o", "_s")
        .drop("_o", "_s")
    )


def exclusions_table(
    population: pl.DataFrame, exclusions: pl.DataFrame, settings: ModelSettings
) -> pl.DataFrame:
    """Persons in the population and excluded from it, by reason."""
    included = pl.DataFrame(
        {
            "reason": [
                "in the population (receipt type " + ", ".join(settings.receipt_types) + ")"
            ],
            "defendant_cases": [population.height],
            "persons": [population["person"].n_unique()],
        },
        schema={"reason": pl.String, "defendant_cases": pl.Int64, "persons": pl.Int64},
    )
    return pl.concat(
        [included, exclusions.cast({"defendant_cases": pl.Int64, "persons": pl.Int64})]
    )


def _combine_levels(results: list[ModelResult]) -> pl.DataFrame:
    """Levels of several models in one candidate: the smallest count of each (term, level)."""
    return (
        pl.concat([r.levels for r in results])
        .group_by("term", "level", maintain_order=True)
        .agg(pl.col("persons").min(), pl.col("events").min())
    )


FOREST = {
    "type": "forest",
    "label": "label",
    "estimate": "odds_ratio",
    "lower": "ci_lower",
    "upper": "ci_upper",
    "ref": 1.0,
    "log": True,
}


def _soc_rows(
    results: list[ModelResult],
    labels: list[str],
    by: str,
    definition_labels: dict[str, str] | None = None,
) -> pl.DataFrame:
    """The SOC odds ratio of each model, one row per model, labelled for a forest plot; `by`
    is "model" (specifications side by side) or "definition" (SOC definitions, named by
    `definition_labels` where given)."""
    names = definition_labels or {}
    parts = [
        r.soc_row().select(
            pl.lit(OUTCOME_LABELS[r.outcome]).alias("outcome"),
            pl.lit(
                SPEC_LABELS[r.spec] if by == "model" else names.get(r.definition, r.definition)
            ).alias(by),
            pl.lit(label).alias("label"),
            pl.lit(SOC_TERM).alias("term"),
            pl.lit(f"{SOC_YES} vs {SOC_NO}").alias("level"),
            *[c for c in COEFFICIENT_SCHEMA if c not in ("term", "level", "note")],
        )
        for r, label in zip(results, labels, strict=True)
    ]
    return pl.concat(parts)


def _model_spec(residual_df: int, settings: ModelSettings, **more: Any) -> dict[str, Any]:
    return {
        "residual_df": int(residual_df),
        "effect": "odds_ratio",
        "ci_scale": "odds_ratio",
        "confidence_level": settings.confidence_level,
        "cluster": settings.cluster,
        **more,
    }


def model_candidate(r: ModelResult, settings: ModelSettings) -> Candidate:
    """One fitted model; with court fixed effects, only the SOC rows are published (the levels
    still list every court level for the check)."""
    ci = f"{round(100 * settings.confidence_level)}%"
    # Reference levels have no estimate of their own: named in the notes, not shown as rows
    # of empty cells (which would read as withheld values).
    references = r.coefficients.filter(pl.col("note") == REFERENCE_NOTE)
    data = r.coefficients.filter(pl.col("note") != REFERENCE_NOTE).drop("note")
    if r.spec == "court_fe":
        data = data.filter(pl.col("term") == r.soc_term)
        references = references.filter(pl.col("term") == r.soc_term)
    reference_text = ", ".join(
        f"{t} = {lv}" for t, lv in zip(references["term"], references["level"], strict=True)
    )
    notes = [
        f"Logistic regression of {OUTCOME_LABELS[r.outcome].lower()} on {' + '.join(r.terms)}; "
        f"standard errors clustered by {settings.cluster} ({r.fit.n_clusters} clusters); "
        f"coef and se on the log-odds scale, ci_lower and ci_upper the {ci} interval of the "
        f"odds ratio. Reference levels: {reference_text}."
    ]
    if r.spec == "court_fe":
        notes.append("Only SOC status is shown; the court coefficients are not published.")
    notes.extend(f"{m}." for m in r.messages)
    return Candidate(
        f"model_{r.outcome}_{r.spec}",
        "model",
        f"{r.label}: odds ratios",
        data,
        spec=_model_spec(
            r.fit.df_resid,
            settings,
            outcome=r.outcome,
            model=r.spec,
            formula="outcome ~ " + " + ".join(r.terms),
            n_clusters=r.fit.n_clusters,
        ),
        extra={"levels": r.levels},
        notes=" ".join(notes),
    )


def levels_candidate(prepared: PreparedOutcome, term: str) -> Candidate:
    """Persons per level of one covariate (as merged for the model of `prepared`) by outcome
    class: N and events per level, for every modelled outcome at once."""
    classes = [OUTCOME_LABELS["discontinued"], OUTCOME_LABELS["dismissed"], "Neither"]
    frame = prepared.frame
    levels = _display_levels(frame, term)
    table = (
        frame.group_by(pl.col(term).alias("level"), _outcome_class().alias("outcome"))
        .agg(pl.col("person").n_unique().cast(pl.Int64).alias("persons"))
        .with_columns(
            pl.col("level").replace_strict({lv: i for i, lv in enumerate(levels)}).alias("_l"),
            pl.col("outcome").replace_strict({c: i for i, c in enumerate(classes)}).alias("_o"),
        )
        .sort("_l", "_o")
        .drop("_l", "_o")
    )
    return Candidate(
        f"model_n_{term}",
        "frequency",
        f"Persons by {term} and outcome (levels as in the adjusted models)",
        table,
        spec={"row": "level", "col": "outcome", "count": "persons"},
        notes=(
            f"Levels of {term} after merging too-small levels for the "
            f"{OUTCOME_LABELS[prepared.outcome].lower()} model; the models of the other outcomes "
            "may merge more (see their notes). Distinct persons per cell."
        ),
    )


def build_candidates(
    run: ModelRun, settings: ModelSettings, definition_labels: dict[str, str] | None = None
) -> list[Candidate]:
    """The stage's would-be outputs (see the contract in `socflow.outputs`)."""
    thr = settings.thresholds
    ci = f"{round(100 * settings.confidence_level)}%"
    pop = run.population
    out: list[Candidate] = [
        Candidate(
            "model_population",
            "frequency",
            "Modelling population: persons by outcome and SOC status",
            population_table(pop).cast({"persons": pl.Int64}),
            spec={"row": "outcome_class", "col": "soc_status", "count": "persons"},
            notes=(
                f"Crown Court defendant-cases received for {' or '.join(settings.receipt_types)}"
                "; distinct persons per cell (a person with cases in two cells counts in both). "
                f"Discontinued: {', '.join(settings.discontinued)}. Dismissed: "
                f"{', '.join(settings.dismissed)}. Neither: every other outcome (including "
                f"{', '.join(settings.neither)})."
            ),
        ),
        Candidate(
            "model_exclusions",
            "frequency",
            "Crown Court defendant-cases in and out of the modelling population (persons)",
            exclusions_table(pop, run.exclusions, settings).select("reason", "persons"),
            spec={"row": "reason", "col": None, "count": "persons"},
            notes="Each excluded defendant-case is counted under the first reason that applies.",
        ),
    ]
    main = [r for r in run.results if r.definition == PRIMARY]
    out += [model_candidate(r, settings) for r in main if r.fit.ok]
    either = run.prepared["either"]
    out += [
        levels_candidate(either, t)
        for t in settings.adjusted
        if t != SOC_TERM and t not in settings.numeric_terms and either.blocks[t].width > 0
    ]
    # Forests of the SOC odds ratio: only models that pass the model check go in, so that one
    # model too small to publish does not withhold the others.
    summary = [r for r in main if r.publishable(thr)]
    left_out = [r.label for r in main if not r.publishable(thr)]
    if summary:
        out.append(
            Candidate(
                "model_soc_odds_ratios",
                "model",
                "SOC odds ratios by outcome and model",
                _soc_rows(
                    summary,
                    [f"{OUTCOME_LABELS[r.outcome]}: {SPEC_LABELS[r.spec]}" for r in summary],
                    by="model",
                ),
                spec=_model_spec(min(r.fit.df_resid for r in summary), settings),
                extra={"levels": _combine_levels(summary)},
                notes=f"SOC vs non-SOC defendant-cases, {ci} intervals."
                + (
                    f" Not shown (not fitted, or too small to publish): {'; '.join(left_out)}."
                    if left_out
                    else ""
                ),
                figure=FOREST,
            )
        )
    sens = [
        r
        for r in run.results
        if r.spec == "adjusted" and r.outcome in settings.sensitivity_outcomes
    ]
    sens_ok = [r for r in sens if r.publishable(thr)]
    names = definition_labels or {}

    def sens_label(r: ModelResult) -> str:
        return f"{OUTCOME_LABELS[r.outcome]}: {names.get(r.definition, r.definition)}"

    sens_out = [sens_label(r) for r in sens if not r.publishable(thr)]
    if sens_ok:
        out.append(
            Candidate(
                "model_soc_sensitivity",
                "model",
                "SOC odds ratios under every SOC definition",
                _soc_rows(
                    sens_ok,
                    [sens_label(r) for r in sens_ok],
                    by="definition",
                    definition_labels=names,
                ),
                spec=_model_spec(min(r.fit.df_resid for r in sens_ok), settings),
                extra={"levels": _combine_levels(sens_ok)},
                notes="The adjusted model refitted with SOC status under each definition of the "
                "flagging stage (the primary definition is the main one)."
                + (
                    " Not shown (SOC level too small to publish, or not fitted): "
                    f"{'; '.join(sens_out)}."
                    if sens_out
                    else ""
                ),
                figure=FOREST,
            )
        )
    problems = [f"{r.label}: {'; '.join(r.messages)}" for r in main if not r.fit.ok]
    out.append(
        Candidate(
            "model_fit",
            "statistics",
            "Model fit and the SOC difference in predicted probability",
            fit_statistics(main),
            notes=(
                "Pseudo-R-squared is McFadden's (1 - log-likelihood / null log-likelihood). The "
                "SOC minus non-SOC difference is the average, over the model's defendant-cases, "
                "of the predicted probability as SOC minus that as non-SOC (average marginal "
                f"effect), with a delta-method {ci} interval from the clustered covariance."
                + (f" Not fitted: {' | '.join(problems)}." if problems else "")
            ),
        )
    )
    for i, c in enumerate(out, start=1):
        c.order = i
    return out


def fit_statistics(results: list[ModelResult]) -> pl.DataFrame:
    """statistic, value, ci_lower, ci_upper, n_persons for every fitted main model."""
    rows: list[tuple] = []
    for r in results:
        if not r.fit.ok:
            continue
        ame, lo, hi = r.fit.ame or (math.nan, math.nan, math.nan)
        rows += [
            (f"{r.label}: McFadden pseudo-R-squared", r.fit.prsquared, None, None, r.n_persons),
            (f"{r.label}: AIC", r.fit.aic, None, None, r.n_persons),
            (
                f"{r.label}: {AME_STATISTIC}",
                100 * ame,
                100 * lo,
                100 * hi,
                r.n_persons,
            ),
        ]
    return pl.DataFrame(rows, schema=STATISTICS_SCHEMA, orient="row")


def estimates_table(run: ModelRun) -> pl.DataFrame:
    """Every coefficient of every model (court coefficients too), for re-use in results/."""
    parts = [
        r.coefficients.select(
            pl.lit(r.outcome).alias("outcome"),
            pl.lit(r.spec).alias("model"),
            pl.lit(r.definition).alias("definition"),
            pl.all(),
        )
        for r in run.results
        if r.fit.ok
    ]
    return pl.concat(parts) if parts else pl.DataFrame()


def diagnostics_table(run: ModelRun) -> pl.DataFrame:
    """One row per model: fitted or not, convergence, sizes and every message (times are in the
    log: this table is deterministic)."""
    return pl.DataFrame(
        [
            {
                "outcome": r.outcome,
                "model": r.spec,
                "definition": r.definition,
                "fitted": r.fit.ok,
                "converged": r.fit.converged,
                "iterations": r.fit.iterations,
                "columns": len(r.fit.names),
                "defendant_cases": r.n_rows,
                "persons": r.n_persons,
                "residual_df": r.fit.df_resid,
                "messages": " | ".join(r.messages),
            }
            for r in run.results
        ]
    )


def run_stage(
    crown_path: str | Path,
    flags_path: str | Path,
    cfg: dict[str, Any],
    sdc: dict[str, Any],
    out_population: str | Path,
    out_estimates: str | Path,
    out_diagnostics: str | Path,
    out_exclusions: str | Path,
    out_candidates: str | Path,
    definition_labels: dict[str, str] | None = None,
) -> ModelRun:
    """Rule `model_outcomes`: read, fit every model, write intermediates and candidates.
    `definition_labels` names the SOC definitions in words in the published outputs."""
    t0 = time.perf_counter()
    settings = ModelSettings.from_config(cfg, sdc)
    crown = pl.read_parquet(crown_path)
    flags = pl.read_parquet(flags_path)
    run = run_models(crown, flags, settings)
    run.population.write_parquet(out_population)
    estimates_table(run).write_parquet(out_estimates)
    diagnostics_table(run).write_parquet(out_diagnostics)
    exclusions_table(run.population, run.exclusions, settings).write_csv(out_exclusions)
    write_candidates(
        build_candidates(run, settings, definition_labels), out_candidates, stage=STAGE
    )
    log.info("model stage done in %.1fs", time.perf_counter() - t0)
    return run
