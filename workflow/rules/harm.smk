# Crime harm (aim 2): severity weights per HO offence code, then the cumulative harm of SOC
# against non-SOC cases and how evenly it falls. The weight tables are inputs, so editing them
# (or the ONS mapping) re-runs these two rules only.


HARM = RUN["harm"]
# The user-supplied Cambridge Crime Harm Index settings, or None when none is given.
HARM_CCHI = dict(sorted(HARM["cchi"].items())) if HARM["cchi"]["path"] else None
if HARM_CCHI is None and HARM["primary_weight"] == "cchi":
    raise ValueError(
        "config harm.primary_weight is 'cchi' but harm.cchi.path is empty: supply the "
        "Cambridge Crime Harm Index table or choose another primary weight"
    )
# Inputs as dicts built from the config (no input functions: they are known when parsing).
HARM_WEIGHTS_INPUTS = {
    "crown": "results/ingest/crown_defendant_cases.parquet",
    "ho_codes": config["resources"]["ho_offence_codes"],
    "ons_weights": HARM["ons_weights"],
    "ons_mapping": HARM["ons_mapping"],
}
if HARM["data_derived"]["include_magistrates"]:
    HARM_WEIGHTS_INPUTS["mags"] = "results/ingest/mags_defendant_cases.parquet"
if HARM_CCHI:
    HARM_WEIGHTS_INPUTS["cchi"] = HARM_CCHI["path"]
HARM_INPUTS = {
    "crown": "results/ingest/crown_defendant_cases.parquet",
    "flags": "results/soc/defendant_cases.parquet",
    "person_groups": "results/soc/person_groups.parquet",
    "groups": "results/soc/groups.parquet",
    "weights": "results/harm/weights.parquet",
}
if HARM["offence_scope"] == "all":
    HARM_INPUTS["offences"] = "results/ingest/crown_offences.parquet"
# Every analysis setting of rule harm (resource paths are inputs instead).
HARM_SETTINGS = {
    k: HARM[k]
    for k in sorted(
        [
            "first_year",
            "last_year",
            "primary_weight",
            "offence_scope",
            "soc_groups",
            "bootstrap",
            "permutations",
            "lorenz_step",
            "min_units_per_point",
            "power_few",
            "median_rounding",
            "weights_table_top",
        ]
    )
}


rule harm_weights:
    input:
        **HARM_WEIGHTS_INPUTS,
    output:
        weights="results/harm/weights.parquet",
        report="results/harm/weights_report.json",
    log:
        "logs/harm/harm_weights.log",
    benchmark:
        "benchmarks/harm/harm_weights.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 8),
        runtime=runtime(10, 30),
    params:
        equivalent_days=HARM["data_derived"]["equivalent_days"],
        min_sentences=HARM["data_derived"]["min_sentences"],
        cchi=HARM_CCHI,
    script:
        "../scripts/harm_weights.py"


rule harm:
    input:
        **HARM_INPUTS,
    output:
        candidates=directory("results/harm/candidates"),
        defendant_cases="results/harm/defendant_case_harm.parquet",
        cases="results/harm/case_harm.parquet",
        unweighted="results/harm/unweighted_codes.csv",
    log:
        "logs/harm/harm.log",
    benchmark:
        "benchmarks/harm/harm.tsv"
    # On the longest chain after the flags (workflow/rules/resources.smk).
    priority: CHAIN_PRIORITY["harm"]
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 60),
        runtime=runtime(20, 30),
    params:
        settings=HARM_SETTINGS,
        sdc=config["sdc"],
        definition_labels=definition_labels(RUN["soc"]),
    script:
        "../scripts/harm.py"
