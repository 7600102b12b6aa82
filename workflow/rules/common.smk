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
    }


def all_targets():
    return [
        "reports/data_quality.html",
        "reports/data_quality.md",
    ]
