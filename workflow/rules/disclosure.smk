# Statistical disclosure control: every candidate output of every stage is checked here, and
# only what passes (or its protected version) is written to reports/.


rule disclosure_check:
    input:
        candidates=candidates_dir,
    output:
        checked="results/disclosure/{stage}.json",
        tables=directory("reports/tables/{stage}"),
    log:
        "logs/disclosure/{stage}.log",
    benchmark:
        "benchmarks/disclosure/{stage}.tsv"
    conda:
        "../../environment.yml"
    params:
        thresholds=config["sdc"],
    script:
        "../scripts/disclosure_check.py"


rule output_request:
    input:
        checked=expand("results/disclosure/{stage}.json", stage=STAGES),
        tables=expand("reports/tables/{stage}", stage=STAGES),
    output:
        results_json="reports/disclosure/results.json",
        workbook="reports/disclosure/output_request.xlsx",
    log:
        "logs/disclosure/output_request.log",
    benchmark:
        "benchmarks/disclosure/output_request.tsv"
    conda:
        "../../environment.yml"
    params:
        run_name=config["run_name"],
    script:
        "../scripts/output_request.py"
