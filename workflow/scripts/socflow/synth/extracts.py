"""Turn a simulated world into Data-First-like extracts, with the quirks of the real files.

Outputs (all Polars DataFrames of strings and integers, spelled as an extract might be):
Crown Court defendant-case and offence tables, the magistrates' defendant-case table (with
breaches and civil applications), the cross-justice linking table (`xjs_link`) and the
magistrates'-to-Crown journey table; plus the planted truth, kept apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from socflow.synth import catalogue as cat
from socflow.synth.simulate import DAY0, DD_OUTCOMES, OUT, OUTCOMES, SENTENCES, World, _day


@dataclass(frozen=True)
class QuirkRates:
    """How often the real data's known imperfections are planted."""

    duplicate_rows: float = 0.002
    malformed_rows: float = 0.0005
    blank_ethnicity_extra: float = 0.04
    split_person: float = 0.02  # persons whose records carry two cross-justice IDs
    merged_person: float = 0.004  # persons who share an ID with another person
    link_fanout: float = 0.003  # rows linked to two IDs
    breach_civil_share: float = 0.08  # share of magistrates' rows that are breaches or civil
    journey_low_score: float = 0.03  # journey links with a low match score


@dataclass
class Extracts:
    crown_defendant_cases: pl.DataFrame
    crown_offences: pl.DataFrame
    mags_defendant_cases: pl.DataFrame
    xjs_link: pl.DataFrame
    mags_crown_journey: pl.DataFrame
    truth_rows: pl.DataFrame
    truth_summary: dict


def _hash_ids(keys: np.ndarray, seed: int) -> pl.Series:
    """Stable hash-like keys (20-digit strings), as the extracts' `*_hash` columns are."""
    return pl.Series(keys.astype(np.uint64)).hash(seed=seed).cast(pl.String).str.zfill(20)


def _dates(days: np.ndarray) -> pl.Series:
    return pl.Series((DAY0 + days.astype("timedelta64[D]")).astype("datetime64[D]"))


def _labels(codes: np.ndarray, vocab: list[str]) -> pl.Series:
    return pl.Series(vocab, dtype=pl.String).gather(pl.Series(codes, dtype=pl.Int64))


def build_extracts(world: World, quirks: QuirkRates | None = None) -> Extracts:
    """Lay the world out as extract tables; plant duplicates, malformed values and ID errors."""
    q = quirks or QuirkRates()
    p = world.params
    rng = np.random.default_rng(p.seed + 1)
    c = world.cases
    per = world.persons
    part_case = world.participants["case_idx"]
    part_person = world.participants["person"]

    crown_lo, crown_hi = _day(p.crown_first_year), _day(p.last_year, 12, 31)
    mags_lo = _day(p.first_year)

    # ---- persons' cross-justice IDs: mostly one per person, some split, a few merged
    n_persons = len(per["sex"])
    xjs = np.arange(n_persons, dtype=np.int64)
    merged = rng.random(n_persons) < q.merged_person
    xjs[merged] = rng.integers(0, n_persons, merged.sum())
    split = rng.random(n_persons) < q.split_person
    alt_id = np.where(split, n_persons + np.arange(n_persons), -1)

    # ---- Crown Court defendant-case rows
    in_crown = c["crown"][part_case] & (
        (c["crown_disposal"][part_case] >= crown_lo) & (c["crown_disposal"][part_case] <= crown_hi)
    )
    cr_case = part_case[in_crown]
    cr_person = part_person[in_crown]
    n_cr = len(cr_case)
    offs = cat.OFFENCES
    ho5 = np.array([o.ho_code.replace("/", "") for o in offs])
    ho_slash = np.array([o.ho_code for o in offs])
    courts = world.courts
    court_name = np.array(
        [
            f"{cat.COURT_STEMS[i % len(cat.COURT_STEMS)]}"
            f"{'' if i < len(cat.COURT_STEMS) else ' ' + str(i // len(cat.COURT_STEMS) + 1)}"
            f" ({cat.REGIONS[r]})"
            for i, r in zip(courts["idx_in_region"], courts["region"], strict=True)
        ]
    )
    court_code = np.where(
        courts["kind"] == "crown",
        np.char.add("4", np.char.zfill(np.arange(len(courts["kind"])).astype(str), 2)),
        np.char.add("B", np.char.zfill(np.arange(len(courts["kind"])).astype(str), 3)),
    )

    outcome = c["outcome"][cr_case]
    plea = np.select(
        [
            np.isin(outcome, [OUT["guilty_plea"], OUT["sentenced_on_committal"]]),
            np.isin(
                outcome,
                [OUT["convicted_after_trial"], OUT["acquitted_jury"], OUT["lie_on_file"]],
            ),
            np.isin(outcome, [OUT[x] for x in DD_OUTCOMES]),
        ],
        [0, 1, np.where(rng.random(n_cr) < 0.7, 1, 2)],
        3,
    )
    age_cr = (c["offence_day"][cr_case] - per["birth_day"][cr_person]) // 365.25
    eth_cr = per["ethnicity"][cr_person].copy()
    eth_cr[rng.random(n_cr) < q.blank_ethnicity_extra] = len(cat.ETHNICITY_CODES) - 1
    n_offences = 1 + rng.poisson(np.where(c["soc_case"][cr_case], 1.4, 0.6))
    doc_id = np.arange(1, n_cr + 1)
    crown = pl.DataFrame(
        {
            "row_id_hash": _hash_ids(np.arange(n_cr), seed=p.seed * 7 + 1),
            "defendant_on_case_id": pl.Series(doc_id + 5_000_000).cast(pl.String),
            "case_number": pl.Series(
                np.char.add(
                    np.asarray(["T", "S", "A"])[c["receipt_type"][cr_case]],
                    (c["case_idx"][cr_case] + 10_000_000).astype(str),
                )
            ),
            "defendant_id": pl.Series(cr_person + 70_000_000).cast(pl.String),
            "court_id": pl.Series(court_code[c["crown_court"][cr_case]]),
            "court_name": pl.Series(court_name[c["crown_court"][cr_case]]),
            "hmcts_region": _labels(c["region"][cr_case], list(cat.REGIONS)),
            "receipt_type_desc": _labels(
                c["receipt_type"][cr_case], list(cat.RAW_RECEIPT.values())
            ),
            "offence_date": _dates(c["offence_day"][cr_case]).dt.strftime("%Y-%m-%d"),
            "receipt_date": _dates(c["crown_receipt"][cr_case]).dt.strftime("%Y-%m-%d"),
            "disposal_date": _dates(c["crown_disposal"][cr_case]).dt.strftime("%Y-%m-%d"),
            "ho_offence_code": pl.Series(ho5[c["offence"][cr_case]]),
            "age_at_offence": pl.Series(age_cr.astype(np.int64)),
            "gender": _labels(per["sex"][cr_person], ["M", "F"]),
            "ethnic": _labels(eth_cr, list(cat.ETHNICITY_CODES)),
            "plea_final_desc": _labels(plea, list(cat.RAW_PLEA.values())),
            "result_desc": _labels(outcome, [cat.RAW_CROWN_OUTCOME.get(o, o) for o in OUTCOMES]),
            "sentence_type_desc": _labels(
                c["sentence"][cr_case], [cat.RAW_SENTENCE[s] for s in SENTENCES]
            ),
            "custodial_period_days": pl.Series(c["custody_days"][cr_case]),
            "number_of_offences": pl.Series(n_offences),
        }
    )

    # ---- Crown Court offence table: the principal offence and lesser ones
    rep = np.repeat(np.arange(n_cr), n_offences)
    seq = np.arange(len(rep)) - np.repeat(np.cumsum(n_offences) - n_offences, n_offences)
    secondary = np.array([s.replace("/", "") for s in cat.SECONDARY_OFFENCES])
    code = np.where(
        seq == 0,
        ho5[c["offence"][cr_case]][rep],
        secondary[rng.integers(0, len(secondary), len(rep))],
    )
    # Lesser offences of a SOC case are often on the same family (further supply counts).
    same = (seq > 0) & c["soc_case"][cr_case][rep] & (rng.random(len(rep)) < 0.5)
    code = np.where(same, ho5[c["offence"][cr_case]][rep], code)
    cust = c["custody_days"][cr_case][rep]
    offences = pl.DataFrame(
        {
            "defendant_on_case_id": crown["defendant_on_case_id"].gather(rep),
            "offence_number": pl.Series(seq + 1),
            "ho_offence_code": pl.Series(code),
            "offence_date": crown["offence_date"].gather(rep),
            "custodial_period_days": pl.Series(
                np.where(seq == 0, cust, (cust * rng.uniform(0, 0.8, len(rep))).astype(np.int64))
            ),
        }
    )

    # ---- magistrates' defendant-case rows (every case starts there, bar none)
    mg_mask = (c["mags_disposal"][part_case] >= mags_lo) & (
        c["mags_disposal"][part_case] <= crown_hi
    )
    mg_case = part_case[mg_mask]
    mg_person = part_person[mg_mask]
    n_mg = len(mg_case)
    rt = c["receipt_type"][mg_case]
    case_out = c["outcome"][mg_case]
    mags_out_names = list(cat.RAW_MAGS_OUTCOME)
    mo = {k: i for i, k in enumerate(mags_out_names)}
    out_map = np.array([mo.get(o, mo["guilty_plea"]) for o in OUTCOMES])
    mg_outcome = np.select(
        [rt == 0, rt == 1, rt == 2],
        [mo["sent_for_trial"], mo["committed_for_sentence"], mo["guilty_plea"]],
        out_map[case_out],
    )
    mg_sentence = np.where(
        rt >= 0, np.where(rt == 2, c["sentence"][mg_case], 8), c["sentence"][mg_case]
    )
    mg_custody = np.where(rt >= 0, 0, c["custody_days"][mg_case])
    mg_mags_case_key = c["case_idx"][mg_case]

    # Breaches and civil applications: not new offences, but they are court appearances.
    n_extra = round(n_mg * q.breach_civil_share / (1 - q.breach_civil_share))
    src = rng.integers(0, n_mg, n_extra)
    ex_day = c["mags_disposal"][mg_case][src] + rng.integers(30, 900, n_extra)
    ok = ex_day <= crown_hi
    src, ex_day = src[ok], ex_day[ok]
    n_ex = len(src)
    is_breach = rng.random(n_ex) < 0.7
    all_case_key = np.concatenate([mg_mags_case_key, 90_000_000 + np.arange(n_ex)])
    mg_p = np.concatenate([mg_person, mg_person[src]])
    off_day = np.concatenate([c["offence_day"][mg_case], ex_day - 20])
    first_hearing = np.concatenate([c["mags_first_hearing"][mg_case], ex_day - 5])
    disp = np.concatenate([c["mags_disposal"][mg_case], ex_day])
    ho_mg = np.concatenate(
        [
            ho_slash[c["offence"][mg_case]],
            np.where(is_breach, cat.BREACH_CODE, cat.CIVIL_CODE),
        ]
    )
    proceeding = np.concatenate([np.zeros(n_mg, int), np.where(is_breach, 1, 2)])
    outcome_mg = np.concatenate(
        [mg_outcome, np.where(is_breach, mo["breach_proved"], mo["order_made"])]
    )
    sentence_mg = np.concatenate([mg_sentence, np.where(is_breach, 3, 8)])
    custody_mg = np.concatenate([mg_custody, np.zeros(n_ex, np.int64)])
    court_mg = np.concatenate([c["mags_court"][mg_case], c["mags_court"][mg_case][src]])
    region_mg = np.concatenate([c["region"][mg_case], c["region"][mg_case][src]])
    n_mg_all = len(mg_p)
    eth_mg = per["ethnicity"][mg_p].copy()
    eth_mg[rng.random(n_mg_all) < q.blank_ethnicity_extra] = len(cat.ETHNICITY_CODES) - 1
    mags = pl.DataFrame(
        {
            "row_id_hash": _hash_ids(np.arange(n_mg_all), seed=p.seed * 7 + 2),
            "case_id_hash": _hash_ids(all_case_key, seed=p.seed * 7 + 3),
            "defendant_id": pl.Series(mg_p + 30_000_000).cast(pl.String),
            "court_code": pl.Series(court_code[court_mg]),
            "court_name": pl.Series(court_name[court_mg]),
            "region": _labels(region_mg, list(cat.REGIONS)),
            "proceedings_type_desc": _labels(proceeding, list(cat.RAW_PROCEEDING.values())),
            "breach_marker": _labels(np.where(proceeding == 1, 1, 0), ["N", "Y"]),
            "offence_date": _dates(off_day).dt.strftime("%d/%m/%Y"),
            "first_hearing_date": _dates(first_hearing).dt.strftime("%d/%m/%Y"),
            "disposal_date": _dates(disp).dt.strftime("%d/%m/%Y"),
            "offence_code": pl.Series(ho_mg),
            "age_at_offence": pl.Series(((off_day - per["birth_day"][mg_p]) // 365.25).astype(int)),
            "gender": _labels(per["sex"][mg_p], ["M", "F"]),
            "ethnic": _labels(eth_mg, list(cat.ETHNICITY_CODES)),
            "jsas_result_group_desc": _labels(outcome_mg, list(cat.RAW_MAGS_OUTCOME.values())),
            "sentence_desc": _labels(sentence_mg, [cat.RAW_SENTENCE[s] for s in SENTENCES]),
            "custodial_period_days": pl.Series(custody_mg),
        }
    )

    # ---- journey: which magistrates' case went on to which Crown Court defendant-case
    cr_key = pl.DataFrame(
        {
            "case_idx": c["case_idx"][cr_case],
            "person": cr_person,
            "cc_defendant_on_case_id": crown["defendant_on_case_id"],
            "rt": c["receipt_type"][cr_case],
        }
    ).filter(pl.col("rt") < 2)
    mg_key = pl.DataFrame(
        {
            "case_idx": mg_mags_case_key,
            "person": mg_person,
            "mc_case_id": mags["case_id_hash"].head(n_mg),
            "mc_defendant_id": mags["defendant_id"].head(n_mg),
        }
    )
    journey = cr_key.join(mg_key, on=["case_idx", "person"], how="inner")
    n_j = journey.height
    score = np.where(
        rng.random(n_j) < q.journey_low_score, rng.uniform(0.3, 0.8, n_j), rng.uniform(0.9, 1, n_j)
    )
    journey = journey.select(
        "mc_case_id", "mc_defendant_id", "cc_defendant_on_case_id"
    ).with_columns(estimated_match_score=pl.Series(np.round(score, 3)))

    # ---- linking table: one row per extract row, with split IDs and a few fan-outs
    def _link(person: np.ndarray, keys: pl.Series, source: str) -> pl.DataFrame:
        pid = xjs[person]
        use_alt = (alt_id[person] >= 0) & (rng.random(len(person)) < 0.5)
        pid = np.where(use_alt, alt_id[person], pid)
        out = pl.DataFrame({"source_dataset": source, "row_id_hash": keys, "estimated_xjs_id": pid})
        fan = rng.random(len(person)) < q.link_fanout
        extra = out.filter(pl.Series(fan)).with_columns(
            estimated_xjs_id=pl.col("estimated_xjs_id") + 3 * n_persons
        )
        return pl.concat([out, extra])

    link = pl.concat(
        [
            _link(cr_person, crown["row_id_hash"], "crown_xhibit"),
            _link(mg_p, mags["row_id_hash"], "mags_hocas"),
        ]
    ).with_columns(
        estimated_xjs_id=pl.concat_str(pl.lit("XJS"), pl.col("estimated_xjs_id").cast(pl.String))
    )

    # ---- truth (never read by an analysis rule)
    truth_rows = pl.concat(
        [
            pl.DataFrame(
                {
                    "source_dataset": "crown_xhibit",
                    "row_id_hash": crown["row_id_hash"],
                    "true_person_id": cr_person,
                    "ocg_group_id": c["group_id"][cr_case],
                    "soc_case_truth": c["soc_case"][cr_case],
                    "dd_truth": c["dd"][cr_case],
                    "start_risk_date": _dates(c["start_risk"][cr_case]),
                }
            ),
            pl.DataFrame(
                {
                    "source_dataset": "mags_hocas",
                    "row_id_hash": mags["row_id_hash"],
                    "true_person_id": mg_p,
                    "ocg_group_id": np.concatenate([c["group_id"][mg_case], np.full(n_ex, -1)]),
                    "soc_case_truth": np.concatenate(
                        [c["soc_case"][mg_case], np.zeros(n_ex, bool)]
                    ),
                    "dd_truth": np.concatenate([c["dd"][mg_case], np.zeros(n_ex, bool)]),
                    "start_risk_date": _dates(np.concatenate([c["start_risk"][mg_case], ex_day])),
                }
            ),
        ]
    ).with_columns(ocg_group_id=pl.when(pl.col("ocg_group_id") >= 0).then("ocg_group_id"))

    # ---- quirks on the extracts: duplicate rows, malformed values
    crown = _plant_defects(crown, rng, q, date_fmt="%Y-%m-%d", code_col="ho_offence_code")
    mags = _plant_defects(mags, rng, q, date_fmt="%d/%m/%Y", code_col="offence_code")

    summary = {
        "seed": p.seed,
        "n_entrants": p.n_entrants,
        "n_groups": p.n_groups,
        "planted_odds_ratio_soc_discontinued_or_dismissed": p.odds_ratio_soc_dd,
        "discontinued_or_dismissed_outcomes": list(DD_OUTCOMES),
        "planted_hazard_ratio_soc_reappearance": p.hazard_ratio_soc,
        "release_fraction": p.release_fraction,
        "soc_truth_definition": (
            "case with two or more defendants whose principal offence is SOC-type "
            "(on the shipped list with a statutory maximum of three years or more)"
        ),
        "outcome_model_covariates": ["soc", "offence_group", "region", "receipt_year"],
        "hazard_model_covariates": ["soc", "offence_group"],
        "hazard_time_origin": "disposal date, or estimated release for immediate custody",
        "hazard_event_time": "offence date of the next case",
        "quirks": q.__dict__,
        "rows": {
            "crown_defendant_cases": crown.height,
            "crown_offences": offences.height,
            "mags_defendant_cases": mags.height,
            "xjs_link": link.height,
            "mags_crown_journey": journey.height,
        },
        "ocg_members_in_crown": int(
            truth_rows.filter(
                (pl.col("source_dataset") == "crown_xhibit") & pl.col("ocg_group_id").is_not_null()
            )["true_person_id"].n_unique()
        ),
    }
    return Extracts(crown, offences, mags, link, journey, truth_rows, summary)


def _plant_defects(
    df: pl.DataFrame, rng: np.random.Generator, q: QuirkRates, date_fmt: str, code_col: str
) -> pl.DataFrame:
    """Duplicate a few rows exactly and spoil a few values, as real extracts have."""
    n = df.height
    kind = pl.Series(np.where(rng.random(n) < q.malformed_rows, rng.integers(1, 6, n), 0))
    bad_date = "31/02/2017" if date_fmt.startswith("%d") else "2017-02-31"

    def spoil(k: int, col: str, value: pl.Expr) -> pl.Expr:
        return pl.when(kind == k).then(value).otherwise(pl.col(col)).alias(col)

    df = df.with_columns(
        spoil(1, code_col, pl.lit("9Z9X9")),
        spoil(3, "age_at_offence", pl.lit(-4)),
        spoil(4, "gender", pl.lit("Q")),
        # Dates out of order: the offence recorded after the disposal.
        spoil(5, "offence_date", pl.col("disposal_date")),
        pl.when(kind == 2)
        .then(pl.lit(bad_date))
        .when(kind == 5)
        .then(pl.col("offence_date"))
        .otherwise(pl.col("disposal_date"))
        .alias("disposal_date"),
    )
    dup = rng.random(n) < q.duplicate_rows
    return pl.concat([df, df.filter(pl.Series(dup))])
