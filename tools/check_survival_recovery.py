"""Check that the re-appearance analysis recovers the planted truth of the synthetic world.

Runs socflow.survival on the outputs of a workflow run (results/ingest, results/soc) with the
configured `survival` settings and prints, against the truth the generator planted
(results/synthetic/truth):

* the Cox hazard ratio of SOC status with its interval, against the planted ratio, and the
  ratio the generator's own history gives (true persons, true release dates, no linkage error);
* Kaplan-Meier re-appearance at the horizons, SOC and non-SOC, from the data and from the truth;
* what the settings change: a seeded sample of persons against all persons (the `max_persons`
  option), the fan-out rule, clustering by person against by index case, and fit times.

    snakemake --cores 2                                # at the `small` scale (the default)
    python tools/check_survival_recovery.py [--root .] [--sample-share 0.25]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import polars as pl
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

from socflow import survival as sv  # noqa: E402


def _settings() -> sv.Settings:
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    section = dict(cfg.get("survival", {}))
    sdc = cfg.get("sdc", {})
    cox = dict(section.get("cox", {}))
    cox["min_level_persons"] = int(sdc.get("min_level_persons", 10))
    cox["min_level_events"] = int(sdc.get("min_level_events", 10))
    section["cox"] = cox
    return sv.Settings.from_config(section)


def _soc_hr(fit: sv.CoxFit) -> str:
    row = fit.coefficients.filter(pl.col("term") == sv.GROUP).row(0, named=True)
    return (
        f"HR {row['hazard_ratio']:.3f} (95% CI {row['ci_lower']:.3f} to {row['ci_upper']:.3f}; "
        f"robust se {row['se']:.4f}) on {fit.n_persons:,} persons, {fit.n_events:,} events, "
        f"strata {fit.strata or 'none'}, fit {fit.seconds:.1f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=".", help="folder holding results/ (a workflow run)")
    ap.add_argument("--sample-share", type=float, default=0.25)
    args = ap.parse_args()
    root = Path(args.root)
    s = _settings()
    paths = {
        "crown": root / "results/ingest/crown_defendant_cases.parquet",
        "mags": root / "results/ingest/mags_defendant_cases.parquet",
        "link": root / "results/ingest/xjs_link.parquet",
        "journey": root / "results/ingest/mags_crown_journey.parquet",
        "flags": root / "results/soc/defendant_cases.parquet",
    }
    data = sv.read_inputs({k: str(v) for k, v in paths.items()})
    truth_rows = pl.read_parquet(root / "results/synthetic/truth/truth_rows.parquet")
    planted = json.loads((root / "results/synthetic/truth/planted.json").read_text())
    print(f"scale: {planted['n_entrants']:,} entrants; crown rows {data['crown'].height:,}; "
          f"mags rows {data['mags'].height:,}")  # fmt: skip
    print(f"censoring date {s.censor_date} ({s.censor_reason}); release fraction "
          f"{s.release_fraction}; timing {s.timing}")  # fmt: skip

    t0 = time.perf_counter()
    r = sv.analyse(data["crown"], data["mags"], data["link"], data["journey"], data["flags"], s)
    print(f"\nstage analysis: {time.perf_counter() - t0:.1f} s "
          f"({ {k: round(v, 1) for k, v in r.timings.items()} })")  # fmt: skip
    print(f"index persons followed: {r.follow.height:,}; events {int(r.follow['event'].sum()):,}")

    truth = sv.truth_follow_up(data["crown"], data["mags"], truth_rows, s)
    truth_cfg = replace(s, cox=replace(s.cox, covariates=("offence_group",), max_strata_terms=0))
    truth_fit, _, _ = sv.cox_analysis(truth, truth_cfg)
    print(f"\nplanted hazard ratio of SOC: {planted['planted_hazard_ratio_soc_reappearance']}")
    if r.cox is not None:
        print(f"  estimated (configured covariates): {_soc_hr(r.cox)}")
    adjusted_as_planted = replace(s, cox=replace(s.cox, covariates=("offence_group",)))
    fit_planted, _, _ = sv.cox_analysis(r.follow, adjusted_as_planted)
    print(f"  estimated (SOC + offence_group, as planted): {_soc_hr(fit_planted)}")
    print(f"  from the planted history (true persons and dates): {_soc_hr(truth_fit)}")

    print("\nKaplan-Meier re-appearance: data vs planted history")
    truth_km = sv.kaplan_meier(truth, sv.GROUP, s.confidence_level)
    for h in s.horizons_days:
        ours = sv.km_at(r.km, h)
        true = sv.km_at(truth_km, h)
        for (g, est, lo, hi), (_, t_est, t_lo, t_hi) in zip(
            ours.iter_rows(), true.iter_rows(), strict=True
        ):
            print(
                f"  {h:>4} days {g:<8} data {est:.3f} ({lo:.3f}-{hi:.3f})   "
                f"truth {t_est:.3f} ({t_lo:.3f}-{t_hi:.3f})   diff {est - t_est:+.3f}"
            )

    n_sample = int(args.sample_share * r.follow.height)
    sampled = replace(s, cox=replace(s.cox, max_persons=n_sample))
    fit_sample, _, _ = sv.cox_analysis(r.follow, sampled)
    print(f"\nseeded sample of {n_sample:,} persons (max_persons): {_soc_hr(fit_sample)}")
    for cluster in sv.CLUSTERS:
        fit_cluster, _, _ = sv.cox_analysis(r.follow, replace(s, cluster=cluster))
        print(f"clustered by {cluster}: {_soc_hr(fit_cluster)}")
    most = sv.analyse(
        data["crown"], data["mags"], data["link"], data["journey"], data["flags"],
        replace(s, fanout_rule="most_linked"),
    )  # fmt: skip
    if most.cox is not None:
        print(f"fan-out rule most_linked: {_soc_hr(most.cox)}")
    last = max(s.horizons_days)
    for name, res in (("smallest", r), ("most_linked", most)):
        at = sv.km_at(res.km, last)
        rates = zip(at[sv.GROUP], at["estimate"], strict=True)
        print(
            f"  fan-out {name:<11} {last}-day rates: " + ", ".join(f"{g} {v:.4f}" for g, v in rates)
        )


if __name__ == "__main__":
    main()
