"""The mapping assistant: its drafts reproduce the shipped mapping on the synthetic extracts,
find formats, codes and absent columns in a renamed extract, and its detectors refuse bad input."""

from __future__ import annotations

import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

from socflow import schema
from socflow.assist import draft_mapping, write_outputs
from socflow.assist.cli import main
from socflow.assist.codes import detect_ho_codes
from socflow.assist.dates import detect_date_format
from socflow.assist.levels import propose_level
from socflow.ingest import Limits, load_ho_codes, run_ingest
from socflow.mapping import check_mapping, load_mapping
from socflow.synth import write_extracts

from .conftest import HO_CODES, REPO
from .test_real_extract import make_extract

TABLES = list(schema.TABLES)


def shipped_mapping() -> dict:
    """The shipped synthetic mapping (the file config.yaml's `mapping` names), as checked, with
    the synthetic PNC extract mapped in (the shipped mapping declares it absent, as Data First
    has no PNC data; tests/data/pnc_mapping.yaml maps it)."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    shipped = load_mapping(REPO / config["mapping"])
    pnc = yaml.safe_load((REPO / "tests" / "data" / "pnc_mapping.yaml").read_text())["datasets"]
    return {**shipped, **check_mapping({**shipped, **pnc})}


@pytest.fixture(scope="module")
def known_codes() -> pl.Series:
    return load_ho_codes(HO_CODES)["ho_code"]


@pytest.fixture(scope="module")
def extract_dir(tiny_extracts, tmp_path_factory):
    """The tiny synthetic extracts in their real layout (sharded Parquet, CSV, one Parquet)."""
    root = tmp_path_factory.mktemp("assist")
    write_extracts(tiny_extracts, root / "data", root / "truth", n_shards=3)
    return root / "data"


def _extract_path(spec: dict, data_dir) -> str:
    return str(data_dir / spec["path"].removeprefix("results/synthetic/data/"))


def _ingest(table: str, spec: dict, out_dir, config: dict):
    out_dir.mkdir(parents=True, exist_ok=True)
    return run_ingest(
        table, spec, HO_CODES, Limits(), config["outcome_groups"], config["age_bands"],
        out_dir / "clean.parquet", out_dir / "quarantine.parquet", out_dir / "rec.csv", "test",
    )  # fmt: skip


def _hits(draft, shipped_columns: dict) -> tuple[int, int, list[str]]:
    """Columns matched as the shipped mapping matches them (absent in both counts as a hit)."""
    wrong = [
        f"{name}: {m.source} (shipped: {shipped_columns.get(name)})"
        for name, m in draft.matches.items()
        if m.source != shipped_columns.get(name)
    ]
    return len(draft.matches) - len(wrong), len(draft.matches), wrong


@pytest.mark.parametrize("table", TABLES)
def test_accepted_draft_ingests_like_the_shipped_mapping(
    table, extract_dir, known_codes, config, tmp_path
):
    shipped = {**shipped_mapping()[table]}
    shipped["path"] = _extract_path(shipped, extract_dir)
    crown = {**shipped_mapping()["crown_defendant_cases"]}
    draft = draft_mapping(table, shipped["path"], known_codes)
    paths = write_outputs(draft, tmp_path / "out")
    accepted = yaml.safe_load(paths["draft"].read_text())["datasets"][table]
    assert accepted == draft.spec()
    # Valid as a mapping file's entry (the Crown table is always required alongside).
    accepted = check_mapping({"crown_defendant_cases": crown, table: accepted})[table]
    assert accepted["path"] == shipped["path"]
    assert accepted["format"] == shipped["format"]
    if any(c.kind == "date" for c in schema.source_columns(table)):
        assert accepted["date_format"] == shipped["date_format"]

    ours = _ingest(table, accepted, tmp_path / "draft", config)
    theirs = _ingest(table, shipped, tmp_path / "shipped", config)
    assert ours.clean.height > 0
    assert_frame_equal(ours.clean, theirs.clean)
    assert_frame_equal(ours.reconciliation, theirs.reconciliation)
    assert_frame_equal(ours.quarantine, theirs.quarantine)


def test_hit_rate_on_the_synthetic_extracts(extract_dir, known_codes, capsys):
    """Columns matched correctly / total, per table, with and without Data First's own column
    names among the spellings (without them, plain-English spellings and content decide)."""
    lines, missed = [], []
    for data_first in (True, False):
        correct = total = 0
        for table, spec in shipped_mapping().items():
            if spec is None:
                continue
            draft = draft_mapping(
                table, _extract_path(spec, extract_dir), known_codes, data_first=data_first
            )
            hit, n, wrong = _hits(draft, spec["columns"])
            correct, total = correct + hit, total + n
            lines.append(f"{table} (Data First names {'on' if data_first else 'off'}): {hit}/{n}")
            missed += wrong
        lines.append(f"all tables (Data First names {'on' if data_first else 'off'}): "
                     f"{correct}/{total} = {correct / total:.0%}")  # fmt: skip
    with capsys.disabled():
        print("\nmapping assistant hit rate:\n  " + "\n  ".join(lines))
    assert missed == []


def test_hit_rate_on_an_extract_unlike_the_synthetic_one(
    tiny_extracts, known_codes, config, tmp_path, capsys
):
    """Out of sample: the differing extract of the end-to-end test (tests/test_real_extract.py:
    its own column names, CSV shards, %d/%m/%Y dates, NNN/NN codes, absent tables and columns)
    against the mapping written for it by hand. Every column is matched as that mapping does,
    and each accepted draft ingests to the same canonical table."""
    _, mapping = make_extract(tiny_extracts, tmp_path)
    lines, missed = [], []
    checked = check_mapping(mapping["datasets"])
    for table, spec in checked.items():
        if spec is None:
            continue
        draft = draft_mapping(table, spec["path"], known_codes)
        hit, n, wrong = _hits(draft, spec["columns"])
        lines.append(f"{table}: {hit}/{n}")
        missed += wrong
        accepted = check_mapping({**mapping["datasets"], table: draft.spec()})[table]
        assert accepted["date_format"] == spec["date_format"]
        ours = _ingest(table, accepted, tmp_path / "draft" / table, config)
        theirs = _ingest(table, spec, tmp_path / "hand" / table, config)
        assert ours.clean.height > 0
        assert_frame_equal(ours.clean, theirs.clean)
    with capsys.disabled():
        print("\nmapping assistant hit rate, differing extract:\n  " + "\n  ".join(lines))
    assert missed == []


def _renamed_crown(tiny_extracts, folder) -> None:
    """The Crown table as another delivery might have it: other column names, CSV shards,
    %d/%m/%Y dates, NNN/NN codes, upper-case outcomes with one unknown value, no court name
    and no plea, and a stray non-data file."""
    df = tiny_extracts.crown_defendant_cases
    dates = ["offence_date", "receipt_date", "disposal_date"]
    df = df.with_columns(
        *[pl.col(c).str.replace(r"^(\d{4})-(\d{2})-(\d{2})$", "$3/$2/$1") for c in dates],
        pl.col("ho_offence_code").str.replace(r"^(\d{3})(\d{2})$", "$1/$2"),
        pl.when(pl.int_range(pl.len()) % 97 == 0)
        .then(pl.lit("Bench warrant issued"))
        .otherwise(pl.col("result_desc").str.to_uppercase())
        .alias("result_desc"),
    ).drop("court_name", "plea_final_desc")
    df = df.rename(
        {
            "row_id_hash": "RowKey",
            "defendant_on_case_id": "DefendantCaseRef",
            "case_number": "CaseRef",
            "defendant_id": "DefendantNo",
            "court_id": "CourtCode",
            "hmcts_region": "Region",
            "receipt_type_desc": "ReceiptType",
            "offence_date": "DateOfOffence",
            "receipt_date": "DateReceived",
            "disposal_date": "DisposalDate",
            "ho_offence_code": "OffenceClassification",
            "age_at_offence": "AgeAtOffence",
            "gender": "Sex",
            "ethnic": "EthnicityCode",
            "result_desc": "CaseOutcome",
            "sentence_type_desc": "SentenceType",
            "custodial_period_days": "CustodyDays",
            "number_of_offences": "OffenceCount",
        }
    )
    folder.mkdir()
    half = df.height // 2
    df.head(half).write_csv(folder / "crown_1.csv")
    df.tail(df.height - half).write_csv(folder / "crown_2.csv")
    (folder / "README.txt").write_text("delivery notes\n")


def test_renamed_extract_formats_codes_and_absent_columns(tiny_extracts, known_codes, tmp_path):
    folder = tmp_path / "crown"
    _renamed_crown(tiny_extracts, folder)
    draft = draft_mapping("crown_defendant_cases", folder, known_codes)
    spec = draft.spec()
    assert spec["format"] == "csv"
    assert [f.name for f, _ in draft.extract.skipped] == ["README.txt"]
    assert spec["date_format"] == "%d/%m/%Y"
    assert draft.evidence["OffenceClassification"].code.form == "NNN/NN"
    assert spec["columns"] == {
        "row_id": "RowKey",
        "defendant_on_case_id": "DefendantCaseRef",
        "case_id": "CaseRef",
        "defendant_id": "DefendantNo",
        "court_id": "CourtCode",
        "court_name": None,
        "region": "Region",
        "receipt_type": "ReceiptType",
        "offence_date": "DateOfOffence",
        "receipt_date": "DateReceived",
        "disposal_date": "DisposalDate",
        "ho_offence_code": "OffenceClassification",
        "age_at_offence": "AgeAtOffence",
        "sex": "Sex",
        "ethnicity": "EthnicityCode",
        "plea": None,
        "outcome": "CaseOutcome",
        "sentence_type": "SentenceType",
        "custody_days": "CustodyDays",
        "n_offences": "OffenceCount",
    }
    # Upper-case outcomes still find their levels; the unknown one is flagged, not guessed.
    outcomes = draft.value_tables["outcome"]
    assert spec["recode"]["outcome"]["FOUND GUILTY AFTER TRIAL"] == "convicted_after_trial"
    unmatched = outcomes.filter(pl.col("flag") == "unmatched")
    assert unmatched["value"].to_list() == ["Bench warrant issued"]
    assert "Bench warrant issued" not in spec["recode"]["outcome"]
    # The YAML loads, declares the absent columns null and says why in a comment.
    text = draft.yaml_text()
    loaded = yaml.safe_load(text)["datasets"]["crown_defendant_cases"]
    assert loaded == spec
    assert "      plea: null  # absent (optional)" in text
    assert "NOT READ:" in text and "README.txt" in text
    assert '# "Bench warrant issued": ?' in text


def test_renamed_extract_once_accepted_ingests_like_the_original(
    tiny_extracts, known_codes, extract_dir, config, tmp_path
):
    """The draft of the renamed extract, accepted with one decision (the recode gets the
    unknown outcome as `other`), gives the canonical Crown table of the shipped mapping on the
    original extract, bar the columns the renamed extract lacks (typed nulls) and the outcome it
    changed."""
    folder = tmp_path / "crown"
    _renamed_crown(tiny_extracts, folder)
    draft = draft_mapping("crown_defendant_cases", folder, known_codes)
    (folder / "README.txt").unlink()  # listed in the draft as a file ingest would stop on
    accepted = yaml.safe_load(draft.yaml_text())["datasets"]["crown_defendant_cases"]
    accepted["recode"]["outcome"]["Bench warrant issued"] = "other"
    accepted = check_mapping({"crown_defendant_cases": accepted})["crown_defendant_cases"]
    shipped = {**shipped_mapping()["crown_defendant_cases"]}
    shipped["path"] = _extract_path(shipped, extract_dir)

    ours = _ingest("crown_defendant_cases", accepted, tmp_path / "renamed", config).clean
    theirs = _ingest("crown_defendant_cases", shipped, tmp_path / "shipped", config).clean
    assert ours["plea"].is_null().all() and ours["court_name"].is_null().all()
    assert ours.schema == theirs.schema
    changed = ["plea", "court_name", "outcome", "outcome_group"]
    assert_frame_equal(ours.drop(changed), theirs.drop(changed))
    other = ours["outcome"] == "other"
    assert 0 < other.sum() < ours.height / 50
    assert_frame_equal(ours.filter(~other).select("outcome"),
                       theirs.filter(~other).select("outcome"))  # fmt: skip


def test_unreadable_dates_and_stripped_codes_are_proposed_with_their_problem(
    tiny_extracts, known_codes, tmp_path
):
    """Two-digit years and HO codes stored as numbers cannot be ingested: the columns are still
    proposed for what they are, no date_format is guessed, and the draft says what to fix."""
    offences = tiny_extracts.crown_offences.with_columns(
        pl.col("offence_date").str.replace(r"^\d{2}(\d{2})-(\d{2})-(\d{2})$", "$3/$2/$1"),
        pl.col("ho_offence_code").cast(pl.Int64),
    )
    offences.write_parquet(tmp_path / "offences.parquet")
    draft = draft_mapping("crown_offences", tmp_path / "offences.parquet", known_codes)
    spec = draft.spec()
    assert spec["columns"]["offence_date"] == "offence_date"
    assert spec["columns"]["ho_offence_code"] == "ho_offence_code"
    assert "date_format" not in spec
    assert draft.evidence["ho_offence_code"].code.form == "zero-stripped"
    assert draft.matches["offence_date"].confidence == "medium"
    text = draft.yaml_text()
    assert "two-digit years" in text and "zero-padded" in text
    assert "# date_format: none can read the date columns" in text


def test_mixed_csv_and_parquet_shards(tiny_extracts, known_codes, tmp_path):
    folder = tmp_path / "journey"
    folder.mkdir()
    journey = tiny_extracts.mags_crown_journey
    journey.head(500).write_csv(folder / "a.csv")
    journey.slice(500).write_parquet(folder / "b.parquet")
    draft = draft_mapping("mags_crown_journey", folder, known_codes)
    assert draft.spec()["format"] == "auto"
    assert [k for _, k in draft.extract.files] == ["csv", "parquet"]
    assert draft.evidence["estimated_match_score"].profile.rows == journey.height
    assert draft.spec()["columns"]["match_score"] == "estimated_match_score"


def test_names_that_say_nothing_match_only_what_the_values_prove(
    tiny_extracts, known_codes, tmp_path
):
    """Columns named field00..field19: coded columns and HO codes are found by their values;
    IDs, dates and counts, which values alone cannot tell apart, are proposed absent, and no
    column is proposed for a column it is not."""
    df = tiny_extracts.crown_defendant_cases
    truth = {c: f"field{i:02d}" for i, c in enumerate(df.columns)}
    df.rename(truth).write_parquet(tmp_path / "anon.parquet")
    draft = draft_mapping("crown_defendant_cases", tmp_path / "anon.parquet", known_codes)
    shipped = shipped_mapping()["crown_defendant_cases"]["columns"]
    found = {name: m.source for name, m in draft.matches.items() if m.source is not None}
    assert found == {
        name: truth[shipped[name]]
        for name in ("region", "receipt_type", "ho_offence_code", "sex", "ethnicity", "plea",
                     "outcome", "sentence_type")
    }  # fmt: skip


def test_command_writes_draft_values_and_page(extract_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["--table", "crown_offences", "--out", str(out),
                 str(extract_dir / "crown_offences.csv")])  # fmt: skip
    assert code == 0
    assert "5 of 5 columns matched" in capsys.readouterr().out
    spec = yaml.safe_load((out / "draft_mapping.yaml").read_text())["datasets"]["crown_offences"]
    assert spec["columns"]["custody_days"] == "custodial_period_days"
    page = (out / "mapping_assistant.html").read_text()
    assert "INTERNAL" in page and "custodial_period_days" in page
    assert "<link" not in page and "<script" not in page and "src=" not in page  # self-contained
    # A re-run writes the same bytes.
    first = {f.name: f.read_bytes() for f in sorted(out.iterdir())}
    assert main(["--table", "crown_offences", "--out", str(out),
                 str(extract_dir / "crown_offences.csv")]) == 0  # fmt: skip
    assert {f.name: f.read_bytes() for f in sorted(out.iterdir())} == first
    code = main(["--table", "xjs_link", "--out", str(out), str(tmp_path / "nowhere")])
    assert code == 2
    assert "extract not found" in capsys.readouterr().err


def test_value_tables_are_written_per_coded_column(extract_dir, known_codes, tmp_path):
    spec = shipped_mapping()["xjs_link"]
    draft = draft_mapping("xjs_link", _extract_path(spec, extract_dir), known_codes)
    paths = write_outputs(draft, tmp_path)
    values = pl.read_csv(paths["values_source_dataset"])
    assert values.columns == ["value", "rows", "proposed_level", "matched_by", "flag"]
    assert dict(values.select("value", "proposed_level").iter_rows()) == {
        "mags_hocas": "mags",
        "crown_xhibit": "crown",
        "prison_nomis": "prison",
        "prison_oasys": "oasys",
        "probation_delius": "probation",
        "pnc": "pnc",
    }
    assert values["rows"].sum() == draft.evidence["source_dataset"].profile.rows


# ---- detectors on bad input


def _s(values: list[str | None]) -> pl.Series:
    return pl.Series(values, dtype=pl.String)


def test_date_detector_refuses_two_digit_years():
    guess = detect_date_format(_s(["17/01/17", "03/02/18", "28/12/19", ""]))
    assert guess.format is None
    assert any("two-digit years" in p for p in guess.problems)
    # Read by a four-digit-year format, they would be the year 17: never counted as a date.
    assert guess.rates["%d/%m/%Y"] == 0


def test_date_detector_flags_two_digit_years_among_four_digit_ones():
    guess = detect_date_format(_s(["17/01/2017", "18/02/2018", "19/03/2019", "20/04/20"]))
    assert guess.format == "%d/%m/%Y"
    assert guess.share == 0.75
    assert any("two-digit years" in p for p in guess.problems)


def test_date_detector_reports_mixed_formats():
    values = [f"2017-01-{d:02d}" for d in range(1, 29)] + [
        f"{d:02d}/02/2017" for d in range(13, 29)
    ]
    guess = detect_date_format(_s(values))
    assert guess.format == "%Y-%m-%d"
    assert guess.share == pytest.approx(28 / 44)
    assert any("mixed formats" in p and "%d/%m/%Y" in p for p in guess.problems)


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (["05-Jan-2017", "28-Feb-2018", "1-Mar-2019"], "%d-%b-%Y"),
        (["2017-01-05", "2018-12-31"], "%Y-%m-%d"),
        (["13/01/2017", "01/02/2017"], "%d/%m/%Y"),
        (["01/13/2017", "02/01/2017"], "%m/%d/%Y"),
        (["20170105", "20181231"], "%Y%m%d"),
    ],
)
def test_date_detector_finds_the_format(values, fmt):
    guess = detect_date_format(_s(values))
    assert (guess.format, guess.share, guess.problems) == (fmt, 1.0, ())


def test_date_detector_on_ambiguous_implausible_and_non_dates():
    ambiguous = detect_date_format(_s(["01/02/2017", "03/04/2018", "12/11/2019"]))
    assert ambiguous.format == "%d/%m/%Y"
    assert ambiguous.ambiguous_with == ("%m/%d/%Y",)
    assert any("no day above 12" in p for p in ambiguous.problems)
    assert detect_date_format(_s(["0017-01-05", "0018-02-03"])).format is None
    assert detect_date_format(_s(["31/02/2017", "30/02/2018"])).format is None
    assert detect_date_format(_s(["London", "Wales", "35"])).format is None
    assert detect_date_format(_s([None, ""])).format is None


def test_code_detector_forms_and_bad_codes(known_codes):
    assert detect_ho_codes(_s(["05400", "09250", "80901"]), known_codes).form == "NNNNN"
    slashed = detect_ho_codes(_s(["054/00", "092/50", " 809/01 "]), known_codes)
    assert (slashed.form, slashed.known_share) == ("NNN/NN", 1.0)
    mixed = detect_ho_codes(_s(["054/00", "09250", "9Z9X9", "99999"]), known_codes)
    assert mixed.form == "mixed"
    assert mixed.shape_share == 0.75
    assert mixed.known_share == 0.5
    assert any("not shaped" in p for p in mixed.problems)
    assert any("not in the HO code table" in p for p in mixed.problems)
    # Ages, IDs and free text are not codes.
    assert detect_ho_codes(_s(["23", "45", "67"]), known_codes).form is None
    assert detect_ho_codes(_s(["70000234", "70000251"]), known_codes).form is None
    assert detect_ho_codes(_s(["Guilty", "Not guilty"]), known_codes).form is None


def test_code_detector_spots_lost_leading_zeros(known_codes):
    guess = detect_ho_codes(_s(["5400", "9250", "831", "80901"]), known_codes)
    assert any("zero-padded" in p for p in guess.problems)


def test_level_proposals():
    cols = {c.name: c for c in schema.TABLES["crown_defendant_cases"]}
    assert propose_level(cols["plea"], "NOT-GUILTY ").level == "not_guilty"
    assert propose_level(cols["sex"], "Female").level == "F"
    assert propose_level(cols["sex"], "").level == "U"
    assert propose_level(cols["ethnicity"], "").how == "null"
    assert propose_level(cols["outcome"], "Judge Directed Acquital").level == (
        "judge_directed_acquittal"
    )
    assert propose_level(cols["outcome"], "Bench warrant issued").level is None
    # A plea is not an outcome: "Guilty" alone does not become `guilty_plea`.
    assert propose_level(cols["outcome"], "Guilty").level is None


# The linked extracts as another delivery might name them (CamelCase, other words), by table:
# synthetic column -> delivered column. OASys sections are spelled out in full.
_SECTION_NAMES = (
    "Accommodation", "EducationTrainingEmployability", "Finance", "Relationships",
    "LifestyleAssociates", "DrugMisuse", "AlcoholMisuse", "EmotionalWellbeing",
    "ThinkingBehaviour", "Attitudes",
)  # fmt: skip
_SECTION_STEMS = (
    "sec3_accommodation", "sec4_ete", "sec5_finance", "sec6_relationships", "sec7_lifestyle",
    "sec8_drugs", "sec9_alcohol", "sec10_emotional", "sec11_thinking", "sec12_attitudes",
)  # fmt: skip
RENAMED_LINKED = {
    "prison_journeys": {
        "journey_id_hash": "JourneyKey", "nomis_offender_no": "PrisonNumber",
        "reception_date": "FirstReceptionDate", "first_reception_type": "ReceptionType",
        "release_date": "FinalDischargeDate", "release_reason_desc": "DischargeReason",
        "sentence_length_days": "SentenceLengthDays", "main_offence_code": "MainOffence",
        "age_on_reception": "AgeAtReception", "sex_desc": "Gender",
    },
    "prison_establishment_spells": {
        "journey_id_hash": "JourneyKey", "establishment_code": "AgencyLocationID",
        "movement_in_date": "DateIn", "movement_out_date": "DateOut",
        "establishment_category": "SecurityCategory",
    },
    "prison_incidents": {
        "incident_ref": "IncidentNumber", "journey_id_hash": "JourneyKey",
        "establishment_code": "EstablishmentCode", "incident_date": "IncidentDate",
        "incident_type_desc": "IncidentType",
    },
    "oasys_assessments": {
        "assessment_pk_hash": "AssessmentID", "offender_pk": "OffenderID",
        "date_completed": "CompletedDate", "assessment_layer": "AssessmentType",
        "ogrs3_2yr_pct": "OGRS3Probability2Yr", "ovp_2yr_pct": "OVPProbability2Yr",
        **{f"{s}_score": f"{n}Score" for s, n in zip(_SECTION_STEMS, _SECTION_NAMES, strict=True)},
        **{f"{s}_need_flag": f"{n}Need" for s, n in zip(_SECTION_STEMS, _SECTION_NAMES,
                                                         strict=True)},
    },
    "probation_starts": {
        "event_id_hash": "EventID", "event_start_date": "SentenceDate",
        "disposal_desc": "OutcomeDescription", "nps_region": "ProbationArea",
    },
}  # fmt: skip


def test_hit_rate_on_renamed_linked_extracts(tiny_extracts, known_codes, config, tmp_path, capsys):
    """Out of sample for the linked tables: other column names (written as CSV); every column
    is matched as the shipped mapping, renamed alike, matches it, and the accepted draft ingests
    to the same canonical table."""
    lines, missed = [], []
    for table, renames in RENAMED_LINKED.items():
        path = tmp_path / f"{table}.csv"
        getattr(tiny_extracts, table).rename(renames).write_csv(path)
        shipped = {**shipped_mapping()[table], "path": str(path), "format": "csv"}
        shipped["columns"] = {
            k: renames.get(v, v) if isinstance(v, str) else v for k, v in shipped["columns"].items()
        }
        draft = draft_mapping(table, path, known_codes)
        hit, n, wrong = _hits(draft, shipped["columns"])
        lines.append(f"{table}: {hit}/{n}")
        missed += wrong
        accepted = check_mapping({table: draft.spec(), "crown_defendant_cases":
                                  shipped_mapping()["crown_defendant_cases"]})[table]  # fmt: skip
        ours = _ingest(table, accepted, tmp_path / "draft" / table, config)
        theirs = _ingest(table, shipped, tmp_path / "hand" / table, config)
        assert_frame_equal(ours.clean, theirs.clean)
    with capsys.disabled():
        print("\nmapping assistant hit rate, renamed linked extracts:\n  " + "\n  ".join(lines))
    assert missed == []
