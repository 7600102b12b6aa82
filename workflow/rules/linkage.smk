# Linked prison, OASys, probation and PNC data: who is linked, and the profiles of SOC against
# non-SOC offenders (socflow/linkage/). The cohort is read by the custody stages too.
# linkage_person_rows does not read the SOC flags: an edit of the code list re-runs only
# linkage_cohort and linkage. Peaks at `full` (/usr/bin/time): linkage_cohort 0.7 GB,
# linkage_person_rows 3.4 GB, linkage 1.7 GB.


rule linkage_cohort:
    input:
        crown="results/ingest/crown_defendant_cases.parquet",
        person_ids=PERSON_IDS,
        flags="results/soc/defendant_cases.parquet",
    output:
        cohort="results/linkage/cohort.parquet",
        flow="results/linkage/cohort_flow.csv",
    log:
        "logs/linkage/linkage_cohort.log",
    benchmark:
        "benchmarks/linkage/linkage_cohort.tsv"
    # On a chain after the flags as long as survival's (with linkage and its figures, about
    # 15 s at `full`): started before the shorter ones (the model, describe, headline).
    priority: CHAIN_PRIORITY["linkage"]
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 2.5),
        runtime=runtime(10, 30),
    params:
        linkage=RUN["linkage"],
    script:
        "../scripts/linkage_cohort.py"


rule linkage_person_rows:
    input:
        unpack(linkage_optional_inputs),
        crown="results/ingest/crown_defendant_cases.parquet",
        person_ids=PERSON_IDS,
    output:
        rows=directory("results/linkage/person_rows"),
    log:
        "logs/linkage/linkage_person_rows.log",
    benchmark:
        "benchmarks/linkage/linkage_person_rows.tsv"
    # See linkage_cohort: in a whole run, the longest job of linkage's chain.
    priority: CHAIN_PRIORITY["linkage"]
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 7),
        runtime=runtime(10, 30),
    params:
        linkage=RUN["linkage"],
        present=linkage_present_columns(),
    script:
        "../scripts/linkage_person_rows.py"


rule linkage:
    input:
        cohort="results/linkage/cohort.parquet",
        cohort_flow="results/linkage/cohort_flow.csv",
        crown="results/ingest/crown_defendant_cases.parquet",
        person_rows="results/linkage/person_rows",
    output:
        summary="results/linkage/summary.json",
        candidates=directory("results/linkage/candidates"),
    log:
        "logs/linkage/linkage.log",
    benchmark:
        "benchmarks/linkage/linkage.tsv"
    # See linkage_cohort.
    priority: CHAIN_PRIORITY["linkage"]
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 10),
        runtime=runtime(10, 30),
    params:
        linkage=RUN["linkage"],
        sdc=config["sdc"],
    script:
        "../scripts/linkage.py"
