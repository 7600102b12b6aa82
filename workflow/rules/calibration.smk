# Synthetic runs only: how close the synthetic extracts come to the published picture of the
# courts and of the linked prison data (resources/synthetic/calibration_targets.csv), computed by
# the headline-measure code the report uses. The report shows the table in its synthetic-data box.


rule calibration:
    input:
        unpack(calibration_linked_inputs),
        crown="results/ingest/crown_defendant_cases.parquet",
        flags="results/soc/defendant_cases.parquet",
        follow_up="results/survival/follow_up.parquet",
        mags="results/ingest/mags_defendant_cases.parquet",
        link="results/ingest/xjs_link.parquet",
        targets=config["synthetic"]["calibration_targets"],
    output:
        table="results/validation/calibration.csv",
    log:
        "logs/validation/calibration.log",
    benchmark:
        "benchmarks/validation/calibration.tsv"
    conda:
        "../../environment.yml"
    params:
        first_year=config["describe"]["first_year"],
        last_year=config["describe"]["last_year"],
    script:
        "../scripts/calibration.py"
