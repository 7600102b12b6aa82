# Report pages for people to read. Each stage adds its section here.


rule data_quality_report:
    input:
        clean=expand("results/ingest/{table}.parquet", table=TABLES),
        quarantine=expand("results/ingest/{table}.quarantine.parquet", table=TABLES),
        reconciliation=expand("results/ingest/{table}.reconciliation.csv", table=TABLES),
    output:
        html=report(
            "reports/data_quality.html",
            caption="../report/data_quality.rst",
            category="Data quality",
        ),
        md="reports/data_quality.md",
        tables=directory("results/data_quality"),
    log:
        "logs/data_quality_report.log",
    benchmark:
        "benchmarks/data_quality_report.tsv"
    conda:
        "../../environment.yml"
    params:
        tables=TABLES,
        context=report_context(),
    script:
        "../scripts/data_quality_report.py"
