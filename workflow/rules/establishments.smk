# Establishments: incident rates of establishment-months against their SOC-prisoner share, and
# incident rates of SOC against non-SOC prisoners (socflow/establishments/). Who was held where
# and involved in what does not depend on the SOC flags: establishment_panel writes it once,
# and an edit of the code list re-runs only the SOC shares and the models (establishments).
# The panel and its parts name establishments and stay in results/establishments/; only pooled
# statistics and model rate ratios go to the disclosure stage
# (results/establishments/candidates).


rule establishment_panel:
    input:
        spells=ingested("prison_establishment_spells"),
        incidents=ingested("prison_incidents"),
        journeys=ingested("prison_journeys"),
        person_ids=PERSON_IDS,
    output:
        establishment_months="results/establishments/establishment_months.parquet",
        prisoners="results/establishments/prisoners.parquet",
        prisoner_months="results/establishments/prisoner_months.parquet",
    log:
        "logs/establishments/establishment_panel.log",
    benchmark:
        "benchmarks/establishments/establishment_panel.tsv"
    # A long job (about 10 s alone at `full`) with a short chain after it: started before the
    # short jobs, so that a whole run does not end on it alone (workflow/rules/resources.smk).
    priority: LONG_JOB_PRIORITY
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        # 1.8 GB sampled peak at `full` from 364 MB of input (mostly the person IDs of all
        # datasets, of which it reads the prison rows only)
        mem_mb=mem_mb(500, 8),
        runtime=runtime(10, 30),
    params:
        establishments=RUN["establishments"],
    script:
        "../scripts/establishment_panel.py"


rule establishments:
    input:
        establishment_months="results/establishments/establishment_months.parquet",
        prisoners="results/establishments/prisoners.parquet",
        prisoner_months="results/establishments/prisoner_months.parquet",
        cohort="results/linkage/cohort.parquet",
    output:
        panel="results/establishments/panel.parquet",
        summary="results/establishments/summary.json",
        candidates=directory("results/establishments/candidates"),
    log:
        "logs/establishments/establishments.log",
    benchmark:
        "benchmarks/establishments/establishments.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        # 0.5 GB peak (/usr/bin/time) at `full` from 33 MB of input (the panel's parts and
        # the cohort): the models' designs are sparse and no statsmodels fit is made
        mem_mb=mem_mb(500, 30),
        runtime=runtime(10, 30),
    params:
        establishments=RUN["establishments"],
    script:
        "../scripts/establishments.py"
