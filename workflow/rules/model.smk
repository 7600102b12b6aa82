# Aim 3: is SOC status associated with a Crown Court case being discontinued or dismissed?
# Logistic regressions with court-clustered standard errors; candidates for the disclosure
# stage in results/model/candidates, row-level intermediates in results/model/.


rule model_outcomes:
    input:
        crown="results/ingest/crown_defendant_cases.parquet",
        flags="results/soc/defendant_cases.parquet",
    output:
        population="results/model/population.parquet",
        estimates="results/model/estimates.parquet",
        diagnostics="results/model/diagnostics.parquet",
        exclusions="results/model/exclusions.csv",
        candidates=directory("results/model/candidates"),
    log:
        "logs/model/model_outcomes.log",
    benchmark:
        "benchmarks/model/model_outcomes.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    # Peak 1.4 GB at `full` (38 MB of input) by /usr/bin/time: a quarter more is asked.
    resources:
        mem_mb=mem_mb(500, 33),
        runtime=runtime(20, 30),
    params:
        model=RUN["model"],
        definition_labels=definition_labels(RUN["soc"]),
        sdc=config["sdc"],
    script:
        "../scripts/model.py"
