# Aim 4: re-appearance before the courts after a Crown Court case, SOC against non-SOC, and
# whether court data can measure it. Candidates for the disclosure stage go to
# results/survival/candidates; the person-level follow-up stays in results/survival/.


rule survival:
    input:
        unpack(survival_optional_inputs),
        crown="results/ingest/crown_defendant_cases.parquet",
        link="results/ingest/xjs_link.parquet",
        flags="results/soc/defendant_cases.parquet",
    output:
        follow_up="results/survival/follow_up.parquet",
        summary="results/survival/summary.json",
        candidates=directory("results/survival/candidates"),
    log:
        "logs/survival/survival.log",
    benchmark:
        "benchmarks/survival/survival.tsv"
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 13),
        runtime=runtime(20, 30),
    params:
        # The prison journey matching rule (custody.match) times release from custody.
        survival=dict(RUN["survival"], release_match=RUN["custody"]["match"]),
        sdc=config["sdc"],
    script:
        "../scripts/survival.py"
