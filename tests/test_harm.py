"""Crime harm: weights, harm per case, SOC against non-SOC, concentration (socflow.harm)."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from socflow import harm
from socflow.disclose import check_candidate
from socflow.harm import defendant_harm as harm_defendant_harm
from socflow.harm import estimation as harm_estimation
from socflow.harm import unit_tables as harm_unit_tables
from socflow.ingest import load_ho_codes
from socflow.outputs import read_candidates
from socflow.sdc import SdcThresholds, check_magnitude_table

REPO = Path(__file__).resolve().parents[1]
HARM_RES = REPO / "resources" / "harm"
ONS_CSV = HARM_RES / "ons_crime_severity_weights.csv"
MAPPING_CSV = HARM_RES / "ons_css_to_ho.csv"
HO_CSV = REPO / "resources" / "offence_codes" / "ho_offence_codes.csv"
REFERENCE = REPO.parent / "shared" / "reference"
EQUIVALENTS = {
    "community_sentence": 15, "suspended_sentence": 30, "fine": 1, "compensation": 1,
    "conditional_discharge": 0, "absolute_discharge": 0, "otherwise_dealt_with": 0,
}  # fmt: skip


@pytest.fixture(scope="module")
def ho_codes() -> pl.DataFrame:
    return load_ho_codes(HO_CSV)


@pytest.fixture(scope="module")
def ons(ho_codes) -> pl.DataFrame:
    return harm.load_ons_weights(ONS_CSV, MAPPING_CSV, ho_codes)


# ---------------------------------------------------------------------------------------------
# Concentration measures: known answers
# ---------------------------------------------------------------------------------------------


def test_gini_known_answers():
    assert harm.gini(np.full(7, 3.5)) == pytest.approx(0.0)
    for n in (2, 5, 40):
        one_holder = np.zeros(n)
        one_holder[3 % n] = 10.0
        assert harm.gini(one_holder) == pytest.approx((n - 1) / n)
    # Two units holding 1 and 3: mean absolute difference 1, over twice the mean 2.
    assert harm.gini(np.array([3.0, 1.0])) == pytest.approx(0.25)
    rows = harm.gini(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 9.0]]))
    np.testing.assert_allclose(rows, [0.0, 2 / 3])


def test_top_share_and_dissimilarity():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert harm.top_share(x, 1) == pytest.approx(0.4)
    assert harm.top_share(x, 2) == pytest.approx(0.7)
    # Harm proportional to counts: D = 0; all harm in the unit holding a quarter of the cases.
    assert harm.dissimilarity(np.array([2.0, 4.0, 6.0]), np.array([1, 2, 3])) == pytest.approx(0)
    assert harm.dissimilarity(np.array([0.0, 0.0, 5.0]), np.array([1, 2, 1])) == pytest.approx(0.75)


def test_multiplicity_stats_equal_stats_of_the_expanded_resample():
    rng = np.random.default_rng(3)
    x = np.sort(rng.gamma(0.6, 100.0, size=30))
    count = rng.integers(1, 6, size=30).astype(float)
    m = rng.multinomial(30, np.full(30, 1 / 30), size=25)
    fast = harm.multiplicity_stats(x, count, m, [0.1, 0.2], 2)
    for r in range(m.shape[0]):
        expanded = np.repeat(x, m[r])
        assert fast["gini"][r] == pytest.approx(harm.gini(expanded), abs=1e-5)
        for f in (0.1, 0.2):
            k = math.floor(f * 30 + 0.5)
            assert fast[f"top|{f:g}"][r] == pytest.approx(harm.top_share(expanded, k), abs=1e-5)
        d = harm.dissimilarity(x * m[r], count * m[r])
        assert fast["dissimilarity"][r] == pytest.approx(d, abs=1e-5)


@pytest.mark.parametrize(("n_cases", "n_types"), [(5000, 300), (90_000, 70_000)])
def test_replicate_type_counts_are_the_draws_of_the_seed(n_cases, n_types):
    # Each replicate's type counts are the tally of the cases drawn from the seeded stream:
    # counted one case at a time, with the narrow (two-byte) type codes and the wide ones.
    rng = np.random.default_rng(n_types)
    type_of_case = np.concatenate([np.arange(n_types), rng.integers(0, n_types, n_cases - n_types)])
    design = harm.Design(
        type_of_case=type_of_case.astype(np.int32),
        cases_per_type=np.bincount(type_of_case, minlength=n_types),
        court_of_type=np.zeros(n_types, dtype=np.int64),
        n_courts=1,
    )
    got = np.concatenate(
        list(harm.replicate_type_counts(design, 7, np.random.default_rng(5), "cases", block=3))
    )
    stream = np.random.default_rng(5)
    expected = []
    for r in (3, 3, 1):
        draws = stream.integers(0, n_cases, size=(r, n_cases), dtype=np.int32)
        for row in draws:
            tally = np.zeros(n_types)
            np.add.at(tally, type_of_case[row], 1.0)
            expected.append(tally)
    np.testing.assert_array_equal(got, np.array(expected))
    assert got.sum(axis=1).tolist() == [float(n_cases)] * 7


def test_replicate_type_counts_do_not_depend_on_the_block():
    # The default block (sized to the number of cases) draws the same stream as any other.
    rng = np.random.default_rng(3)
    type_of_case = rng.integers(0, 40, 3000)
    design = harm.Design(
        type_of_case=type_of_case.astype(np.int32),
        cases_per_type=np.bincount(type_of_case, minlength=40),
        court_of_type=np.zeros(40, dtype=np.int64),
        n_courts=1,
    )

    def draws(block):
        gen = harm.replicate_type_counts(design, 70, np.random.default_rng(9), "cases", block)
        return np.concatenate(list(gen))

    np.testing.assert_array_equal(draws(None), draws(1))
    np.testing.assert_array_equal(draws(None), draws(32))


def test_unit_persons_count_distinct_persons():
    rows = pl.DataFrame({"unit": ["b", "a", "b", "a", "c", "b"], "person_code": [0, 0, 0, 3, 3, 5]})
    people = harm.UnitPersons.of(rows, ["a", "b", "c"])
    assert people.n_persons == 3
    assert people.per_unit().tolist() == [2, 2, 1]
    # Units in order a, b, c: persons {0, 3}, then 5, then nobody new.
    assert people.cumulative(np.array([0, 1, 2])).tolist() == [0, 2, 3, 3]


def test_lorenz_points_never_rest_on_fewer_than_the_minimum_units():
    for n_units, min_units in ((7, 2), (12, 2), (77, 2), (77, 4), (1000, 2), (3, 2)):
        ks = harm.lorenz_ranks(n_units, 0.05, min_units)
        assert ks[0] == 0 and ks[-1] == n_units
        gaps = np.diff(ks)
        assert (gaps >= min_units).all() or len(ks) == 2
    assert harm.lorenz_ranks(100, 0.05, 2) == list(range(0, 101, 5))


# ---------------------------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------------------------


def test_ons_mapping_covers_every_ho_code_once_with_a_method(ho_codes):
    mapping = pl.read_csv(MAPPING_CSV, infer_schema=False)
    weights = pl.read_csv(ONS_CSV, infer_schema=False)
    assert mapping["ho_code"].n_unique() == mapping.height
    assert set(mapping["ho_code"].str.replace("/", "")) == set(ho_codes["ho_code"])
    assert set(mapping["method"]) <= {"class", "subclass", "nearest", "unmapped"}
    mapped = mapping.filter(pl.col("po_offence_code").is_not_null())
    assert set(mapped["po_offence_code"]) <= set(weights["po_offence_code"])
    # A code has a PRC code exactly when it is not unmapped, and every row says why.
    assert (mapping["po_offence_code"].is_null() == (mapping["method"] == "unmapped")).all()
    assert mapping["rationale"].is_not_null().all()
    # Drug trafficking splits from possession within class 092.
    by_code = dict(zip(mapping["ho_code"], mapping["po_offence_code"], strict=True))
    assert by_code["092/30"] == "92A" and by_code["092/61"] == "92E" and by_code["092/50"] == "92D"


def test_ons_weights_reach_court_codes(ons):
    w = dict(zip(ons["ho_offence_code"], ons["w_ons_css"], strict=True))
    assert w["09230"] == pytest.approx(512.957, abs=1e-3)  # supply of cocaine: trafficking
    assert w["09261"] == pytest.approx(1.7706, abs=1e-4)  # cannabis possession
    assert w["08109"] == pytest.approx(1287.544, abs=1e-3)  # selling firearms: 81
    assert w["05304"] is None  # conspiracy to defraud: the CSS has no fraud weight
    method = dict(zip(ons["ho_offence_code"], ons["ons_method"], strict=True))
    assert method["04600"] == "class" and method["09230"] == "subclass"


def test_ons_resources_match_the_reference_and_rebuild(tmp_path):
    if not REFERENCE.exists():
        pytest.skip("shared reference directory absent")
    assert ONS_CSV.read_bytes() == (REFERENCE / "ons_crime_severity_weights.csv").read_bytes()
    out = tmp_path
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools/build_harm_resources.py"), "--reference",
         str(REFERENCE), "--out", str(out), "--quiet"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (out / "ons_css_to_ho.csv").read_bytes() == MAPPING_CSV.read_bytes()


def _sentencing_data() -> tuple[pl.DataFrame, pl.DataFrame]:
    crown = pl.DataFrame(
        {
            "ho_offence_code": ["09230"] * 4 + ["09231"] * 2 + ["04600"],
            "sentence_type": ["immediate_custody", "immediate_custody", "community_sentence",
                              "none", "immediate_custody", "immediate_custody", "fine"],
            "custody_days": [100, 300, 0, 0, 900, 0, 0],
        }
    )  # fmt: skip
    mags = pl.DataFrame(
        {
            "ho_offence_code": ["09230", "09230", "04600"],
            "sentence_type": ["suspended_sentence", "fine", "conditional_discharge"],
            "custody_days": [0, 0, 0],
            "proceeding_type": ["criminal", "breach", "criminal"],
        }
    )
    return crown, mags


def test_data_derived_weights_convert_sentences_and_fall_back_to_the_class(ho_codes):
    crown, mags = _sentencing_data()
    used, excluded = harm.sentences(crown, mags, EQUIVALENTS)
    # Not sentenced: not a sentence. Custody without a term and a breach: left out, counted.
    assert used.height == 7
    reasons = {(r["source"], r["excluded"]): r["rows"] for r in excluded.iter_rows(named=True)}
    assert reasons == {
        ("crown", "immediate custody without a term"): 1,
        ("mags", "breach or civil proceedings"): 1,
    }
    w = harm.data_derived_weights(used, ho_codes, min_sentences=3)
    by_code = {r["ho_offence_code"]: r for r in w.iter_rows(named=True)}
    cocaine = by_code["09230"]  # 100, 300, 15 (community), 30 (suspended)
    assert cocaine["dd_n_sentences"] == 4 and cocaine["dd_basis"] == "code"
    assert cocaine["w_data_derived"] == pytest.approx((100 + 300 + 15 + 30) / 4)
    heroin = by_code["09231"]  # one sentence: the class 092 mean (five sentences)
    assert heroin["dd_basis"] == "class fallback"
    assert heroin["w_data_derived"] == pytest.approx((100 + 300 + 15 + 30 + 900) / 5)
    shoplifting = by_code["04600"]  # two sentences in class 046: too few for either
    assert shoplifting["dd_basis"] == "none" and shoplifting["w_data_derived"] is None
    assert w.height == ho_codes.height


def _write_cchi_rows(path: Path, rows: list[list[object]]) -> None:
    if path.suffix == ".xlsx":
        import openpyxl  # noqa: PLC0415

        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "CCHI 2021 values sheet"
        for row in rows:
            sheet.append(row)
        book.save(path)
    else:
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows(rows)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_cchi_reader(tmp_path, suffix):
    rows = [
        ["Cambridge Crime Harm Index", None, None],
        [None, None, None],
        ["Home  office classification", "Offence", "CCHI score"],
        ["092/30", "Supply cocaine", 1095],
        ["46/0", "Shoplifting", "2"],
        ["00101", "Murder", "5475"],
        ["nonsense", "Bad code", 10],
        ["105/01", "Common assault", "n/a"],
        ["092/30", "Supply cocaine again", 730],
    ]
    path = tmp_path / f"cchi{suffix}"
    _write_cchi_rows(path, rows)
    sheet = "CCHI 2021 values sheet" if suffix == ".xlsx" else None
    table, problems = harm.read_cchi(path, "Home office classification", "cchi score", sheet)
    scores = dict(zip(table["ho_offence_code"], table["w_cchi"], strict=True))
    assert scores == {"09230": 1095.0, "04600": 2.0, "00101": 5475.0}
    assert problems == {
        "rows": 6, "unreadable_code": 1, "unreadable_or_negative_score": 1,
        "duplicated_codes": 1,
    }  # fmt: skip
    with pytest.raises(harm.HarmInputError, match="no header row"):
        harm.read_cchi(path, "HO code", "CCHI score", sheet)


# ---------------------------------------------------------------------------------------------
# Harm per defendant-case and case, on hand-made data
# ---------------------------------------------------------------------------------------------


def _world(n_cases: int = 60, seed: int = 1) -> dict[str, pl.DataFrame]:
    """Cases with one to three defendants, two courts per region, a few SOC cases, one code
    without any weight."""
    rng = np.random.default_rng(seed)
    codes = ["09230", "04600", "10501", "05304", "99999"]
    rows = []
    for c in range(n_cases):
        soc = c % 6 == 0
        court = f"C{c % 4}"
        for d in range(1 + (c % 3 if not soc else 2)):
            code = "09230" if soc else codes[rng.integers(0, len(codes))]
            rows.append({
                "defendant_on_case_id": f"{c}-{d}", "case_id": f"K{c:03d}",
                "court_id": court, "court_name": f"Court {court}",
                "region": ["London", "Wales"][c % 4 // 2],
                "disposal_year": 2014 + c % 3 + (d == 1 and c % 5 == 0),
                "ho_offence_code": code, "offence_group": {"09230": "Drug offences",
                "04600": "Theft offences", "10501": "Violence against the person",
                "05304": "Fraud offences", "99999": "Not known"}[code],
                "sentence_type": "immediate_custody",
                "person": f"P{(c * 3 + d) % (n_cases * 2)}",
                "soc": soc, "soc_case": soc, "soc_category": "drug supply" if soc else None,
            })  # fmt: skip
    df = pl.DataFrame(rows)
    crown = df.drop("person", "soc", "soc_case", "soc_category")
    flags = df.select("defendant_on_case_id", "person", "soc", "soc_case", "soc_category")
    weights = pl.DataFrame(
        {
            "ho_offence_code": ["09230", "04600", "10501", "05304"],
            "w_ons_css": [513.0, 11.9, 13.5, None],
            "w_data_derived": [900.0, 20.0, 30.0, 400.0],
        }
    )
    persons = flags["person"].unique().sort()
    person_groups = pl.DataFrame(
        {"person": persons, "group_id": (np.arange(len(persons)) // 3 + 1).astype(np.uint32)}
    )
    groups = (
        person_groups.group_by("group_id")
        .agg(pl.len().alias("n_persons"))
        .with_columns((pl.col("group_id") % 2 == 0).cast(pl.Float64).alias("share_cases_soc"))
    )
    return {"crown": crown, "flags": flags, "weights": weights,
            "person_groups": person_groups, "groups": groups}  # fmt: skip


def _dc(world: dict, **kw) -> pl.DataFrame:
    return harm.defendant_case_harm(
        world["crown"], world["flags"], world["weights"], world["person_groups"],
        world["groups"], first_year=2013, last_year=2020, **kw,
    )  # fmt: skip


def test_unweighted_codes_are_kept_not_dropped():
    world = _world()
    dc = _dc(world)
    assert dc.height == world["crown"].height
    unknown = dc.filter(pl.col("ho_offence_code") == "99999")
    assert unknown.height > 0
    assert unknown["w_ons_css"].is_null().all() and unknown["w_data_derived"].is_null().all()
    fraud = dc.filter(pl.col("ho_offence_code") == "05304")
    assert fraud["w_ons_css"].is_null().all() and (fraud["w_data_derived"] == 400.0).all()
    cov = harm.coverage_table(world["weights"], dc).filter(
        pl.col("statistic") == "Share of analysed defendant-cases with a weight"
    )
    expected = 1 - dc.filter(pl.col("ho_offence_code").is_in(["99999", "05304"])).height / dc.height
    assert cov.filter(pl.col("weight") == harm.WEIGHT_LABELS["ons_css"])["value"][
        0
    ] == pytest.approx(expected)


def test_case_attributes_come_from_the_earliest_defendant_case():
    dc = _dc(_world())
    per_case = dc.group_by("case_id").agg(
        pl.col("year").n_unique(), pl.col("court").n_unique(), pl.col("soc_case").n_unique()
    )
    assert (per_case.select(pl.exclude("case_id")) == 1).to_numpy().all()
    first = dc.group_by("case_id").agg(pl.col("disposal_year").min(), pl.col("year").first())
    assert (first["disposal_year"] == first["year"]).all()


def test_case_attributes_by_position_equal_those_grouped_and_joined():
    # Year, court and region of the earliest-disposed defendant-case (ties: the smallest
    # identifier), SOC when any defendant-case is: as grouping the cases and joining back.
    rng = np.random.default_rng(8)
    n = 3000
    base = pl.DataFrame(
        {
            "defendant_on_case_id": [f"D{i:05d}" for i in rng.permutation(n)],
            "case_id": [f"C{c:04d}" for c in rng.integers(0, 900, n)],
            "court_id": rng.choice(["K1", "K2", "K3"], n),
            "court": rng.choice(["A", "B", ""], n),
            "region": rng.choice(["North", "South"], n),
            "disposal_year": rng.integers(2013, 2016, n).astype(np.int16),
            "soc_case": rng.random(n) < 0.1,
        }
    ).with_columns(pl.when(pl.col("court") != "").then(pl.col("court")).alias("court"))
    former = (
        base.sort("case_id", "disposal_year", "defendant_on_case_id")
        .group_by("case_id", maintain_order=True)
        .agg(
            pl.col("disposal_year").first().cast(pl.Int32).alias("year"),
            pl.col("court_id").first(),
            pl.col("court").first(),
            pl.col("region").first(),
            pl.col("soc_case").any(),
        )
    )
    expected = base.drop("court_id", "court", "region", "soc_case").join(
        former, on="case_id", how="left"
    )
    got = harm_defendant_harm._with_case_attributes(base)
    assert got.columns == expected.columns
    key = ["case_id", "defendant_on_case_id"]
    assert got.sort(key).equals(expected.sort(key))
    assert harm_defendant_harm._with_case_attributes(base.head(0)).height == 0


def test_offence_scope_all_sums_the_offences():
    world = _world(12)
    offences = (
        world["crown"]
        .select("defendant_on_case_id", "ho_offence_code")
        .with_columns(pl.lit(1, dtype=pl.Int16).alias("offence_number"))
    )
    extra = offences.head(3).with_columns(
        pl.lit("04600").alias("ho_offence_code"), pl.lit(2, dtype=pl.Int16).alias("offence_number")
    )
    dc_all = _dc(world, offence_scope="all", offences=pl.concat([offences, extra]))
    dc_one = _dc(world)
    joined = dc_one.join(dc_all, on="defendant_on_case_id", suffix="_all")
    bumped = set(extra["defendant_on_case_id"])
    for r in joined.iter_rows(named=True):
        if r["defendant_on_case_id"] in bumped:
            assert r["w_data_derived_all"] == pytest.approx((r["w_data_derived"] or 0) + 20.0)
        else:
            assert r["w_data_derived_all"] == r["w_data_derived"]


def test_totals_add_up_and_intervals_cover_the_estimates():
    world = _world(120, seed=4)
    dc = _dc(world)
    s = harm.HarmSettings(replicates=200, permutations=49, lorenz_step=0.1)
    est = harm.estimate(dc, ["ons_css", "data_derived"], s)
    cases = harm.case_harm(dc, ["ons_css", "data_derived"])
    # Case harm is the sum of defendant-case harm; SOC and non-SOC harm add up to all harm.
    assert cases["w_data_derived"].sum() == pytest.approx(dc["w_data_derived"].sum())
    p = est.point["soc_year"]
    soc_total = cases.filter(pl.col("soc_case"))["w_data_derived"].sum()
    assert p["harm_share|all|data_derived"] == pytest.approx(
        soc_total / cases["w_data_derived"].sum()
    )
    covered = cases.filter(pl.col("soc_case") & pl.col("w_ons_css").is_not_null())
    assert p["mean_soc|all|ons_css"] == pytest.approx(covered["w_ons_css"].mean())
    assert p["case_share|all"] == pytest.approx(cases["soc_case"].mean())
    for dim, stats in est.point.items():
        for key, value in stats.items():
            if np.ndim(value) or not np.isfinite(value):
                continue
            lo, hi = harm.percentile_interval(est.boot[dim][key], 0.95)
            # Unit resamples are summarised in single precision (relative error ~1e-7).
            assert lo - 1e-6 <= value <= hi + 1e-6, (dim, key, value, lo, hi)
    court_totals = est.totals["court"]["w_data_derived"]
    assert court_totals.sum() == pytest.approx(dc["w_data_derived"].fill_null(0).sum())
    assert est.totals["court"]["count"].sum() == cases.height


def test_estimates_are_deterministic_and_courts_can_be_resampled():
    dc = _dc(_world(48, seed=2))
    s = harm.HarmSettings(replicates=60, permutations=19, resample="courts")
    a = harm.estimate(dc, ["data_derived"], s)
    b = harm.estimate(dc, ["data_derived"], s)
    for dim in a.boot:
        for key in a.boot[dim]:
            np.testing.assert_array_equal(a.boot[dim][key], b.boot[dim][key])
    assert a.tests == b.tests


def test_totals_of_some_columns_are_those_of_all_columns_bit_for_bit():
    dc = _dc(_world(120, seed=4))
    names = ["ons_css", "data_derived"]
    rows = harm.dimension_rows(dc, names)
    contrib = harm.case_level_contributions(rows, names)
    value_cols = [f"w_{w}" for w in names] + [f"n_{w}" for w in names] + ["count"]
    design = harm.build_design(
        dc, {k: contrib[k] for k in ("offence_group", "court", "soc_year")}, value_cols,
        case_key=["court", "region", "soc_case", "year"],
        row_key=["offence_group", "soc", "soc_category", *[f"w_{w}" for w in names]],
    )  # fmt: skip
    rng = np.random.default_rng(7)
    counts = rng.integers(0, 5, size=(9, design.n_types)).astype(np.float64)
    for tab in design.tabulations.values():
        every = tab.totals(counts)
        for cols in (["w_data_derived"], ["count", "w_ons_css"]):
            some = tab.totals(counts, cols)
            assert list(some) == cols
            for c in cols:
                np.testing.assert_array_equal(some[c], every[c])


def test_design_does_not_depend_on_the_order_of_the_defendant_cases():
    # Rows sorted by case are numbered by runs; other orders are sorted first: the same
    # cases, types, counts and tabulations.
    dc = _dc(_world(120, seed=4))
    names = ["ons_css", "data_derived"]
    contrib = harm.case_level_contributions(harm.dimension_rows(dc, names), names)
    value_cols = [f"w_{w}" for w in names] + [f"n_{w}" for w in names] + ["count"]

    def design_of(frame):
        return harm.build_design(
            frame, {k: contrib[k] for k in ("offence_group", "court", "soc_year")}, value_cols,
            case_key=["court", "region", "soc_case", "year"],
            row_key=["offence_group", "soc", "soc_category", *[f"w_{w}" for w in names]],
        )  # fmt: skip

    assert dc["case_id"].is_sorted()
    a, b = design_of(dc), design_of(dc.sample(fraction=1.0, shuffle=True, seed=3))
    for field in ("type_of_case", "cases_per_type", "court_of_type"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.n_courts == b.n_courts and a.n_types < len(a.type_of_case)
    for name, tab in a.tabulations.items():
        assert tab.units == b.tabulations[name].units
        assert (tab.matrix != b.tabulations[name].matrix).nnz == 0


def test_replicates_tabulated_one_at_a_time_or_in_batches_are_the_same(monkeypatch):
    dc = _dc(_world(120, seed=5))
    s = harm.HarmSettings(replicates=70, permutations=9)
    batched = harm.estimate(dc, ["ons_css", "data_derived"], s)
    monkeypatch.setattr(harm_estimation, "TABULATION_BATCH", 1)
    single = harm.estimate(dc, ["ons_css", "data_derived"], s)
    assert batched.boot.keys() == single.boot.keys()
    for dim in batched.boot:
        assert batched.boot[dim].keys() == single.boot[dim].keys()
        for key in batched.boot[dim]:
            np.testing.assert_array_equal(batched.boot[dim][key], single.boot[dim][key])


def test_dominated_units_by_person_number_equal_those_by_person_identifier():
    # The magnitude check reads the dense person numbers instead of the identifiers: the same
    # contributors in the same order, so the same withheld units as with the identifiers.
    dc = _dc(_world(90, seed=4))
    rows = harm.dimension_rows(dc, ["ons_css", "data_derived"])
    thr = SdcThresholds(min_cell_count=40)  # strict enough to withhold some units
    found = 0
    for dim in harm.SHARE_DIMENSIONS:
        for w in ("ons_css", "data_derived"):
            contrib = (
                rows[dim]
                .filter(pl.col(f"covered_{w}") > 0)
                .select(pl.col("unit").cast(pl.String), pl.col(f"w_{w}").alias("harm"), "person")
            )
            if contrib.height == 0:
                continue
            by_id = check_magnitude_table(contrib, ["unit"], "harm", "person", thr)
            expected = set(by_id.cells.filter(pl.col("total").is_null())["unit"].to_list())
            assert harm.dominated_units(rows[dim], w, thr) == expected
            found += len(expected)
    assert found > 0


def test_dominated_units_checked_together_equal_those_checked_one_by_one():
    # Offence groups, courts and regions share their contributions and are checked together
    # (one sort by person, one grand total); SOC categories alone: the same withheld units.
    dc = _dc(_world(90, seed=4))
    rows = harm.dimension_rows(dc, ["ons_css", "data_derived"])
    thr = SdcThresholds(min_cell_count=40)  # strict enough to withhold some units
    found = 0
    for w in ("ons_css", "data_derived"):
        together = harm_unit_tables.dominated_units_by_dimension(
            rows, harm.SHARE_DIMENSIONS, w, thr
        )
        assert list(together) == list(harm.SHARE_DIMENSIONS)
        for dim in harm.SHARE_DIMENSIONS:
            assert together[dim] == harm.dominated_units(rows[dim], w, thr)
            found += len(together[dim])
        none = harm_unit_tables.dominated_units_by_dimension(rows, harm.SHARE_DIMENSIONS, w, None)
        assert none == {d: set() for d in harm.SHARE_DIMENSIONS}
    assert found > 0


def test_permutation_test_separates_even_from_concentrated_harm():
    rng = np.random.default_rng(0)
    n = 400
    units = np.repeat(np.array(list("ABCDEFGH")), n // 8)
    even = pl.DataFrame({"case_id": np.arange(n).astype(str), "unit": units,
                         "w_x": rng.permutation(np.tile([5.0, 50.0], n // 2)),
                         "count": np.ones(n)})  # fmt: skip
    skewed = even.with_columns(pl.when(pl.col("unit") == "A").then(500.0).otherwise(1.0)
                               .alias("w_x"))  # fmt: skip
    out = {}
    for label, frame in (("even", even), ("skewed", skewed)):
        rows = {"offence_group": frame, "soc_category": frame.clear(), "soc_group": frame.clear()}
        contrib = {"court": frame.clear(), "region": frame.clear().select("case_id", "unit")}
        out[label] = harm.permutation_tests(contrib, rows, "x", 99, np.random.default_rng(1))
    d_even, p_even, _ = out["even"]["offence_group"]
    d_skew, p_skew, _ = out["skewed"]["offence_group"]
    assert p_skew == pytest.approx(1 / 100)
    assert d_skew > 0.5 > d_even
    assert p_even > 0.01


# ---------------------------------------------------------------------------------------------
# The stage on the tiny synthetic world
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_harm(tiny_canonical, tmp_path_factory, ho_codes):
    out = tmp_path_factory.mktemp("harm")
    w = tiny_canonical
    for name in ("crown_defendant_cases", "mags_defendant_cases", "crown_offences", "flags",
                 "person_groups", "groups"):  # fmt: skip
        w[name].write_parquet(out / f"{name}.parquet")
    harm.run_harm_weights(
        crown_path=out / "crown_defendant_cases.parquet",
        mags_path=out / "mags_defendant_cases.parquet", ho_codes_path=HO_CSV,
        ons_weights_path=ONS_CSV, ons_mapping_path=MAPPING_CSV, cchi=None,
        equivalents=EQUIVALENTS, min_sentences=30, out_weights=out / "weights.parquet",
        out_report=out / "weights_report.json",
    )  # fmt: skip
    settings = harm.HarmSettings(replicates=100, permutations=19)
    harm.run_harm(
        crown_path=out / "crown_defendant_cases.parquet", flags_path=out / "flags.parquet",
        person_groups_path=out / "person_groups.parquet", groups_path=out / "groups.parquet",
        weights_path=out / "weights.parquet", offences_path=None, settings=settings,
        thresholds=SdcThresholds(), out_candidates=out / "candidates",
        out_defendant_cases=out / "dc.parquet", out_cases=out / "cases.parquet",
        out_unweighted=out / "unweighted.csv",
    )  # fmt: skip
    return out


def test_tiny_run_writes_checkable_candidates(tiny_harm):
    stage, candidates = read_candidates(tiny_harm / "candidates")
    assert stage == "harm"
    kinds = {c.output_id: c.kind for c in candidates}
    assert kinds["harm_soc_summary"] == "statistics"
    assert kinds["harm_totals_data_derived"] == "magnitude"
    assert kinds["harm_totals_ons_css"] == "magnitude"
    figures = {c.output_id: (c.figure or {}).get("type") for c in candidates}
    assert figures["harm_lorenz_court"] == "lorenz"
    assert figures["harm_shares_offence_group"] == "bar"
    for c in candidates:
        if c.kind == "magnitude":
            assert c.data["person"].null_count() == 0
        if c.kind == "statistics":
            assert "n_persons" in c.data.columns
        published = check_candidate(
            c, "harm", SdcThresholds(), tiny_harm / "t" / f"{c.output_id}.csv"
        )
        assert published.status in ("pass", "review")


def test_tiny_run_reports_unweighted_codes_and_keeps_their_rows(tiny_harm, tiny_canonical):
    dc = pl.read_parquet(tiny_harm / "dc.parquet")
    unweighted = pl.read_csv(tiny_harm / "unweighted.csv", schema_overrides={
        "ho_offence_code": pl.String})  # fmt: skip
    ons_missing = unweighted.filter(pl.col("weight") == "ons_css")
    assert ons_missing["defendant_cases"].sum() == dc["w_ons_css"].null_count() > 0
    # Conspiracy to defraud is SOC-listed but has no CSS weight: reported, and its rows kept.
    assert "05304" in set(ons_missing["ho_offence_code"])
    assert dc.filter(pl.col("ho_offence_code") == "05304").height > 0


def test_tiny_run_soc_cases_carry_more_harm_per_case(tiny_harm):
    """The synthetic world plants organised groups on the serious SOC-type offences (supply,
    importation, firearms), so SOC cases must weigh more per case under every weight."""
    _, candidates = read_candidates(tiny_harm / "candidates")
    summary = next(c for c in candidates if c.output_id == "harm_soc_summary").data
    ratios = summary.filter(pl.col("statistic").str.starts_with("Ratio"))
    assert ratios.height == 2
    assert (ratios["value"] > 1.5).all()
    share = summary.filter(pl.col("statistic") == "Share of all cases that are SOC cases")
    harm_share = summary.filter(pl.col("statistic") == "Share of all harm in SOC cases")
    assert (harm_share["value"] > share["value"][0]).all()
    medians = summary.filter(pl.col("statistic").str.starts_with("Median"))
    assert ((medians["value"] % 10) == 0).all()


def test_settings_from_config_match_the_defaults(config):
    assert harm.HarmSettings.from_config(config["harm"]) == harm.HarmSettings()


def test_cchi_primary_without_a_file_stops_the_workflow(tmp_path):
    overlay = tmp_path / "cchi.yaml"
    overlay.write_text("harm:\n  primary_weight: cchi\n")
    cmd = [
        str(Path(sys.executable).parent / "snakemake"), "-n", "results/harm/candidates",
        "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path), "--cores", "1",
        "--configfile", str(REPO / "config/config.yaml"), str(overlay),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert "harm.cchi.path" in proc.stdout + proc.stderr
