# Linked prison, OASys, probation and PNC data: who is linked, and the profiles of SOC against
# non-SOC offenders (socflow/linkage/). The cohort is read by the custody stages too.


rule linkage_cohort:
    input:
        crown="results/ingest/crown_defendant_cases.parquet",
        link="results/ingest/xjs_link.parquet",
        flags="results/soc/defendant_cases.parquet",
    output:
        cohort="results/linkage/cohort.parquet",
        flow="results/linkage/cohort_flow.csv",
    log:
        "logs/linkage/linkage_cohort.log",
    benchmark:
        "benchmarks/linkage/linkage_cohort.tsv"
    conda:
        "../../environment.yml"
    params:
        linkage=RUN["linkage"],
    script:
        "../scripts/linkage_cohort.py"
