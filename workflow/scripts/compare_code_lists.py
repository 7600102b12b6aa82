"""Rule compare_code_lists: codes added and removed against a baseline list, and who changes
SOC status as a result (runs only when config names a baseline list)."""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakemake.script import snakemake

sys.path.insert(0, snakemake.scriptdir)
from _bootstrap import setup

log = setup(snakemake)

from socflow.mapping import LinkError  # noqa: E402
from socflow.soc import CodeListError, run_compare_code_lists  # noqa: E402

try:
    changes = run_compare_code_lists(
        crown_path=snakemake.input.crown,
        offences_path=snakemake.input.get("offences"),
        person_ids_path=snakemake.input.get("person_ids"),
        flags_path=snakemake.input.flags,
        baseline_path=snakemake.input.baseline,
        baseline_version=snakemake.params.baseline_version,
        code_list_path=snakemake.input.code_list,
        code_list_version=snakemake.params.code_list_version,
        definition=snakemake.params.definition,
        out_changes=snakemake.output.changes,
        out_candidates=snakemake.output.candidates,
    )
except (CodeListError, LinkError) as exc:
    log.error("%s", exc)
    sys.exit(f"ERROR [rule compare_code_lists]: {exc}")
log.info("%d codes changed", changes.height)
