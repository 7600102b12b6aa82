"""Rule synthesize: write synthetic extracts and, apart, the planted truth."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.synth import LinkedParams, SimulationParams, generate, write_extracts  # noqa: E402

scale = snakemake.params.scale
planted = snakemake.params.planted
params = SimulationParams(
    seed=snakemake.params.seed,
    n_entrants=scale["n_entrants"],
    n_groups=scale["n_groups"],
    odds_ratio_soc_dd=planted["odds_ratio_soc_discontinued_or_dismissed"],
    hazard_ratio_soc=planted["hazard_ratio_soc_reappearance"],
    release_fraction=planted["release_fraction"],
)
# Keys the config leaves out take the schema's defaults (workflow/schemas/config.schema.yaml).
linked = LinkedParams(
    n_establishments=scale.get("n_establishments", 60),
    risk_ratio_soc_recall=planted.get("rate_ratio_soc_recall", 0.25),
    need_log_odds=dict(planted.get("need_profile", {})),
    share_rate_ratio=dict(planted.get("rate_ratio_incidents_per_soc_share", {})),
    person_rate_ratio=dict(planted.get("rate_ratio_incidents_soc_person", {})),
)
extracts = generate(params, linked=linked)
write_extracts(
    extracts,
    data_dir=Path(snakemake.output.crown_offences).parent,
    truth_dir=Path(snakemake.output.truth_summary).parent,
    n_shards=scale["shards"],
)
log.info("rows written: %s", extracts.truth_summary["rows"])
log.info("linked rows written: %s", extracts.truth_summary["linked"]["rows"])
