# Map each extract onto the canonical schema, validate it, quarantine bad rows, reconcile.
# Only the tables the mapping declares present are ingested; the offence table is checked
# against the ingested Crown Court table, so that offences without a defendant-case are
# quarantined as orphans.


rule ingest:
    input:
        unpack(ingest_inputs),
    output:
        clean="results/ingest/{table}.parquet",
        quarantine="results/ingest/{table}.quarantine.parquet",
        reconciliation="results/ingest/{table}.reconciliation.csv",
        unmapped="results/ingest/{table}.unmapped.csv",
    log:
        "logs/ingest/{table}.log",
    benchmark:
        "benchmarks/ingest/{table}.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 20),
        runtime=runtime(10, 30),
    params:
        spec=dataset_spec,
        limits=config["validation"],
        outcome_groups=config["outcome_groups"],
        age_bands=config["age_bands"],
    script:
        "../scripts/ingest.py"


# The linking table resolved once to one person ID per dataset row (socflow/persons.py): the
# stages that follow persons read only their datasets' rows of it.
rule person_ids:
    input:
        link="results/ingest/xjs_link.parquet",
    output:
        lookup=PERSON_IDS,
    log:
        "logs/persons/person_ids.log",
    benchmark:
        "benchmarks/persons/person_ids.tsv"
    # The longest chain of a whole run (person IDs, the cohort, the survival analysis):
    # started first among the jobs ready with it, so that it does not end the run alone
    # (workflow/rules/resources.smk).
    priority: CHAIN_PRIORITY["survival"]
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 16),
        runtime=runtime(10, 30),
    script:
        "../scripts/person_ids.py"
