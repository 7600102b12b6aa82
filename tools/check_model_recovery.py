"""Check that the aim-3 models recover the odds ratio planted in the synthetic data.

Runs `socflow.model` on the output of a synthetic workflow run (the canonical Crown Court table
in `results/ingest/` and the SOC flags in `results/soc/`, e.g. after `snakemake --cores 2` at the
default `small` scale). Prints the SOC odds ratio with its interval for every outcome and model,
and the planted odds ratio from `results/synthetic/truth/planted.json`. A developer tool, not a
rule: no analysis rule reads the truth.

    python tools/check_model_recovery.py [--results results] [--config config/config.yaml]

Exit status 1 if the adjusted model of "discontinued or dismissed" does not cover the truth.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import polars as pl
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

from socflow import model as M  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", default="results", help="folder holding ingest/, soc/")
    ap.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    args = ap.parse_args()
    results = Path(args.results)
    config = yaml.safe_load(Path(args.config).read_text())
    settings = M.ModelSettings.from_config(config.get("model", {}), config.get("sdc", {}))
    truth = json.loads((results / "synthetic" / "truth" / "planted.json").read_text())
    planted = truth["planted_odds_ratio_soc_discontinued_or_dismissed"]
    if set(truth["discontinued_or_dismissed_outcomes"]) != set(settings.outcome_sets()["either"]):
        print("warning: the configured outcomes differ from the planted outcome set")

    t0 = time.perf_counter()
    run = M.run_models(
        pl.read_parquet(results / "ingest" / "crown_defendant_cases.parquet"),
        pl.read_parquet(results / "soc" / "defendant_cases.parquet"),
        settings,
    )
    seconds = time.perf_counter() - t0
    ci = f"{round(100 * settings.confidence_level)}%"
    print(f"population: {run.population.height:,} defendant-cases; models fitted in {seconds:.1f}s")
    print(f"planted odds ratio (SOC -> discontinued or dismissed): {planted}")
    print(f"{'outcome':<28}{'model':<32}{'definition':<28}{'odds ratio':>11}  {ci} interval")
    covered = False
    for r in run.results:
        if not r.fit.ok:
            print(f"{r.outcome:<28}{r.spec:<32}{r.definition:<28}{'not fitted':>11}  "
                  f"{'; '.join(r.messages[-1:])}")  # fmt: skip
            continue
        row = r.soc_row().row(0, named=True)
        print(
            f"{r.outcome:<28}{r.spec:<32}{r.definition:<28}{row['odds_ratio']:>11.3f}  "
            f"{row['ci_lower']:.3f} to {row['ci_upper']:.3f}"
        )
        if (r.outcome, r.spec, r.definition) == ("either", "adjusted", M.PRIMARY):
            covered = row["ci_lower"] < planted < row["ci_upper"]
    print(f"adjusted 'discontinued or dismissed' interval covers {planted}: {covered}")
    return 0 if covered else 1


if __name__ == "__main__":
    sys.exit(main())
