# The headline table of the field: the measures the published Data First study of SOC in the
# Crown Court reported, for SOC and non-SOC defendants (socflow/headline.py, shared with the
# synthetic data's calibration), as candidates for the disclosure stage, and every measure as one
# table (measures.parquet), which the calibration reads rather than computing them again.


rule headline:
    input:
        unpack(headline_inputs),
    output:
        candidates=directory("results/headline/candidates"),
        measures="results/headline/measures.parquet",
    log:
        "logs/headline.log",
    benchmark:
        "benchmarks/headline.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 80),
        runtime=runtime(10, 30),
    params:
        first_year=config["describe"]["first_year"],
        last_year=config["describe"]["last_year"],
        confidence_level=config["describe"]["confidence_level"],
        skipped=PLAN.skipped_outputs.get("headline", []),
    script:
        "../scripts/headline.py"
