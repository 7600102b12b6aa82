# Provenance of the run: the rule graph (DOT, Mermaid, PNG), and, made last, a manifest of input
# and resource hashes (the input files' from rule input_hashes), the resolved config,
# versions, the git state and per-rule benchmarks.
# Include it after report.smk (it names the data-quality page through that rule).


# The input data files change only with a new extract: they are hashed once then (the ingest
# reads the same files), not by every run of the provenance rule.
rule input_hashes:
    input:
        data=[DATASETS[table]["path"] for table in TABLES],
    output:
        hashes="results/provenance/input_hashes.json",
    log:
        "logs/provenance/input_hashes.log",
    benchmark:
        "benchmarks/provenance/input_hashes.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(300, 0),
        runtime=runtime(10, 1),
    params:
        datasets=DATASETS,
    script:
        "../scripts/input_hashes.py"


# The rule graph follows from the workflow's files and its config alone, not from the data:
# it is drawn once for them, beside the other jobs, and not again when only data or a
# resource table (the code list) changes.
rule rulegraph:
    output:
        dot="reports/provenance/rulegraph.dot",
        mermaid="reports/provenance/rulegraph.mmd",
        png="reports/provenance/rulegraph.png",
        summary="results/provenance/rulegraph.json",
    log:
        "logs/provenance/rulegraph.log",
    benchmark:
        "benchmarks/provenance/rulegraph.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(400, 0),
        runtime=runtime(10, 0),
    params:
        # Paths relative to the project folder (the script resolves them), so that moving the
        # folder changes no param and re-runs nothing.
        snakefile=repo_relative(workflow.main_snakefile),
        configfiles=[repo_relative(f) for f in workflow.overwrite_configfiles],
        config=config,
        workflow_digest=WORKFLOW_DIGEST,
    script:
        "../scripts/rulegraph.py"


rule provenance:
    input:
        summary=f"{RELEASE}/summary.html",
        input_hashes=rules.input_hashes.output.hashes,
        data_quality=rules.data_quality_report.output.html,
        rulegraph=rules.rulegraph.output.summary,
    output:
        manifest="reports/provenance/manifest.json",
        benchmarks="reports/provenance/benchmarks.csv",
    log:
        "logs/provenance.log",
    benchmark:
        "benchmarks/provenance.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(800, 0),
        runtime=runtime(10, 0),
    params:
        # Paths relative to the project folder (the script resolves them), so that moving the
        # folder changes no param and re-runs nothing.
        all_configfiles=[repo_relative(f) for f in workflow.configfiles],
        config=config,
        datasets=DATASETS,
        resources=dict(
            config["resources"],
            mapping=repo_relative(MAPPING_FILE),
            soc_offence_codes={
                "path": config.get("soc", {}).get("code_list"),
                "version": config.get("soc", {}).get("code_list_version"),
            },
            soc_baseline_codes={
                "path": config.get("soc", {}).get("baseline_code_list") or None,
                "version": config.get("soc", {}).get("baseline_code_list_version"),
            },
            harm_ons_weights=config.get("harm", {}).get("ons_weights"),
            harm_ons_mapping=config.get("harm", {}).get("ons_mapping"),
            harm_cchi={
                "path": config.get("harm", {}).get("cchi", {}).get("path") or None
            },
        ),
        benchmarks="benchmarks",
    script:
        "../scripts/provenance.py"
