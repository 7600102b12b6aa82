# Identify SOC cases: the three-criterion proxy with its sensitivity variants, and the
# co-offending groups. The code list is an input, so editing it re-runs these rules and what
# depends on them, never the synthesis or the ingest.


rule flag_soc:
    input:
        unpack(flag_soc_optional_inputs),
        crown="results/ingest/crown_defendant_cases.parquet",
        code_list=config["soc"]["code_list"],
        ho_codes=config["resources"]["ho_offence_codes"],
    output:
        flags="results/soc/defendant_cases.parquet",
        counts="results/soc/sensitivity_counts.csv",
        code_list="results/soc/code_list.json",
        candidates=directory("results/soc/candidates"),
    log:
        "logs/soc/flag_soc.log",
    benchmark:
        "benchmarks/soc/flag_soc.tsv"
    # Everything after the flags waits for it (and a code-list edit starts here).
    priority: 10
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 4),
        runtime=runtime(10, 30),
    params:
        code_list_version=config["soc"]["code_list_version"],
        definition=RUN["soc"]["definition"],
        sensitivity=RUN["soc"]["sensitivity"],
        definition_labels=definition_labels(RUN["soc"]),
    script:
        "../scripts/flag_soc.py"


rule co_offending_groups:
    input:
        unpack(co_offending_inputs),
    output:
        person_groups="results/soc/person_groups.parquet",
        groups="results/soc/groups.parquet",
        candidates=directory("results/soc/groups_candidates"),
    log:
        "logs/soc/co_offending_groups.log",
    benchmark:
        "benchmarks/soc/co_offending_groups.tsv"
    # With harm, the longest chain after the flags (about 34 s at `full`, against 12-16 s for
    # survival's, linkage's and the model's): started before the jobs ready with it, so that
    # harm does not end the run alone. See workflow/rules/resources.smk.
    priority: CHAIN_PRIORITY["harm"]
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 2.2),
        runtime=runtime(10, 30),
    params:
        include_mags=RUN["soc"]["groups"]["include_mags"],
    script:
        "../scripts/co_offending_groups.py"


rule validate_synthetic:
    input:
        flags="results/soc/defendant_cases.parquet",
        person_groups="results/soc/person_groups.parquet",
        crown="results/ingest/crown_defendant_cases.parquet",
        truth=f"{SYNTH_TRUTH}/truth_rows.parquet",
    output:
        metrics="results/validation/soc_recovery.json",
    log:
        "logs/validation/soc_recovery.log",
    benchmark:
        "benchmarks/validation/soc_recovery.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 13),
        runtime=runtime(10, 30),
    script:
        "../scripts/validate_synthetic.py"


rule compare_code_lists:
    input:
        unpack(flag_soc_optional_inputs),
        crown="results/ingest/crown_defendant_cases.parquet",
        flags="results/soc/defendant_cases.parquet",
        code_list=config["soc"]["code_list"],
        baseline=baseline_code_list,
    output:
        changes="results/soc/code_list_changes.csv",
        candidates=directory("results/soc/baseline_candidates"),
    log:
        "logs/soc/compare_code_lists.log",
    benchmark:
        "benchmarks/soc/compare_code_lists.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 4),
        runtime=runtime(10, 30),
    params:
        code_list_version=config["soc"]["code_list_version"],
        baseline_version=config["soc"]["baseline_code_list_version"],
        definition=RUN["soc"]["definition"],
    script:
        "../scripts/compare_code_lists.py"
