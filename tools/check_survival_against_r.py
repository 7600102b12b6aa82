"""Compare the survival stage's statistics on a workflow run with R's survival package.

Reads results/survival/follow_up.parquet of a run, rebuilds the Cox design as the stage does
(pooled levels, clusters), fits it with socflow and, through Rscript, with R's `coxph` (Efron
ties, clustered robust variance) and `cox.zph`, and compares Kaplan-Meier estimates at the
horizons with their clustered intervals (`survfit(..., cluster=)`) and the log-rank test
(`survdiff`). Prints one line per quantity: socflow, R, and the largest relative difference.
Needs R with the survival package (`make fixtures` installs it on Debian).

    python tools/check_survival_against_r.py [--root .] [--cluster index_case]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

from socflow import survival as sv  # noqa: E402

R_SCRIPT = r"""
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
terms <- strsplit(args[3], ",")[[1]]
refs <- strsplit(args[4], ",", fixed = TRUE)[[1]]
horizons <- as.numeric(strsplit(args[5], ",")[[1]])
transform <- args[6]
for (i in seq_along(terms)) {
  lv <- sort(unique(d[[terms[i]]]), method = "radix")
  d[[terms[i]]] <- factor(d[[terms[i]]], levels = c(refs[i], setdiff(lv, refs[i])))
}
form <- as.formula(paste("Surv(time, event) ~", paste(terms, collapse = " + ")))
fit <- coxph(form, d, ties = "efron", cluster = cluster,
             control = coxph.control(eps = 1e-12, toler.chol = 1e-15, iter.max = 100))
zph <- cox.zph(fit, transform = transform)
km <- survfit(Surv(time, event) ~ soc_status, d, cluster = cluster, conf.type = "log-log")
at <- summary(km, times = horizons)
lr <- survdiff(Surv(time, event) ~ soc_status, d)
num <- function(x) sprintf("%.17g", x)
out <- c(
  paste0("coef,", names(coef(fit)), ",", num(coef(fit))),
  paste0("se_model,", names(coef(fit)), ",", num(sqrt(diag(fit$naive.var)))),
  paste0("se_robust,", names(coef(fit)), ",", num(sqrt(diag(fit$var)))),
  paste0("loglik,model,", num(fit$loglik[2])),
  paste0("zph_chisq,", rownames(zph$table), ",", num(zph$table[, "chisq"])),
  paste0("zph_p,", rownames(zph$table), ",", num(zph$table[, "p"])),
  paste0("km_surv,", sub("soc_status=", "", at$strata), "@", at$time, ",", num(at$surv)),
  paste0("km_lower,", sub("soc_status=", "", at$strata), "@", at$time, ",", num(at$lower)),
  paste0("km_upper,", sub("soc_status=", "", at$strata), "@", at$time, ",", num(at$upper)),
  paste0("logrank_chisq,all,", num(lr$chisq))
)
writeLines(out, args[2])
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=str(REPO))
    ap.add_argument("--cluster", default=None, help="index_case or person (default: config)")
    args = ap.parse_args()
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    section = dict(cfg["survival"])
    section["cox"] = {
        **section.get("cox", {}),
        "min_level_persons": cfg["sdc"].get("min_level_persons", 10),
        "min_level_events": cfg["sdc"].get("min_level_events", 10),
    }
    s = sv.Settings.from_config(section)
    if args.cluster:
        s = replace(s, cluster=args.cluster)
    follow = pl.read_parquet(Path(args.root) / "results" / "survival" / "follow_up.parquet")
    # The unstratified model with every term: the one the PH test first examines.
    s = replace(s, cox=replace(s.cox, max_strata_terms=0))
    fit, design, _ = sv.cox_analysis(follow, s)
    terms = list(dict.fromkeys(design.term_of.values()))
    model, table, _ = sv.fit_cox(
        design.frame.to_pandas(), "time", "event", design.columns, [], "cluster"
    )
    ours: dict[tuple[str, str], float] = {}
    for col in design.columns:
        name = design.term_of[col] + design.level_of[col]
        ours[("coef", name)] = float(table.loc[col, "coef"])
        ours[("se_model", name)] = float(table.loc[col, "se_model"])
        ours[("se_robust", name)] = float(table.loc[col, "se"])
    ours[("loglik", "model")] = model.solution.log_likelihood
    for term, chi2, _, p in fit.ph_test.iter_rows():
        ours[("zph_chisq", term)] = chi2
        ours[("zph_p", term)] = p
    clustered = follow.with_columns(sv.cluster_expr(s.cluster))
    for h in s.horizons_days:
        at = sv.km_at_clustered(clustered, h, confidence_level=s.confidence_level)
        for row in at.iter_rows(named=True):
            key = f"{row[sv.GROUP]}@{h}"
            ours[("km_surv", key)] = 1 - row["estimate"]
            ours[("km_lower", key)] = 1 - row["ci_upper"]
            ours[("km_upper", key)] = 1 - row["ci_lower"]
    ours[("logrank_chisq", "all")] = sv.logrank(follow).chi2
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "design.csv"
        design.frame.select("time", pl.col("event").cast(pl.Int8), "cluster", *terms).write_csv(
            data
        )
        script = Path(tmp) / "fit.R"
        script.write_text(R_SCRIPT)
        out = Path(tmp) / "r.csv"
        subprocess.run(
            ["Rscript", str(script), str(data), str(out), ",".join(terms),
             ",".join(design.reference[t] for t in terms),
             ",".join(str(h) for h in s.horizons_days), s.cox.ph_transform],
            check=True,
        )  # fmt: skip
        theirs = {}
        for line in out.read_text().splitlines():
            kind, rest = line.split(",", 1)
            name, value = rest.rsplit(",", 1)
            theirs[(kind, name)] = float(value)
    missing = sorted(set(ours) ^ set(theirs))
    if missing:
        sys.exit(f"names differ between socflow and R: {missing[:10]}")
    worst: dict[str, float] = {}
    for key, value in ours.items():
        ref = theirs[key]
        rel = abs(value - ref) / abs(ref) if ref else abs(value)
        worst[key[0]] = max(worst.get(key[0], 0.0), rel)
    print(
        f"{follow.height:,} persons, {int(follow['event'].sum()):,} events, "
        f"{design.frame['cluster'].n_unique():,} clusters ({s.cluster}), "
        f"PH transform {s.cox.ph_transform}"
    )
    print(f"{'quantity':<14} {'n':>4} {'max relative difference from R':>32}")
    for kind, rel in worst.items():
        n = sum(1 for k in ours if k[0] == kind)
        print(f"{kind:<14} {n:>4} {rel:>32.2e}")
    soc = next(c for c in design.columns if design.term_of[c] == sv.GROUP)
    name = sv.GROUP + design.level_of[soc]
    print(
        json.dumps(
            {
                "soc_hazard_ratio": float(np.exp(ours[("coef", name)])),
                "soc_se_robust": ours[("se_robust", name)],
                "r_soc_se_robust": theirs[("se_robust", name)],
            }
        )
    )


if __name__ == "__main__":
    main()
