# Synthetic Data First extracts with a planted truth: the default input everywhere outside the
# secure room. The truth goes to its own folder, which no analysis rule reads.


rule synthesize:
    output:
        crown_defendant_cases=directory(f"{SYNTH_DATA}/crown_defendant_cases"),
        crown_offences=f"{SYNTH_DATA}/crown_offences.csv",
        mags_defendant_cases=directory(f"{SYNTH_DATA}/mags_defendant_cases"),
        xjs_link=f"{SYNTH_DATA}/xjs_link.parquet",
        mags_crown_journey=f"{SYNTH_DATA}/mags_crown_journey.csv",
        prison_journeys=f"{SYNTH_DATA}/prison_journeys.csv",
        prison_establishment_spells=f"{SYNTH_DATA}/prison_establishment_spells.csv",
        prison_incidents=f"{SYNTH_DATA}/prison_incidents.csv",
        oasys_assessments=f"{SYNTH_DATA}/oasys_assessments.parquet",
        probation_starts=f"{SYNTH_DATA}/probation_starts.csv",
        pnc_events=f"{SYNTH_DATA}/pnc_events.csv",
        truth_rows=f"{SYNTH_TRUTH}/truth_rows.parquet",
        linked_truth_rows=f"{SYNTH_TRUTH}/linked_truth_rows.parquet",
        truth_summary=f"{SYNTH_TRUTH}/planted.json",
    log:
        "logs/synthesize.log",
    benchmark:
        "benchmarks/synthesize.tsv"
    conda:
        "../../environment.yml"
    threads: 2
    resources:
        mem_mb=synthesis_mem_mb,
        runtime=synthesis_runtime,
    params:
        seed=config["synthetic"]["seed"],
        scale=synthetic_scale(),
        planted=config["synthetic"]["planted"],
    script:
        "../scripts/synthesize.py"
