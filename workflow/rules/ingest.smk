# Map each extract onto the canonical schema, validate it, quarantine bad rows, reconcile.


rule ingest:
    input:
        data=dataset_path,
        ho_codes=config["resources"]["ho_offence_codes"],
    output:
        clean="results/ingest/{table}.parquet",
        quarantine="results/ingest/{table}.quarantine.parquet",
        reconciliation="results/ingest/{table}.reconciliation.csv",
    log:
        "logs/ingest/{table}.log",
    benchmark:
        "benchmarks/ingest/{table}.tsv"
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        mem_mb=8000,
    params:
        spec=dataset_spec,
        limits=config["validation"],
        outcome_groups=config["outcome_groups"],
        age_bands=config["age_bands"],
    script:
        "../scripts/ingest.py"
