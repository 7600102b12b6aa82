# socflow: serious and organised crime in MoJ Data First court records.
# The rules live in workflow/rules/, one file per stage; logic lives in workflow/scripts/socflow/.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/resources.smk"


wildcard_constraints:
    table="|".join(TABLES),
    stage="|".join(STAGES),


if SYNTHETIC:

    include: "workflow/rules/synthesize.smk"
    include: "workflow/rules/calibration.smk"


include: "workflow/rules/ingest.smk"
include: "workflow/rules/soc.smk"
include: "workflow/rules/describe.smk"
include: "workflow/rules/headline.smk"
include: "workflow/rules/disclosure.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/harm.smk"
include: "workflow/rules/survival.smk"
include: "workflow/rules/linkage.smk"
include: "workflow/rules/custody.smk"
include: "workflow/rules/establishments.smk"


rule all:
    default_target: True
    input:
        all_targets(),
