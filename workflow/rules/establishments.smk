# Establishments: incident rates of establishment-months against their SOC-prisoner share, and
# incident rates of SOC against non-SOC prisoners (socflow/establishments/). The panel names
# establishments and stays in results/establishments/; only pooled statistics and model rate
# ratios go to the disclosure stage (results/establishments/candidates).


rule establishments:
    input:
        spells=ingested("prison_establishment_spells"),
        incidents=ingested("prison_incidents"),
        journeys=ingested("prison_journeys"),
        link="results/ingest/xjs_link.parquet",
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
        mem_mb=mem_mb(500, 13),
        runtime=runtime(10, 30),
    params:
        establishments=RUN["establishments"],
    script:
        "../scripts/establishments.py"
