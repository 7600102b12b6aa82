# Pages for people to read. The internal data-quality page (exact counts, for fixing the
# mapping inside the secure environment) stays in results/; everything in reports/release/
# has passed the disclosure stage.


rule data_quality_report:
    input:
        clean=expand("results/ingest/{table}.parquet", table=TABLES),
        quarantine=expand("results/ingest/{table}.quarantine.parquet", table=TABLES),
        reconciliation=expand("results/ingest/{table}.reconciliation.csv", table=TABLES),
        unmapped=expand("results/ingest/{table}.unmapped.csv", table=TABLES),
    output:
        html="results/quality/data_quality.html",
        md="results/quality/data_quality.md",
        tables=directory("results/quality/tables"),
        candidates=directory("results/quality/candidates"),
    log:
        "logs/data_quality_report.log",
    benchmark:
        "benchmarks/data_quality_report.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 13),
        runtime=runtime(10, 30),
    params:
        tables=TABLES,
        present=PRESENT,
        context=report_context(),
    script:
        "../scripts/data_quality_report.py"


# Each stage's figures are drawn in a job of their own, as soon as its outputs are checked,
# so that the drawing (matplotlib) runs beside the other stages instead of at the end of the run.
rule figures:
    input:
        checked="results/disclosure/{stage}.json",
        tables=f"{RELEASE}/tables/{{stage}}",
    output:
        figures=directory("results/figures/{stage}"),
    log:
        "logs/figures/{stage}.log",
    benchmark:
        "benchmarks/figures/{stage}.tsv"
    priority: stage_priority
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 2),
        runtime=runtime(10, 30),
    script:
        "../scripts/figures.py"


rule summary_report:
    input:
        checked=expand("results/disclosure/{stage}.json", stage=STAGES),
        tables=expand(f"{RELEASE}/tables/{{stage}}", stage=STAGES),
        drawn=expand("results/figures/{stage}", stage=STAGES),
        code_list="results/soc/code_list.json",
        validation=validation_inputs(),
    output:
        html=report(
            f"{RELEASE}/summary.html",
            caption="../report/summary.rst",
            category="Summary",
        ),
        md=f"{RELEASE}/summary.md",
        figures=report(
            directory(f"{RELEASE}/figures"),
            patterns=["{name}.png"],
            caption="../report/figure.rst",
            category="Figures",
        ),
    log:
        "logs/summary_report.log",
    benchmark:
        "benchmarks/summary_report.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 2),
        runtime=runtime(10, 30),
    params:
        stages=STAGES,
        context=report_context(),
        stage_config=stage_config(),
        sdc=config["sdc"],
    script:
        "../scripts/summary_report.py"
