"""Aim 3: is SOC status associated with a Crown Court case being discontinued or dismissed?

Three binary outcomes are modelled for every defendant-case in the population (default: Crown
Court cases received for trial; cases received for sentence or on appeal cannot be
discontinued and are excluded with a count): *discontinued*, *dismissed* and *either*, each a
configured set of canonical outcomes. Each is regressed on SOC status by logistic regression
(Newton steps, standard errors clustered by court), unadjusted, adjusted
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
sparse matrix (mostly one-hot dummies) and never made dense. The likelihood, score and Hessian
are evaluated on the distinct covariate patterns (exact, and far fewer than rows) and maximised
by statsmodels' Newton steps, reproduced bit for bit without importing it (`SparseLogit`;
tests hold it to statsmodels' own optimiser); the cluster-robust covariance, inference and
AIC follow statsmodels' `Logit` formulas (tests hold them to it at 1e-12), with the per-cluster
score sums taken as one sparse product. McFadden's pseudo-R-squared uses the intercept-only
log-likelihood in closed form.

Layout (one question per module): `settings` (names, the `model` config section), `population`
(who is modelled), `counts` (counts per level of any merging, from integer codes), `levels`
(merging too-small levels, reference levels),
`design` (sparse design blocks, covariate patterns, collinearity), `logit` (the logistic fit and
the average marginal effect), `cluster` (the cluster-robust covariance), `prepare` (the
population readied for one outcome), `models` (one model and its coefficient table),
`candidates` (outputs for disclosure), `run` (every model and the rule's entry point).
"""

from socflow.model.candidates import (
    FOREST,
    build_candidates,
    exclusions_table,
    fit_statistics,
    levels_candidate,
    model_candidate,
    population_table,
)
from socflow.model.cluster import cluster_codes, cluster_covariance, cluster_score_sums
from socflow.model.design import (
    COLLINEAR_TOL,
    Block,
    PatternDesign,
    Patterns,
    blocks_pattern_design,
    collapse_patterns,
    covariate_patterns,
    design_block,
    first_rows,
    independent_columns,
    pattern_index,
    stack_block_rows,
    stack_blocks,
    with_leading_block,
)
from socflow.model.levels import LevelPlan, level_counts, model_levels, nested_terms, plan_levels
from socflow.model.logit import (
    MIN_CLUSTERS,
    SEPARATION_LOG_ODDS,
    ConvergenceWarning,
    Fit,
    NewtonFit,
    PerfectSeparationWarning,
    SparseLogit,
    average_marginal_effect,
    fit_logit,
    fit_patterns,
)
from socflow.model.models import (
    COEFFICIENT_SCHEMA,
    ModelResult,
    coefficient_table,
    fit_model,
    model_terms,
)
from socflow.model.population import (
    band_labels,
    build_population,
    crown_columns,
    read_inputs,
    soc_column,
    soc_definitions,
)
from socflow.model.prepare import PreparedOutcome, prepare_outcome
from socflow.model.run import (
    ModelRun,
    _start,
    diagnostics_table,
    estimates_table,
    run_models,
    run_stage,
)
from socflow.model.settings import (
    AME_STATISTIC,
    DEFENDANTS_BAND,
    INTERCEPT,
    OUTCOME_KEYS,
    OUTCOME_LABELS,
    PRIMARY,
    REFERENCE_NOTE,
    SOC_NO,
    SOC_TERM,
    SOC_YES,
    SPEC_LABELS,
    SPECS,
    STAGE,
    ModelConfigError,
    ModelSettings,
    parse_formula,
)

__all__ = [
    "AME_STATISTIC",
    "COEFFICIENT_SCHEMA",
    "COLLINEAR_TOL",
    "DEFENDANTS_BAND",
    "FOREST",
    "INTERCEPT",
    "MIN_CLUSTERS",
    "OUTCOME_KEYS",
    "OUTCOME_LABELS",
    "PRIMARY",
    "REFERENCE_NOTE",
    "SEPARATION_LOG_ODDS",
    "SOC_NO",
    "SOC_TERM",
    "SOC_YES",
    "SPECS",
    "SPEC_LABELS",
    "STAGE",
    "Block",
    "ConvergenceWarning",
    "Fit",
    "LevelPlan",
    "ModelConfigError",
    "ModelResult",
    "ModelRun",
    "ModelSettings",
    "NewtonFit",
    "PatternDesign",
    "Patterns",
    "PerfectSeparationWarning",
    "PreparedOutcome",
    "SparseLogit",
    "_start",
    "average_marginal_effect",
    "band_labels",
    "blocks_pattern_design",
    "build_candidates",
    "build_population",
    "cluster_codes",
    "cluster_covariance",
    "cluster_score_sums",
    "coefficient_table",
    "collapse_patterns",
    "covariate_patterns",
    "crown_columns",
    "design_block",
    "diagnostics_table",
    "estimates_table",
    "exclusions_table",
    "first_rows",
    "fit_logit",
    "fit_model",
    "fit_patterns",
    "fit_statistics",
    "independent_columns",
    "level_counts",
    "levels_candidate",
    "model_candidate",
    "model_levels",
    "model_terms",
    "nested_terms",
    "parse_formula",
    "pattern_index",
    "plan_levels",
    "population_table",
    "prepare_outcome",
    "read_inputs",
    "run_models",
    "run_stage",
    "soc_column",
    "soc_definitions",
    "stack_block_rows",
    "stack_blocks",
    "with_leading_block",
]
