"""Checks on the committed offence-code resources and on the script that builds them."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RESOURCES = REPO / "resources" / "offence_codes"
HO_CSV = RESOURCES / "ho_offence_codes.csv"
SOC_CSV = RESOURCES / "soc_offence_codes.csv"
BUILD_SCRIPT = REPO / "tools" / "build_offence_code_resources.py"
REFERENCE = REPO.parent / "shared" / "reference"

HO_COLUMNS = [
    "ho_code",
    "ho_class",
    "ho_subclass",
    "class_description",
    "subclass_description",
    "offence_group",
    "offence_group_source",
    "actuarial_category",
]
SOC_COLUMNS = [
    "ho_code",
    "description",
    "soc_category",
    "tier",
    "max_custody",
    "statute",
    "rationale",
]
OFFENCE_GROUPS = {
    "Violence against the person",
    "Sexual offences",
    "Robbery",
    "Theft offences",
    "Criminal damage and arson",
    "Drug offences",
    "Possession of weapons",
    "Public order offences",
    "Miscellaneous crimes against society",
    "Fraud offences",
    "Summary non-motoring",
    "Summary motoring",
    "Not known",
}
SOC_CATEGORIES = {
    "drug importation/exportation",
    "drug supply",
    "drug production",
    "drug money laundering",
    "firearms supply",
    "organised immigration crime",
    "human trafficking and slavery",
    "money laundering",
    "fraud and economic crime",
    "counterfeiting and false documents",
    "organised acquisitive crime",
    "bribery and corruption",
    "kidnap, blackmail and extortion",
    "computer misuse",
    "organised crime group participation",
}
TIERS = {"likely", "possible"}
N_HO_CODES = 3039
CODE = re.compile(r"\d{3}/\d{2}")


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


@pytest.fixture(scope="module")
def ho() -> list[dict[str, str]]:
    columns, rows = _read(HO_CSV)
    assert columns == HO_COLUMNS
    return rows


@pytest.fixture(scope="module")
def soc() -> list[dict[str, str]]:
    columns, rows = _read(SOC_CSV)
    assert columns == SOC_COLUMNS
    return rows


# --- HO offence code table ---------------------------------------------------------------------


def test_ho_table_has_every_code_once(ho):
    codes = [row["ho_code"] for row in ho]
    assert len(codes) == N_HO_CODES
    assert len(set(codes)) == len(codes)
    assert codes == sorted(codes)


def test_ho_codes_are_well_formed(ho):
    for row in ho:
        assert CODE.fullmatch(row["ho_code"]), row["ho_code"]
        assert len(row["ho_class"]) == 3 and row["ho_class"].isdigit()
        assert len(row["ho_subclass"]) == 2 and row["ho_subclass"].isdigit()
        assert row["ho_code"] == f"{row['ho_class']}/{row['ho_subclass']}"


def test_ho_offence_groups_are_the_13_moj_groups(ho):
    assert {row["offence_group"] for row in ho} <= OFFENCE_GROUPS
    assert all(row["offence_group_source"] and row["actuarial_category"] for row in ho)


def test_ho_descriptions_are_clean(ho):
    for row in ho:
        for field in ("class_description", "subclass_description"):
            text = row[field]
            assert text, (row["ho_code"], field)
            assert "Use this code only if" not in text, row["ho_code"]
            assert text == " ".join(text.split()), row["ho_code"]


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"reference tables not found at {REFERENCE}")
def test_ho_table_covers_the_reference_table(ho):
    _, reference = _read(REFERENCE / "ho_offence_codes.csv")
    assert {row["ho_code"] for row in ho} == {row["ho_code"].strip() for row in reference}


# --- SOC inclusion list ------------------------------------------------------------------------


def test_soc_size(soc):
    assert 175 <= len(soc) <= 195


def test_soc_codes_unique_sorted_and_well_formed(soc):
    codes = [row["ho_code"] for row in soc]
    assert len(set(codes)) == len(codes)
    assert codes == sorted(codes)
    assert all(CODE.fullmatch(code) for code in codes)


def test_soc_codes_are_in_the_ho_table(ho, soc):
    descriptions = {row["ho_code"]: row["subclass_description"] for row in ho}
    for row in soc:
        assert row["ho_code"] in descriptions, row["ho_code"]
        assert row["description"] == descriptions[row["ho_code"]], row["ho_code"]


def test_soc_categories_and_tiers(soc):
    assert {row["soc_category"] for row in soc} <= SOC_CATEGORIES
    assert {row["tier"] for row in soc} <= TIERS


def test_soc_max_custody(soc):
    for row in soc:
        value = row["max_custody"]
        if value != "life":
            assert value.isdigit() and not value.startswith("0"), (row["ho_code"], value)
            assert 1 <= int(value) <= 99, (row["ho_code"], value)


def test_soc_statute_and_rationale(soc):
    for row in soc:
        assert row["statute"].strip(), row["ho_code"]
        assert row["rationale"].strip(), row["ho_code"]
        assert "\n" not in row["rationale"], row["ho_code"]


def test_soc_known_maxima(soc):
    """Spot checks of maxima in force over 2013-2020."""
    by_code = {row["ho_code"]: row for row in soc}
    expected = {
        "092/03": "life",  # importation, class A
        "092/41": "14",  # supply, class B cannabis
        "078/01": "14",  # Immigration Act 1971 s.25, before the 2022 rise to life
        "053/54": "2",  # Computer Misuse Act 1990 s.1
        "053/35": "10",  # Computer Misuse Act 1990 s.3
        "068/01": "5",  # Serious Crime Act 2015 s.45
        "038/01": "14",  # Proceeds of Crime Act 2002 s.327
    }
    for code, value in expected.items():
        assert by_code[code]["max_custody"] == value, code


# --- Reproducibility ---------------------------------------------------------------------------


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"reference tables not found at {REFERENCE}")
def test_build_script_reproduces_committed_files(tmp_path):
    subprocess.run(
        [
            sys.executable,
            str(BUILD_SCRIPT),
            "--reference",
            str(REFERENCE),
            "--out",
            str(tmp_path),
            "--quiet",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    for name in ("ho_offence_codes.csv", "soc_offence_codes.csv"):
        assert (tmp_path / name).read_bytes() == (RESOURCES / name).read_bytes(), name
