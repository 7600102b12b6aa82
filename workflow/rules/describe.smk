# Nature, extent and outcomes of SOC against non-SOC cases in the Crown Court.


rule describe:
    input:
        crown="results/ingest/crown_defendant_cases.parquet",
        flags="results/soc/defendant_cases.parquet",
    output:
        candidates=directory("results/describe/candidates"),
    log:
        "logs/describe.log",
    benchmark:
        "benchmarks/describe.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 80),
        runtime=runtime(10, 30),
    params:
        first_year=config["describe"]["first_year"],
        last_year=config["describe"]["last_year"],
        min_soc_defendants=min_soc_defendants(),
        skipped_outputs=PLAN.skipped_outputs.get("describe", []),
    script:
        "../scripts/describe.py"
