# Helpers shared by the stage files: dataset paths, table names, final targets.

TABLES = [
    "crown_defendant_cases",
    "crown_offences",
    "mags_defendant_cases",
    "xjs_link",
    "mags_crown_journey",
]
SYNTHETIC = config["data_source"] == "synthetic"
SYNTH_DATA = "results/synthetic/data"
SYNTH_TRUTH = "results/synthetic/truth"


def dataset_path(wildcards):
    """The configured path of a dataset: the synthesize rule makes it for synthetic runs."""
    return config["datasets"][wildcards.table]["path"]


def dataset_spec(wildcards):
    return config["datasets"][wildcards.table]


def synthetic_scale():
    return config["synthetic"]["scales"][config["synthetic"]["scale"]]


def report_context():
    """What every report page says about the run (JSON-serialisable, deterministic)."""
    return {
        "run_name": config["run_name"],
        "data_source": config["data_source"],
        "synthetic": SYNTHETIC,
        "scale": config["synthetic"]["scale"] if SYNTHETIC else "",
        "seed": config["synthetic"]["seed"] if SYNTHETIC else "",
        "first_year": config["describe"]["first_year"],
        "last_year": config["describe"]["last_year"],
    }


# Stages whose candidate outputs pass through the disclosure stage, and where each writes them.
CANDIDATES = {
    "quality": "results/quality/candidates",
    "soc": "results/soc/candidates",
    "soc_groups": "results/soc/groups_candidates",
    "describe": "results/describe/candidates",
    "harm": "results/harm/candidates",
    "model": "results/model/candidates",
    "survival": "results/survival/candidates",
}
if config["soc"]["baseline_code_list"]:
    CANDIDATES["soc_baseline"] = "results/soc/baseline_candidates"
STAGES = list(CANDIDATES)
# The workflow rule that writes each stage's candidates (named in the audit records).
CANDIDATE_RULES = {
    "quality": "data_quality_report",
    "soc": "flag_soc",
    "soc_groups": "co_offending_groups",
    "describe": "describe",
    "harm": "harm",
    "model": "model_outcomes",
    "survival": "survival",
    "soc_baseline": "compare_code_lists",
}
# What leaves the secure room after clearance, and the output checker's evidence (apart).
RELEASE = "reports/release"
CHECKER = "checker"


def candidates_dir(wildcards):
    return CANDIDATES[wildcards.stage]


def validation_inputs():
    """The synthetic-data validation metrics (synthetic runs only: real data has no truth)."""
    return ["results/validation/soc_recovery.json"] if SYNTHETIC else []


def stage_config():
    """Each stage's configuration section, for its report section."""
    return {s: config.get(s, {}) for s in STAGES}


def all_targets():
    return [
        f"{RELEASE}/summary.html",
        f"{RELEASE}/summary.md",
        CHECKER,
        "reports/provenance/manifest.json",
    ]


def co_offending_inputs(wildcards):
    """Flags and Crown cases; magistrates' cases and the link too when groups span both."""
    inputs = {
        "flags": "results/soc/defendant_cases.parquet",
        "crown": "results/ingest/crown_defendant_cases.parquet",
    }
    if config["soc"]["groups"]["include_mags"]:
        inputs["mags"] = "results/ingest/mags_defendant_cases.parquet"
        inputs["link"] = "results/ingest/xjs_link.parquet"
    return inputs


def min_soc_defendants():
    """The fewest defendants a SOC case can have under the primary definition."""
    d = config["soc"]["definition"]
    return d["min_defendants"] if "codefendants" in d["require"] else 1
