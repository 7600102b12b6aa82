"""Re-appearance before the courts after a Crown Court case: SOC against non-SOC (aim 4).

Court data hold no PNC record and no cautions, so the study measures *re-appearance*: a new case,
in either court, for an offence committed after the start of time at risk, found through the
cross-justice person ID of the linking table.

* **Persons.** Every Crown Court and magistrates' row is given one person ID from `xjs_link`: a
  row linked to two or more IDs takes one deterministically (the smallest, as
  `socflow.soc.person_keys` does, or the ID with the most linked rows). Rows with no ID cannot be
  followed and are counted, not used.
* **Index event.** Per person, the first Crown Court defendant-case disposed in the study window
  that meets the cohort definition; SOC status is that defendant-case's flag. Time at risk starts
  at disposal or, for immediate custody, at the estimated release date (disposal plus
  `release_fraction` of the custodial term): time in custody is not time at risk.
* **New cases.** Magistrates' criminal rows (breaches and civil applications are not new
  offences) and Crown Court rows are grouped into cases: rows of one case ID, rows joined by the
  magistrates'-to-Crown journey table (a case sent to the Crown Court is one case, not two), and
  optionally rows of one person with the same offence date, are the same case (connected
  components). A case reached twice, through both courts or through a fanned-out link, counts
  once; the index case itself never counts.
* **Event.** The first new case whose offence date falls after the start of time at risk, timed
  by its offence date or first hearing, recorded (disposed; optionally convicted) within the
  waiting period after the offence. Follow-up is censored `waiting_period_days` before the end of
  the data or of coverage, so that every person's follow-up could have shown a recorded event.

Analyses: Kaplan-Meier cumulative re-appearance with log-log (exponential Greenwood) bands,
numbers at risk, the log-rank test, proportions at fixed horizons, re-appearance counts, and a
Cox model (Efron ties, fitted here by Newton-Raphson to a tight tolerance) with the robust
(sandwich) variance clustered by index case and R's `cox.zph` proportional-hazards test, all in
vectorised form (never quadratic in the number of persons) and checked against R's survival
package (tests/test_survival_reference.py; method note docs/methods/survival.md).

Layout (one question per module): `settings` (config), `clusters` (whose outcomes are
correlated), `linking` (person IDs), `cohort` (index events), `cases` (new cases), `followup`
(time at risk and events), `kaplan_meier` (curves, numbers at risk, log-rank, clustered
intervals), `cox_design` (dummy coding, pooling), `efron` (partial likelihood, Newton-Raphson,
score residuals), `robust` (sandwich variance), `ph_test` (proportional-hazards test), `cox` (fit
and stratification), `tables` (summaries and sensitivity), `results`, `candidates` (outputs for
disclosure), `run` (the stage and the rule's entry point), `truth` (synthetic validation only).
"""

from socflow.survival.candidates import (
    PH_TRANSFORM_LABELS,
    build_candidates,
    cox_candidates,
    linkage_statistics,
)
from socflow.survival.cases import CaseTables, court_rows, new_cases
from socflow.survival.clusters import CLUSTER_LABELS, cluster_expr
from socflow.survival.cohort import INDEX_COLUMNS, index_events, start_of_risk
from socflow.survival.cox import CoxFit, CoxModel, cox_analysis, cox_ph_test, fit_cox, strata_codes
from socflow.survival.cox_design import Design, cox_design, pool_small_levels, pooled_level
from socflow.survival.efron import (
    TIES,
    CoxConvergenceError,
    CoxSolution,
    Evaluation,
    RiskSets,
    block_scores,
    newton_raphson,
    risk_sets,
    score_residuals_from,
    time_weighted_information,
)
from socflow.survival.followup import (
    band,
    band_labels,
    days_label,
    follow_up,
    follow_up_band_labels,
)
from socflow.survival.kaplan_meier import (
    LogRank,
    at_risk_table,
    kaplan_meier,
    km_at,
    km_at_clustered,
    logrank,
)
from socflow.survival.linking import attach_person_ids, linkage_diagnostics, resolve_person_ids
from socflow.survival.ph_test import ph_test, transformed_time
from socflow.survival.results import Results
from socflow.survival.robust import cluster_sums, robust_covariance, sandwich, score_residuals
from socflow.survival.run import analyse, read_inputs, run_survival
from socflow.survival.settings import (
    ALL_LABEL,
    CLUSTERS,
    FANOUT_RULES,
    GROUP,
    NON_SOC_LABEL,
    PH_TRANSFORMS,
    SOC_LABEL,
    TIMINGS,
    CoxSettings,
    Settings,
    SurvivalConfigError,
    parse_date,
    str_col,
)
from socflow.survival.tables import (
    count_frequency,
    coverage_frequency,
    follow_up_frequency,
    proportions,
    sensitivity_table,
    status_frequency,
)
from socflow.survival.truth import truth_follow_up

__all__ = [
    "ALL_LABEL",
    "CLUSTERS",
    "CLUSTER_LABELS",
    "FANOUT_RULES",
    "GROUP",
    "INDEX_COLUMNS",
    "NON_SOC_LABEL",
    "PH_TRANSFORMS",
    "PH_TRANSFORM_LABELS",
    "SOC_LABEL",
    "TIES",
    "TIMINGS",
    "CaseTables",
    "CoxConvergenceError",
    "CoxFit",
    "CoxModel",
    "CoxSettings",
    "CoxSolution",
    "Design",
    "Evaluation",
    "LogRank",
    "Results",
    "RiskSets",
    "Settings",
    "SurvivalConfigError",
    "analyse",
    "at_risk_table",
    "attach_person_ids",
    "band",
    "band_labels",
    "block_scores",
    "build_candidates",
    "cluster_expr",
    "cluster_sums",
    "count_frequency",
    "court_rows",
    "coverage_frequency",
    "cox_analysis",
    "cox_candidates",
    "cox_design",
    "cox_ph_test",
    "days_label",
    "fit_cox",
    "follow_up",
    "follow_up_band_labels",
    "follow_up_frequency",
    "index_events",
    "kaplan_meier",
    "km_at",
    "km_at_clustered",
    "linkage_diagnostics",
    "linkage_statistics",
    "logrank",
    "new_cases",
    "newton_raphson",
    "parse_date",
    "ph_test",
    "pool_small_levels",
    "pooled_level",
    "proportions",
    "read_inputs",
    "resolve_person_ids",
    "risk_sets",
    "robust_covariance",
    "run_survival",
    "sandwich",
    "score_residuals",
    "score_residuals_from",
    "sensitivity_table",
    "start_of_risk",
    "status_frequency",
    "str_col",
    "strata_codes",
    "time_weighted_information",
    "transformed_time",
    "truth_follow_up",
]
