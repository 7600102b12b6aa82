"""Plain-language labels for SOC definitions, so that published text never shows config keys.

A sensitivity variant is a set of changes to the primary definition (config `soc.sensitivity`);
its label says in words what the changes do. Light on purpose (no data libraries): the workflow
computes the labels when it starts.
"""

from __future__ import annotations

from typing import Any

PRIMARY_LABEL = "Primary definition"
CRITERIA = {
    "offence": "a listed offence",
    "seriousness": "a serious offence",
    "codefendants": "co-defendants",
}
WITHOUT = {
    "offence": "the offence list",
    "seriousness": "the seriousness test",
    "codefendants": "the co-defendant test",
}


def _criteria(require: list[str]) -> str:
    words = [CRITERIA[c] for c in ("offence", "seriousness", "codefendants") if c in require]
    return " and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]


def variant_label(change: dict[str, Any], primary: dict[str, Any]) -> str:
    """What a variant's changes to the primary definition do, in words."""
    parts = []
    if "require" in change:
        before = primary.get("require", list(CRITERIA))
        dropped = [WITHOUT[c] for c in CRITERIA if c in before and c not in change["require"]]
        parts.append(
            f"only {_criteria(change['require'])}"
            + (f", without {' or '.join(dropped)}" if dropped else "")
        )
    if change.get("tier") == "likely":
        parts.append("only codes of the likely tier")
    if change.get("offence_scope") == "any":
        parts.append("any offence in the case, not only the principal one")
    if change.get("offence_scope") == "principal":
        parts.append("the principal offence only")
    if "min_defendants" in change:
        parts.append(f"{change['min_defendants']} or more defendants")
    if change.get("codefendants_must_meet_offence"):
        parts.append("co-defendants also charged with a listed offence")
    if change.get("seriousness_mode") == "imposed":
        years = change.get("threshold_years", primary.get("threshold_years", 3))
        parts.append(f"seriousness from the sentence imposed ({years:g} years or more)")
    elif change.get("seriousness_mode") == "off":
        parts.append("no seriousness test")
    elif "threshold_years" in change:
        parts.append(f"seriousness threshold of {change['threshold_years']:g} years")
    if not parts:
        return "Same as the primary definition"
    text = "; ".join(parts)
    return text[0].upper() + text[1:]


def definition_labels(soc: dict[str, Any]) -> dict[str, str]:
    """Label of every definition of a `soc` config block: `primary` and each variant."""
    primary = soc["definition"]
    serious = f"{primary.get('threshold_years', 3):g} years' custody or more"
    criteria = _criteria(primary["require"]).replace("a serious offence", serious)
    labels = {"primary": f"{PRIMARY_LABEL}: {criteria}"}
    for name, change in sorted(soc["sensitivity"].items()):
        labels[name] = variant_label(change, primary)
    return labels


# The headline measures of the field (socflow.headline), id -> what it is, in words the report
# prints. Here, not in socflow.headline, so that the workflow can name them when it starts.
HEADLINE_MEASURES: dict[str, str] = {
    "soc_share_appearances": "SOC share of appearances (defendant-cases)",
    "soc_share_cases": "SOC share of cases",
    "drug_offence_share": "Appearances on a drug offence",
    "guilty_plea_rate": "Guilty plea",
    "conviction_rate": "Convicted",
    "back_in_court_2y": "Back in court within 2 years",
    "recall_to_prison_2y": "Recalled to prison within 2 years",
    "male_share": "Male",
    "white_share": "White",
    "mean_age": "Mean age at offence (years)",
}


# Measures the synthetic data's calibration adds to the headline ones (socflow.calibration).
CALIBRATION_MEASURES: dict[str, str] = {
    **HEADLINE_MEASURES,
    "returning_defendants": "Returning defendants (magistrates' cohort back in court)",
    "crown_to_mags_rows": "Crown Court rows per magistrates' court row",
    "assaults_per_1000_prisoners": "Assault incidents per 1,000 prisoners (2018)",
    "self_harm_per_1000_prisoners": "Self-harm incidents per 1,000 prisoners (2018)",
    "drug_finds_per_1000_prisoners": "Drug finds per 1,000 prisoners (2018)",
    "oasys_match_crown_custody": "Crown Court custodial defendants with an OASys assessment",
}


# Canonical levels as readers say them, for published tables and figures.
LEVEL_LABELS: dict[str, str] = {
    "guilty": "Guilty",
    "not_guilty": "Not guilty",
    "no_plea": "No plea taken",
    "not_known": "Not known",
    "immediate_custody": "Immediate custody",
    "suspended_sentence": "Suspended sentence",
    "community_sentence": "Community sentence",
    "fine": "Fine",
    "conditional_discharge": "Conditional discharge",
    "absolute_discharge": "Absolute discharge",
    "compensation": "Compensation order",
    "otherwise_dealt_with": "Otherwise dealt with",
    "none": "Not sentenced",
    "convicted": "Convicted",
    "acquitted": "Acquitted",
    "discontinued": "Discontinued",
    "dismissed": "Dismissed",
    "other": "Other",
}
