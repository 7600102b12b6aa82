# Synthetic runs only: how close the synthetic extracts come to the published picture of the
# courts and of the linked prison data (resources/synthetic/calibration_targets.csv), computed by
# the headline-measure code the report uses. The report shows the table in its synthetic-data box.
# calibration_marginals does not read the SOC flags; the headline measures (which do) are the
# headline rule's table, read as it is: an edit of the code list re-runs only the join with
# the targets (calibration). Peaks at `full` (/usr/bin/time): calibration_marginals 4.1 GB,
# calibration 0.2 GB.


rule calibration_marginals:
    input:
        unpack(calibration_linked_inputs),
        crown="results/ingest/crown_defendant_cases.parquet",
        mags="results/ingest/mags_defendant_cases.parquet",
        link="results/ingest/xjs_link.parquet",
        person_ids=PERSON_IDS,
    output:
        marginals="results/validation/calibration_marginals.parquet",
    log:
        "logs/validation/calibration_marginals.log",
    benchmark:
        "benchmarks/validation/calibration_marginals.tsv"
    # A long job (about 10 s alone at `full`) with a short chain after it: started before the
    # short jobs, so that a whole run does not end on it alone (workflow/rules/resources.smk).
    priority: LONG_JOB_PRIORITY
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 6.5),
        runtime=runtime(10, 30),
    params:
        first_year=config["describe"]["first_year"],
        last_year=config["describe"]["last_year"],
    script:
        "../scripts/calibration_marginals.py"


rule calibration:
    input:
        headline="results/headline/measures.parquet",
        marginals="results/validation/calibration_marginals.parquet",
        targets=config["synthetic"]["calibration_targets"],
    output:
        table="results/validation/calibration.csv",
    log:
        "logs/validation/calibration.log",
    benchmark:
        "benchmarks/validation/calibration.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 0),
        runtime=runtime(10, 0),
    script:
        "../scripts/calibration.py"
