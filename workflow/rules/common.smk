# Helpers shared by the stage files: the mapping, dataset paths, table names, final targets.
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))
from snakemake.exceptions import WorkflowError

from socflow.coverage import CoverageError, mags_usable_for_survival
from socflow.coverage import plan as coverage_plan
from socflow.ingest import ORPHAN_KEYS
from socflow.labels import definition_labels
from socflow.mapping import MappingError, load_mapping, present_columns
from socflow.schema import TABLES as TABLE_SCHEMA

SYNTHETIC = config["data_source"] == "synthetic"
SYNTH_DATA = "results/synthetic/data"
SYNTH_TRUTH = "results/synthetic/truth"
# A relative mapping path is looked up in the working directory, then in the workflow's folder
# (where the shipped mappings live), so that `--directory` runs find the shipped ones.
MAPPING_FILE = Path(config["mapping"])
if not MAPPING_FILE.is_absolute() and not MAPPING_FILE.exists():
    MAPPING_FILE = Path(workflow.basedir) / MAPPING_FILE
try:
    DATASETS = load_mapping(MAPPING_FILE)
except MappingError as exc:
    raise WorkflowError(f"config key `mapping` ({config['mapping']}): {exc}") from None
# The tables this extract has, in canonical order; absent ones are declared `null` or unlisted.
TABLES = [t for t, spec in DATASETS.items() if spec is not None]
ABSENT_TABLES = [t for t, spec in DATASETS.items() if spec is None]
# The canonical columns each table supplies (absent tables: none).
PRESENT = present_columns(DATASETS)
if not SYNTHETIC:
    # A real-data run reads only what exists: nothing may be made up by the synthesize rule.
    for _table in TABLES:
        _path = DATASETS[_table]["path"]
        if Path(_path).resolve().is_relative_to(Path(SYNTH_DATA).resolve()):
            raise WorkflowError(
                f"config key `datasets.{_table}.path` in {config['mapping']}: {_path} is where "
                "the synthetic extracts are written, but data_source is 'extract'"
            )
        if not Path(_path).exists():
            raise WorkflowError(
                f"config key `datasets.{_table}.path` in {config['mapping']}: {_path} does not "
                "exist (data_source is 'extract': point it at the extract, or declare the "
                "table absent with `null`)"
            )


# What each analysis can do with this extract: the settings the stages run with (the config,
# reduced where the extract lacks a table or column) and the notes the report prints.
try:
    PLAN = coverage_plan(config, PRESENT)
except CoverageError as exc:
    raise WorkflowError(f"{MAPPING_FILE}: {exc}") from None
RUN = PLAN.config


def repo_relative(path):
    """A path relative to the workflow's folder when it lies inside it (else unchanged), so that
    params stay the same when the project folder moves."""
    p = Path(path).resolve()
    base = Path(workflow.basedir).resolve()
    return str(p.relative_to(base)) if p.is_relative_to(base) else str(path)


def has(table, *columns):
    """Whether the extract has a table and, in it, every one of `columns`."""
    return table in TABLES and all(c in PRESENT[table] for c in columns)


def ingest_inputs(wildcards):
    """The extract, the HO code table and, for a table with a foreign key, its parent."""
    inputs = {
        "data": DATASETS[wildcards.table]["path"],
        "ho_codes": config["resources"]["ho_offence_codes"],
    }
    if wildcards.table in ORPHAN_KEYS:
        parent = ORPHAN_KEYS[wildcards.table][1]
        if has(parent):
            inputs["parents"] = f"results/ingest/{parent}.parquet"
    return inputs


def flag_soc_optional_inputs(wildcards):
    """The offence-level table and the person IDs of the linking table, where the extract has
    them (the IDs only when the Crown table has the row key they join on)."""
    inputs = {}
    if has("crown_offences"):
        inputs["offences"] = ingested("crown_offences")
    if has("xjs_link") and has("crown_defendant_cases", "row_id"):
        inputs["person_ids"] = PERSON_IDS
    return inputs


def headline_inputs(wildcards):
    """Crown cases and flags; the re-appearance follow-up when the survival stage runs."""
    inputs = {
        "crown": "results/ingest/crown_defendant_cases.parquet",
        "flags": "results/soc/defendant_cases.parquet",
    }
    if "survival" not in PLAN.skipped_stages:
        inputs["follow_up"] = "results/survival/follow_up.parquet"
    if "custody" not in PLAN.skipped_stages:
        inputs["recall"] = "results/custody/recall.parquet"
    return inputs


def survival_optional_inputs(wildcards):
    """Magistrates' cases (when they can give re-appearance events) and the journey table."""
    inputs = {}
    if has("mags_defendant_cases") and mags_usable_for_survival(
        RUN["survival"], set(PRESENT["mags_defendant_cases"])
    ):
        inputs["mags"] = ingested("mags_defendant_cases")
        if has("mags_crown_journey"):
            inputs["journey"] = ingested("mags_crown_journey")
    if RUN["survival"]["time_at_risk"]["release_from_prison_journey"]:
        inputs["prison_journeys"] = ingested("prison_journeys")
    return inputs


# Linked tables the linkage stage reads where the extract has them (socflow.linkage.linked).
LINKAGE_TABLES = [
    "prison_journeys",
    "oasys_assessments",
    "probation_starts",
    "pnc_events",
]


def linkage_optional_inputs(wildcards):
    """The linked tables the extract has, and the magistrates' table (criminal histories)."""
    inputs = {t: ingested(t) for t in LINKAGE_TABLES if has(t)}
    if has("mags_defendant_cases"):
        inputs["mags"] = ingested("mags_defendant_cases")
    return inputs


def linkage_present_columns():
    """The canonical columns of each linked table the extract has."""
    return {t: PRESENT[t] for t in LINKAGE_TABLES if has(t)}


def dataset_spec(wildcards):
    return DATASETS[wildcards.table]


# One person ID per row of every linked dataset, under each fan-out rule (rule person_ids).
PERSON_IDS = "results/persons/person_ids.parquet"


def files_digest(paths):
    """SHA-256 over the names (relative to the Snakefile's folder, else the bare name) and
    contents of `paths`: it changes when a file's content does, not when the project moves.
    """
    base = Path(workflow.main_snakefile).resolve().parent
    digest = hashlib.sha256()
    for path in paths:
        p = Path(path).resolve()
        name = p.relative_to(base) if p.is_relative_to(base) else Path(p.name)
        digest.update(f"{name}\n".encode())
        digest.update(p.read_bytes())
    return digest.hexdigest()


# What the graph of rules follows from besides the config (a param of its rule, so that an
# edit of any of them redraws it): the Snakefile, the .smk files and the mapping (which
# tables, so which rules, the extract has).
WORKFLOW_DIGEST = files_digest(
    [
        workflow.main_snakefile,
        *sorted(
            Path(workflow.main_snakefile)
            .parent.joinpath("workflow/rules")
            .glob("*.smk")
        ),
        MAPPING_FILE,
    ]
)


def ingested(table):
    """The ingested table's path, or [] when the extract lacks it (for optional inputs)."""
    return f"results/ingest/{table}.parquet" if table in TABLES else []


# The linked tables (all optional): prison journeys, establishment spells, incidents, OASys
# assessments, probation starts and PNC events. socflow/coverage_linked.py writes the notes on
# what the extract's linked tables allow.
LINKED_TABLES = [
    "prison_journeys",
    "prison_establishment_spells",
    "prison_incidents",
    "oasys_assessments",
    "probation_starts",
    "pnc_events",
]


def linked_inputs(*tables, columns=()):
    """Ingested paths of those of `tables` the extract has (each with every one of `columns`
    that the table's canonical schema holds), by table name: for the optional `input:` of a rule
    that reads linked tables and does without the absent ones."""
    out = {}
    for table in tables:
        wanted = [c for c in columns if c in schema_columns(table)]
        if has(table, *wanted):
            out[table] = ingested(table)
    return out


def calibration_linked_inputs(wildcards):
    """The linked tables behind the incident-rate and OASys-coverage targets, where present."""
    inputs = {}
    if has("prison_incidents") and has("prison_establishment_spells"):
        inputs.update(
            linked_inputs("prison_incidents", "prison_establishment_spells"),
        )
    if has("oasys_assessments"):
        inputs.update(linked_inputs("oasys_assessments"))
    return inputs


def schema_columns(table):
    return [c.name for c in TABLE_SCHEMA[table]]


def synthetic_scale():
    return config["synthetic"]["scales"][config["synthetic"]["scale"]]


def report_context():
    """What every report page says about the run (JSON-serialisable, deterministic)."""
    return {
        "absent_tables": ABSENT_TABLES,
        "coverage": PLAN.notes,
        "run_name": config["run_name"],
        "data_source": config["data_source"],
        "synthetic": SYNTHETIC,
        "scale": config["synthetic"]["scale"] if SYNTHETIC else "",
        "seed": config["synthetic"]["seed"] if SYNTHETIC else "",
        "first_year": config["describe"]["first_year"],
        "last_year": config["describe"]["last_year"],
    }


# Stages whose candidate outputs pass through the disclosure stage, and where each writes them.
CANDIDATES = {
    "headline": "results/headline/candidates",
    "quality": "results/quality/candidates",
    "soc": "results/soc/candidates",
    "soc_groups": "results/soc/groups_candidates",
    "describe": "results/describe/candidates",
    "harm": "results/harm/candidates",
    "model": "results/model/candidates",
    "survival": "results/survival/candidates",
    "linkage": "results/linkage/candidates",
    "custody": "results/custody/candidates",
    "establishments": "results/establishments/candidates",
}


def baseline_code_list(wildcards):
    """The baseline code list; asked for (a target or --forcerun) without one, a clear error."""
    path = config["soc"]["baseline_code_list"]
    if not path:
        raise WorkflowError(
            "the comparison of code lists (rule compare_code_lists) needs config key "
            "soc.baseline_code_list, which is empty; set it to the code list to compare the "
            "configured one (soc.code_list) against"
        )
    return path


if config["soc"]["baseline_code_list"]:
    CANDIDATES["soc_baseline"] = "results/soc/baseline_candidates"
for _stage in PLAN.skipped_stages:
    del CANDIDATES[_stage]
STAGES = list(CANDIDATES)
# The workflow rule that writes each stage's candidates (named in the audit records).
CANDIDATE_RULES = {
    "headline": "headline",
    "quality": "data_quality_report",
    "soc": "flag_soc",
    "soc_groups": "co_offending_groups",
    "describe": "describe",
    "harm": "harm",
    "model": "model_outcomes",
    "survival": "survival",
    "linkage": "linkage",
    "soc_baseline": "compare_code_lists",
    "custody": "custody",
    "establishments": "establishments",
}
# What leaves the secure room after clearance, and the output checker's evidence (apart).
RELEASE = "reports/release"
CHECKER = "checker"


# Stages whose outputs come from more than one rule: their further candidates folders, each
# with its rule. The survival stage's sensitivity table is fitted beside the main analysis.
MORE_CANDIDATES = {
    "survival": {"results/survival/sensitivity_candidates": "survival_sensitivity"},
}


def candidates_dirs(wildcards):
    """The stage's candidates folders: its own rule's, then any further ones."""
    return [CANDIDATES[wildcards.stage], *MORE_CANDIDATES.get(wildcards.stage, {})]


def producing_rules(wildcards):
    """The rule that writes each of the stage's candidates folders (`candidates_dirs`)."""
    more = MORE_CANDIDATES.get(wildcards.stage, {})
    return [CANDIDATE_RULES[wildcards.stage], *more.values()]


def validation_inputs():
    """The synthetic-data validation metrics and the calibration table (synthetic runs only:
    real data has no truth)."""
    if not SYNTHETIC:
        return []
    return [
        "results/validation/soc_recovery.json",
        "results/validation/calibration.csv",
    ]


def stage_config():
    """Each stage's configuration section, for its report section (the headline table is set
    by the `describe` section)."""
    section = {"headline": "describe"}
    return {s: RUN.get(section.get(s, s), {}) for s in STAGES}


def all_targets():
    return [
        f"{RELEASE}/summary.html",
        f"{RELEASE}/summary.md",
        CHECKER,
        "reports/provenance/manifest.json",
    ]


def co_offending_inputs(wildcards):
    """Flags and Crown cases; magistrates' cases and the link too when groups span both."""
    inputs = {
        "flags": "results/soc/defendant_cases.parquet",
        "crown": "results/ingest/crown_defendant_cases.parquet",
    }
    if RUN["soc"]["groups"]["include_mags"]:
        inputs["mags"] = "results/ingest/mags_defendant_cases.parquet"
        inputs["person_ids"] = PERSON_IDS
    return inputs


def min_soc_defendants():
    """The fewest defendants a SOC case can have under the primary definition."""
    d = config["soc"]["definition"]
    return d["min_defendants"] if "codefendants" in d["require"] else 1
