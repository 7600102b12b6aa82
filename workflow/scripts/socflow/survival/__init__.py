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
(time at risk and events), `prepare` (everything before SOC status: rule survival_cohort),
`kaplan_meier` (curves, numbers at risk, log-rank, clustered intervals), `cox_design` (dummy
coding, pooling), `efron` (partial likelihood, Newton-Raphson, score residuals), `robust`
(sandwich variance), `ph_test` (proportional-hazards test), `cox` (fit and stratification),
`tables` (summaries and sensitivity), `results`, `candidates` (outputs for disclosure), `run`
(SOC status, the estimates and the rule survival's entry point), `truth` (synthetic validation
only).
"""

from socflow.lazy import lazy_exports

# A function named as its module is bound here, before anything imports the module: importing
# a submodule sets the package attribute of that name to the module.
from socflow.survival.cox_design import cox_design
from socflow.survival.kaplan_meier import kaplan_meier
from socflow.survival.ph_test import ph_test

# Everything else is imported on first use (PEP 562), so that a rule needing one light part
# (e.g. the Kaplan-Meier estimator for the headline measures) does not import the Cox model
# and its libraries.
_EXPORTS = {
    "ALL_LABEL": "settings",
    "CLUSTERS": "settings",
    "CLUSTER_LABELS": "clusters",
    "ESTIMATED_RELEASE": "prepare",
    "FANOUT_RULES": "settings",
    "GROUP": "settings",
    "INDEX_COLUMNS": "cohort",
    "NON_SOC_LABEL": "settings",
    "PH_TRANSFORMS": "settings",
    "PH_TRANSFORM_LABELS": "candidates",
    "PRIMARY": "prepare",
    "SENSITIVITY_ORDER": "candidates",
    "SOC_LABEL": "settings",
    "TIES": "efron",
    "TIMINGS": "settings",
    "CaseGraph": "cases",
    "CaseTables": "cases",
    "Cohort": "prepare",
    "CoxConvergenceError": "efron",
    "CoxFit": "cox",
    "CoxModel": "cox",
    "CoxSettings": "settings",
    "CoxSolution": "efron",
    "Design": "cox_design",
    "Evaluation": "efron",
    "LogRank": "kaplan_meier",
    "Results": "results",
    "RiskSets": "efron",
    "Settings": "settings",
    "SurvivalConfigError": "settings",
    "analyse": "run",
    "analyse_cohort": "run",
    "at_risk_table": "kaplan_meier",
    "attach_person_ids": "linking",
    "band": "followup",
    "band_labels": "followup",
    "block_scores": "efron",
    "build_candidates": "candidates",
    "build_cohort": "prepare",
    "check_flags_cover": "cohort",
    "cluster_codes": "cox",
    "cluster_expr": "clusters",
    "cluster_sums": "robust",
    "cohort_index": "cohort",
    "count_frequency": "tables",
    "court_rows": "cases",
    "coverage_frequency": "tables",
    "cox_analysis": "cox",
    "cox_candidates": "candidates",
    "cox_ph_test": "cox",
    "days_label": "followup",
    "estimated_release_rows": "run",
    "fit_cox": "cox",
    "fit_cox_model": "cox",
    "follow_up": "followup",
    "follow_up_band_labels": "followup",
    "follow_up_frequency": "tables",
    "index_events": "cohort",
    "km_at": "kaplan_meier",
    "km_at_clustered": "kaplan_meier",
    "linkage_diagnostics": "linking",
    "linkage_statistics": "candidates",
    "logrank": "kaplan_meier",
    "new_cases": "cases",
    "newton_raphson": "efron",
    "parse_date": "settings",
    "pool_small_levels": "cox_design",
    "pooled_level": "cox_design",
    "prison_releases": "prepare",
    "proportions": "tables",
    "read_cohort": "prepare",
    "read_court_inputs": "prepare",
    "resolve_person_ids": "linking",
    "risk_sets": "efron",
    "robust_covariance": "robust",
    "run_survival": "run",
    "run_survival_sensitivity": "run",
    "sensitivity_candidate": "candidates",
    "sensitivity_rows": "run",
    "settings_for": "run",
    "run_survival_cohort": "prepare",
    "sandwich": "robust",
    "score_residuals": "robust",
    "score_residuals_from": "efron",
    "sensitivity_table": "tables",
    "start_of_risk": "cohort",
    "status_frequency": "tables",
    "str_col": "settings",
    "strata_codes": "cox",
    "time_weighted_information": "efron",
    "transformed_time": "ph_test",
    "truth_follow_up": "truth",
    "with_soc_status": "cohort",
    "with_soc_status_each": "cohort",
    "write_cohort": "prepare",
}

__all__ = [
    "ALL_LABEL",
    "CLUSTERS",
    "CLUSTER_LABELS",
    "ESTIMATED_RELEASE",
    "FANOUT_RULES",
    "GROUP",
    "INDEX_COLUMNS",
    "NON_SOC_LABEL",
    "PH_TRANSFORMS",
    "PH_TRANSFORM_LABELS",
    "PRIMARY",
    "SENSITIVITY_ORDER",
    "SOC_LABEL",
    "TIES",
    "TIMINGS",
    "CaseGraph",
    "CaseTables",
    "Cohort",
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
    "analyse_cohort",
    "at_risk_table",
    "attach_person_ids",
    "band",
    "band_labels",
    "block_scores",
    "build_candidates",
    "build_cohort",
    "check_flags_cover",
    "cluster_codes",
    "cluster_expr",
    "cluster_sums",
    "cohort_index",
    "count_frequency",
    "court_rows",
    "coverage_frequency",
    "cox_analysis",
    "cox_candidates",
    "cox_design",
    "cox_ph_test",
    "days_label",
    "estimated_release_rows",
    "fit_cox",
    "fit_cox_model",
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
    "prison_releases",
    "proportions",
    "read_cohort",
    "read_court_inputs",
    "resolve_person_ids",
    "risk_sets",
    "robust_covariance",
    "run_survival",
    "run_survival_cohort",
    "run_survival_sensitivity",
    "sandwich",
    "score_residuals",
    "score_residuals_from",
    "sensitivity_candidate",
    "sensitivity_rows",
    "sensitivity_table",
    "settings_for",
    "start_of_risk",
    "status_frequency",
    "str_col",
    "strata_codes",
    "time_weighted_information",
    "transformed_time",
    "truth_follow_up",
    "with_soc_status",
    "with_soc_status_each",
    "write_cohort",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
