# After custody: the prison journey each custodial index case of the linked cohort led to, and
# recall to prison after its release, SOC against non-SOC (socflow/custody/). The person-level
# recall follow-up stays in results/custody/ (the headline table reads it); candidates for the
# disclosure stage go to results/custody/candidates.


rule custody:
    input:
        cohort="results/linkage/cohort.parquet",
        journeys=ingested("prison_journeys"),
        person_ids=PERSON_IDS,
    output:
        recall="results/custody/recall.parquet",
        summary="results/custody/summary.json",
        candidates=directory("results/custody/candidates"),
    log:
        "logs/custody/custody.log",
    benchmark:
        "benchmarks/custody/custody.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        # 0.7 GB sampled peak at `full` from 337 MB of input (mostly the person IDs of all
        # datasets, of which it reads the prison rows only)
        mem_mb=mem_mb(500, 3),
        runtime=runtime(10, 30),
    params:
        custody=RUN["custody"],
    script:
        "../scripts/custody.py"
