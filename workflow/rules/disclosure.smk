# Statistical disclosure control: every candidate output of every stage is checked here.
# What passes (or its protected version) is written to the release folder, reports/release/;
# the output checker's evidence (results.json in ACRO's format, checksums, config.json, the
# output request workbook) is assembled apart from it, in checker/.


rule disclosure_check:
    input:
        candidates=candidates_dirs,
    output:
        checked="results/disclosure/{stage}.json",
        tables=directory(f"{RELEASE}/tables/{{stage}}"),
    log:
        "logs/disclosure/{stage}.log",
    benchmark:
        "benchmarks/disclosure/{stage}.tsv"
    priority: stage_priority
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 2),
        runtime=runtime(10, 30),
    params:
        thresholds=config["sdc"],
        producing_rule=producing_rules,
    script:
        "../scripts/disclosure_check.py"


rule output_request:
    input:
        checked=expand("results/disclosure/{stage}.json", stage=STAGES),
        tables=expand(f"{RELEASE}/tables/{{stage}}", stage=STAGES),
        html=f"{RELEASE}/summary.html",
        md=f"{RELEASE}/summary.md",
        figures=f"{RELEASE}/figures",
    output:
        checker=directory(CHECKER),
    log:
        "logs/disclosure/output_request.log",
    benchmark:
        "benchmarks/disclosure/output_request.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 2),
        runtime=runtime(10, 30),
    params:
        run_name=config["run_name"],
        thresholds=config["sdc"],
        request=config["output_request"],
    script:
        "../scripts/output_request.py"
