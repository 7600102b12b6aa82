"""Crime harm (aim 2): severity weights, cumulative harm of SOC against non-SOC cases, and how
evenly harm falls across offence types, SOC groups and places.

Weights (rule `harm_weights`), each a number of equivalent days of custody per Home Office (HO)
offence code:

* ``ons_css``: the ONS Crime Severity Score, keyed by police recorded crime codes and carried
  onto HO court codes by the documented mapping `resources/harm/ons_css_to_ho.csv`;
* ``data_derived``: an ONS-style weight computed from the sentences in the data: the mean
  equivalent custody days per HO code (immediate custody counts its term; other sentences a
  configured number of days), falling back, flagged, to the mean of the code's 3-digit class
  when fewer than `min_sentences` sentences lie behind the code;
* ``cchi``: the Cambridge Crime Harm Index, read from a spreadsheet the user supplies (never
  shipped).

Analysis (rule `harm`): harm per Crown Court defendant-case (principal offence, or the sum over
its offences) and per case (sum over its defendant-cases); SOC against non-SOC cases (totals,
shares, means and medians, by year) with bootstrap intervals; concentration across units
(offence groups, SOC categories, co-offending groups, courts, regions): harm against case
shares, Lorenz curves, Gini coefficients, "power few" shares, and a permutation test of whether
harm is distributed like cases.

Resampling, vectorised (no Python loop over cases):

* SOC statistics and each unit's harm share: cases (option: courts) are resampled with
  replacement. Cases with identical contributions to every tabulated unit are collapsed into
  *types*; a replicate is one multinomial draw of cases tallied by type (integer draws and a
  bincount), and every statistic is a sparse product of type counts and type contributions.
* Gini coefficients, power-few shares and D: the units themselves are resampled; a replicate is
  a vector of unit multiplicities, summarised without sorting (`multiplicity_stats`).
* The test of "harm is distributed like cases": a permutation test, drawn as random
  contingency tables with fixed margins, or as shuffles when those tables would be large.

Defendant-cases without a weight keep their rows: they add nothing to harm totals, are left out
of the harm means of that weight, and are counted in the coverage tables. Sums are exact
integer micro-days, so the same inputs give byte-identical outputs.

Layout (one question per module): `common` (shared names, exact group sums), `weights` (ONS and
data-derived weights), `cchi` (the user's Cambridge Crime Harm Index), `defendant_harm` (harm per
defendant-case and case), `concentration` (Gini, top shares, Lorenz, D), `design` (cases
collapsed into types), `bootstrap` (replicates and intervals), `permutation` (the test of harm
distributed like cases), `settings`, `estimation` (point estimates, replicates, tests),
`table_format`, `soc_comparison`, `unit_tables` and `weight_tables` (the tables), `candidates`
(outputs for disclosure), `run` and `run_weights` (the rules' entry points).
"""

from socflow.lazy import lazy_exports

# Names are imported on first use (PEP 562), so that a rule needing one light part (the weights)
# does not import the estimation and its libraries.
_EXPORTS = {
    "CASE_LEVEL": "estimation",
    "DIMENSIONS": "common",
    "Design": "design",
    "Estimates": "estimation",
    "FIXED_POINT": "common",
    "HO_CODE": "common",
    "HarmInputError": "common",
    "HarmSettings": "settings",
    "MAGNITUDE_DIMENSIONS": "common",
    "NOT_SENTENCED": "common",
    "PLURALS": "common",
    "SHARE_DIMENSIONS": "common",
    "SINGULAR": "common",
    "SOC_LABEL": "common",
    "STAT_SCHEMA": "table_format",
    "Tabulation": "design",
    "UnitPersons": "unit_tables",
    "WEIGHTS": "common",
    "WEIGHT_LABELS": "common",
    "available_weights": "weights",
    "build_design": "design",
    "build_weights": "weights",
    "case_harm": "defendant_harm",
    "case_level_contributions": "estimation",
    "concentration_stats": "concentration",
    "concentration_tables": "unit_tables",
    "coverage_table": "weight_tables",
    "data_derived_weights": "weights",
    "defendant_case_harm": "defendant_harm",
    "dimension_rows": "estimation",
    "dissimilarity": "concentration",
    "dominated_units": "unit_tables",
    "dominated_units_by_dimension": "unit_tables",
    "equivalent_days": "weights",
    "estimate": "estimation",
    "gini": "concentration",
    "group_sums": "common",
    "harm_candidates": "candidates",
    "load_ons_weights": "weights",
    "lorenz_ranks": "concentration",
    "multiplicity_stats": "concentration",
    "percentile_interval": "bootstrap",
    "permutation_tests": "permutation",
    "read_cchi": "cchi",
    "replicate_type_counts": "bootstrap",
    "run_harm": "run",
    "run_harm_weights": "run_weights",
    "sensitivity_table": "soc_comparison",
    "sentences": "weights",
    "soc_tables": "soc_comparison",
    "top_share": "concentration",
    "unit_bootstrap": "bootstrap",
    "w_col": "common",
    "weight_coverage": "weights",
    "weights_table": "weight_tables",
}

__all__ = [
    "CASE_LEVEL",
    "DIMENSIONS",
    "FIXED_POINT",
    "HO_CODE",
    "MAGNITUDE_DIMENSIONS",
    "NOT_SENTENCED",
    "PLURALS",
    "SHARE_DIMENSIONS",
    "SINGULAR",
    "SOC_LABEL",
    "STAT_SCHEMA",
    "WEIGHTS",
    "WEIGHT_LABELS",
    "Design",
    "Estimates",
    "HarmInputError",
    "HarmSettings",
    "Tabulation",
    "UnitPersons",
    "available_weights",
    "build_design",
    "build_weights",
    "case_harm",
    "case_level_contributions",
    "concentration_stats",
    "concentration_tables",
    "coverage_table",
    "data_derived_weights",
    "defendant_case_harm",
    "dimension_rows",
    "dissimilarity",
    "dominated_units",
    "dominated_units_by_dimension",
    "equivalent_days",
    "estimate",
    "gini",
    "group_sums",
    "harm_candidates",
    "load_ons_weights",
    "lorenz_ranks",
    "multiplicity_stats",
    "percentile_interval",
    "permutation_tests",
    "read_cchi",
    "replicate_type_counts",
    "run_harm",
    "run_harm_weights",
    "sensitivity_table",
    "sentences",
    "soc_tables",
    "top_share",
    "unit_bootstrap",
    "w_col",
    "weight_coverage",
    "weights_table",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
