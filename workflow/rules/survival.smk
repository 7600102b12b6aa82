# Aim 4: re-appearance before the courts after a Crown Court case, SOC against non-SOC, and
# whether court data can measure it. survival_cohort builds everything that does not depend on
# the SOC flags (index persons, new cases, every follow-up variant), so that a change of the
# code list or the SOC definition re-runs only the rule survival (SOC status, curves, tests,
# the Cox model) and survival_sensitivity (the sensitivity table). Candidates for the disclosure
# stage go to results/survival/candidates and results/survival/sensitivity_candidates; the
# person-level follow-up stays in results/survival/.


rule survival_cohort:
    input:
        unpack(survival_optional_inputs),
        crown="results/ingest/crown_defendant_cases.parquet",
        person_ids=PERSON_IDS,
    output:
        cohort=directory("results/survival/cohort"),
    log:
        "logs/survival/survival_cohort.log",
    benchmark:
        "benchmarks/survival/survival_cohort.tsv"
    # On survival's chain, as person_ids.
    priority: CHAIN_PRIORITY["survival"]
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 12),
        runtime=runtime(20, 30),
    params:
        # The prison journey matching rule (custody.match) times release from custody.
        survival=dict(RUN["survival"], release_match=RUN["custody"]["match"]),
    script:
        "../scripts/survival_cohort.py"


rule survival:
    input:
        cohort="results/survival/cohort",
        flags="results/soc/defendant_cases.parquet",
    output:
        follow_up="results/survival/follow_up.parquet",
        summary="results/survival/summary.json",
        candidates=directory("results/survival/candidates"),
    log:
        "logs/survival/survival.log",
    benchmark:
        "benchmarks/survival/survival.tsv"
    # On survival's chain, as person_ids.
    priority: CHAIN_PRIORITY["survival"]
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 38),
        runtime=runtime(20, 30),
    params:
        survival=dict(RUN["survival"], release_match=RUN["custody"]["match"]),
        sdc=config["sdc"],
    script:
        "../scripts/survival.py"


# The sensitivity table (release fractions, journey match scores and the estimated release
# with its own Cox fit) beside the rule survival, so that neither waits for the other; the
# disclosure check reads both candidates folders (MORE_CANDIDATES in common.smk).
rule survival_sensitivity:
    input:
        cohort="results/survival/cohort",
        flags="results/soc/defendant_cases.parquet",
    output:
        candidates=directory("results/survival/sensitivity_candidates"),
    log:
        "logs/survival/survival_sensitivity.log",
    benchmark:
        "benchmarks/survival/survival_sensitivity.tsv"
    # On survival's chain, as person_ids.
    priority: CHAIN_PRIORITY["survival"]
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=mem_mb(500, 38),
        runtime=runtime(20, 30),
    params:
        survival=dict(RUN["survival"], release_match=RUN["custody"]["match"]),
        sdc=config["sdc"],
    script:
        "../scripts/survival_sensitivity.py"
