"""Turn a simulated world into Data-First-like extracts, with the quirks of the real files.

Outputs (all Polars DataFrames of strings and integers, spelled as an extract might be):
Crown Court defendant-case and offence tables, the magistrates' defendant-case table (with
breaches and civil applications), the cross-justice linking table (`xjs_link`) and the
magistrates'-to-Crown journey table; plus the planted truth, kept apart.

The world is first laid out as integer codes, one array per column (`_Layout`): every random draw
is made there, in a fixed order, and the world itself can then be dropped. Tables are spelled out
as text only when asked for, and a sharded table one shard at a time when it is written, so that
the ~13M-row magistrates' table never sits in memory as text all at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from socflow.synth import catalogue as cat
from socflow.synth.simulate import (
    DAY0,
    DD_OUTCOMES,
    MAGS_RATE_FACTOR,
    OUT,
    OUTCOMES,
    SENTENCES,
    World,
    _day,
)
from socflow.synth.simulate import narrow as _narrow

if TYPE_CHECKING:
    from socflow.synth.linked import Linked


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


class Extracts:
    """The extract tables of one simulated world, and the planted truth.

    Each table is spelled out on first access and then kept; `write_extracts` writes the tables
    from the layout instead, shard by shard, without keeping them.
    """

    def __init__(self, layout: _Layout, linked: Linked | None = None) -> None:
        self.layout = layout
        self.linked = linked
        self.truth_summary: dict = dict(layout.summary)
        if linked is not None:
            self.truth_summary["linked"] = linked.summary
            rows = dict(layout.summary["rows"])
            rows["xjs_link"] += sum(linked.summary["rows"][t] for t in LINKED_LINK_TABLES)
            self.truth_summary["rows"] = rows

    @cached_property
    def crown_defendant_cases(self) -> pl.DataFrame:
        return self.layout.crown_rows(0, self.layout.n_crown_rows)

    @cached_property
    def crown_offences(self) -> pl.DataFrame:
        return self.layout.offences()

    @cached_property
    def mags_defendant_cases(self) -> pl.DataFrame:
        return self.layout.mags_rows(0, self.layout.n_mags_rows)

    @cached_property
    def xjs_link(self) -> pl.DataFrame:
        return link_table(self.layout, self.linked)

    @cached_property
    def mags_crown_journey(self) -> pl.DataFrame:
        return self.layout.journey()

    @cached_property
    def truth_rows(self) -> pl.DataFrame:
        return self.layout.truth()

    def _linked(self, table: str) -> pl.DataFrame:
        if self.linked is None:
            raise AttributeError(f"these extracts were generated without the linked data ({table})")
        return getattr(self.linked, table)()

    @cached_property
    def prison_journeys(self) -> pl.DataFrame:
        return self._linked("prison_journeys")

    @cached_property
    def prison_establishment_spells(self) -> pl.DataFrame:
        return self._linked("prison_establishment_spells")

    @cached_property
    def prison_incidents(self) -> pl.DataFrame:
        return self._linked("prison_incidents")

    @cached_property
    def oasys_assessments(self) -> pl.DataFrame:
        return self._linked("oasys_assessments")

    @cached_property
    def probation_starts(self) -> pl.DataFrame:
        return self._linked("probation_starts")

    @cached_property
    def pnc_events(self) -> pl.DataFrame:
        return self._linked("pnc_events")

    @cached_property
    def linked_truth(self) -> pl.DataFrame:
        return self._linked("truth")


# Linked tables with rows in the linking table.
LINKED_LINK_TABLES = ("prison_journeys", "oasys_assessments", "probation_starts", "pnc_events")


def link_table(layout: _Layout, linked: Linked | None) -> pl.DataFrame:
    """The linking table: court rows, then the linked extracts' rows (same ID spelling)."""
    court = layout.link()
    if linked is None:
        return court
    extra = linked.link().with_columns(
        estimated_xjs_id=pl.concat_str(pl.lit("XJS"), pl.col("estimated_xjs_id").cast(pl.String))
    )
    return pl.concat([court, extra])


def _hash_ids(keys: np.ndarray, seed: int) -> pl.Series:
    """Stable hash-like keys (20-digit strings), as the extracts' `*_hash` columns are."""
    return pl.Series(keys.astype(np.uint64)).hash(seed=seed).cast(pl.String).str.zfill(20)


def _dates(days: np.ndarray) -> pl.Series:
    return pl.Series((DAY0 + days.astype("timedelta64[D]")).astype("datetime64[D]"))


def _date_text(days: np.ndarray, fmt: str) -> pl.Series:
    """Days as formatted dates; each distinct day is formatted once (days span a few years)."""
    if not len(days):
        return _dates(days).dt.strftime(fmt)
    first = int(days.min())
    vocab = _dates(np.arange(first, int(days.max()) + 1)).dt.strftime(fmt)
    return vocab.gather(pl.Series(days.astype(np.int64) - first))


def _labels(codes: np.ndarray, vocab: list[str] | np.ndarray) -> pl.Series:
    return pl.Series(list(vocab), dtype=pl.String).gather(pl.Series(codes, dtype=pl.Int64))


def _ids(values: np.ndarray) -> pl.Series:
    return pl.Series(values.astype(np.int64)).cast(pl.String)


def _rows(
    make: Callable[[np.ndarray], pl.DataFrame], n_base: int, dup: np.ndarray, lo: int, hi: int
) -> pl.DataFrame:
    """Rows lo..hi of a table made of its base rows followed by copies of the rows in `dup`.

    The base rows and the copies are one chunk each, as `pl.concat([df, df.filter(...)])`
    leaves them (Parquet row groups follow chunks).
    """
    frames = []
    if lo < n_base:
        frames.append(make(np.arange(lo, min(hi, n_base))))
    if hi > n_base or not frames:
        frames.append(make(dup[max(lo - n_base, 0) : max(hi - n_base, 0)]))
    return pl.concat(frames) if len(frames) > 1 else frames[0]


def _spoil(df: pl.DataFrame, kind: np.ndarray, date_fmt: str, code_col: str) -> pl.DataFrame:
    """Spoil a few values, as real extracts have (`kind` 1-5 picks the defect, 0 none)."""
    kind = pl.Series(kind.astype(np.int64))
    bad_date = "31/02/2017" if date_fmt.startswith("%d") else "2017-02-31"

    def spoil(k: int, col: str, value: pl.Expr) -> pl.Expr:
        return pl.when(kind == k).then(value).otherwise(pl.col(col)).alias(col)

    return df.with_columns(
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


def _defects(rng: np.random.Generator, q: QuirkRates, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Which rows get a spoiled value (kind 1-5) and which are duplicated exactly."""
    kind = np.where(rng.random(n) < q.malformed_rows, rng.integers(1, 6, n), 0)
    dup = rng.random(n) < q.duplicate_rows
    return _narrow(kind, np.int8), np.flatnonzero(dup)


class _Layout:
    """A world laid out as the extracts' rows, in integer codes; tables are spelled out on demand.

    All random draws happen here, in one fixed order (the order of the tables below).
    """

    def __init__(self, world: World, quirks: QuirkRates | None = None) -> None:
        q = quirks or QuirkRates()
        p = self.p = world.params
        rng = np.random.default_rng(p.seed + 1)
        c = world.cases
        per = world.persons
        part_case = world.participants["case_idx"]
        part_person = world.participants["person"]
        crown_lo, crown_hi = _day(p.crown_first_year), _day(p.last_year, 12, 31)
        mags_lo = _day(p.first_year)

        # ---- persons' cross-justice IDs: mostly one per person, some split, a few merged
        n_persons = self.n_persons = len(per["sex"])
        xjs = np.arange(n_persons, dtype=np.int64)
        merged = rng.random(n_persons) < q.merged_person
        xjs[merged] = rng.integers(0, n_persons, merged.sum())
        split = rng.random(n_persons) < q.split_person
        alt_id = np.where(split, n_persons + np.arange(n_persons), -1)
        del merged, split
        # Kept for the linked extracts, whose rows carry the same person IDs.
        self.xjs_of_person, self.alt_of_person = xjs, alt_id
        self.birth_day = per["birth_day"]

        # ---- courts: codes and names
        courts = world.courts
        self.court_name = np.array(
            [
                f"{cat.COURT_STEMS[i % len(cat.COURT_STEMS)]}"
                f"{'' if i < len(cat.COURT_STEMS) else ' ' + str(i // len(cat.COURT_STEMS) + 1)}"
                f" ({cat.REGIONS[r]})"
                for i, r in zip(courts["idx_in_region"], courts["region"], strict=True)
            ]
        )
        n_courts = len(courts["kind"])
        self.court_code = np.where(
            courts["kind"] == "crown",
            np.char.add("4", np.char.zfill(np.arange(n_courts).astype(str), 2)),
            np.char.add("B", np.char.zfill(np.arange(n_courts).astype(str), 3)),
        )
        offs = cat.OFFENCES
        ho5 = np.array([o.ho_code.replace("/", "") for o in offs])
        self.ho5 = ho5

        # ---- Crown Court defendant-case rows
        in_crown = c["crown"][part_case] & (
            (c["crown_disposal"][part_case] >= crown_lo)
            & (c["crown_disposal"][part_case] <= crown_hi)
        )
        cr_case = part_case[in_crown]
        cr_person = part_person[in_crown]
        del in_crown
        n_cr = self.n_cr = len(cr_case)
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
        self.cr = {
            "person": cr_person,
            "receipt_type": c["receipt_type"][cr_case],
            "case_idx": c["case_idx"][cr_case],
            "court": c["crown_court"][cr_case],
            "region": c["region"][cr_case],
            "offence_day": c["offence_day"][cr_case],
            "receipt_day": c["crown_receipt"][cr_case],
            "disposal_day": c["crown_disposal"][cr_case],
            "offence": c["offence"][cr_case],
            "age": age_cr.astype(np.int64),
            "sex": per["sex"][cr_person],
            "ethnicity": eth_cr,
            "plea": plea,
            "outcome": outcome,
            "sentence": c["sentence"][cr_case],
            "custody_days": c["custody_days"][cr_case].astype(np.int64),
            "n_offences": n_offences,
            # truth
            "group_id": c["group_id"][cr_case],
            "soc_case": c["soc_case"][cr_case],
            "dd": c["dd"][cr_case],
            "start_risk": c["start_risk"][cr_case],
        }
        del plea, age_cr, eth_cr, outcome

        # ---- Crown Court offence table: the principal offence and lesser ones
        rep = np.repeat(np.arange(n_cr), n_offences)
        seq = np.arange(len(rep)) - np.repeat(np.cumsum(n_offences) - n_offences, n_offences)
        secondary = np.array([s.replace("/", "") for s in cat.SECONDARY_OFFENCES])
        principal = self.cr["offence"][rep]
        code = np.where(
            seq == 0, ho5[principal], secondary[rng.integers(0, len(secondary), len(rep))]
        )
        # Lesser offences of a SOC case are often on the same family (further supply counts).
        same = (seq > 0) & self.cr["soc_case"][rep] & (rng.random(len(rep)) < 0.5)
        code = np.where(same, ho5[principal], code)
        cust = self.cr["custody_days"][rep]
        self.off = {
            "rep": rep,
            "seq": seq,
            "code": code,
            "custody_days": np.where(
                seq == 0, cust, (cust * rng.uniform(0, 0.8, len(rep))).astype(np.int64)
            ),
        }
        del seq, principal, code, same, cust

        # ---- magistrates' defendant-case rows (every case starts there, bar none)
        mg_mask = (c["mags_disposal"][part_case] >= mags_lo) & (
            c["mags_disposal"][part_case] <= crown_hi
        )
        mg_case = part_case[mg_mask]
        mg_person = part_person[mg_mask]
        del mg_mask
        n_mg = self.n_mg = len(mg_case)
        rt = c["receipt_type"][mg_case]
        mags_out_names = list(cat.RAW_MAGS_OUTCOME)
        mo = {k: i for i, k in enumerate(mags_out_names)}
        out_map = np.array([mo.get(o, mo["guilty_plea"]) for o in OUTCOMES])
        mg_outcome = np.select(
            [rt == 0, rt == 1, rt == 2],
            [mo["sent_for_trial"], mo["committed_for_sentence"], mo["guilty_plea"]],
            out_map[c["outcome"][mg_case]],
        )
        mg_sentence = np.where(
            rt >= 0, np.where(rt == 2, c["sentence"][mg_case], 8), c["sentence"][mg_case]
        )
        mg_custody = np.where(rt >= 0, 0, c["custody_days"][mg_case])
        del rt

        # Breaches and civil applications: not new offences, but they are court appearances.
        n_extra = round(n_mg * q.breach_civil_share / (1 - q.breach_civil_share))
        src = rng.integers(0, n_mg, n_extra)
        mg_disposal = c["mags_disposal"][mg_case]
        ex_day = mg_disposal[src] + rng.integers(30, 900, n_extra)
        ok = ex_day <= crown_hi
        src, ex_day = src[ok], ex_day[ok]
        n_ex = len(src)
        is_breach = rng.random(n_ex) < 0.7
        mg_p = np.concatenate([mg_person, mg_person[src]])
        n_mg_all = self.n_mg_all = len(mg_p)
        off_day = np.concatenate([c["offence_day"][mg_case], ex_day - 20])
        eth_mg = per["ethnicity"][mg_p].copy()
        eth_mg[rng.random(n_mg_all) < q.blank_ethnicity_extra] = len(cat.ETHNICITY_CODES) - 1
        court_mg = c["mags_court"][mg_case]
        region_mg = c["region"][mg_case]
        self.mg = {
            "person": _narrow(mg_p, np.int32),
            "case_key": _narrow(
                np.concatenate([c["case_idx"][mg_case], 90_000_000 + np.arange(n_ex)]), np.int32
            ),
            "court": _narrow(np.concatenate([court_mg, court_mg[src]]), np.int16),
            "region": _narrow(np.concatenate([region_mg, region_mg[src]]), np.int8),
            "proceeding": _narrow(
                np.concatenate([np.zeros(n_mg, int), np.where(is_breach, 1, 2)]), np.int8
            ),
            "offence_day": _narrow(off_day, np.int32),
            "first_hearing_day": _narrow(
                np.concatenate([c["mags_first_hearing"][mg_case], ex_day - 5]), np.int32
            ),
            "disposal_day": _narrow(np.concatenate([mg_disposal, ex_day]), np.int32),
            # offence: index into the catalogue, then the breach and the civil code
            "offence": _narrow(
                np.concatenate(
                    [c["offence"][mg_case], np.where(is_breach, len(offs), len(offs) + 1)]
                ),
                np.int16,
            ),
            "age": _narrow(((off_day - per["birth_day"][mg_p]) // 365.25).astype(int), np.int16),
            "sex": _narrow(per["sex"][mg_p], np.int8),
            "ethnicity": _narrow(eth_mg, np.int8),
            "outcome": _narrow(
                np.concatenate(
                    [mg_outcome, np.where(is_breach, mo["breach_proved"], mo["order_made"])]
                ),
                np.int8,
            ),
            "sentence": _narrow(np.concatenate([mg_sentence, np.where(is_breach, 3, 8)]), np.int8),
            "custody_days": _narrow(
                np.concatenate([mg_custody, np.zeros(n_ex, np.int64)]), np.int32
            ),
            # truth
            "group_id": _narrow(
                np.concatenate([c["group_id"][mg_case], np.full(n_ex, -1)]), np.int32
            ),
            "soc_case": np.concatenate([c["soc_case"][mg_case], np.zeros(n_ex, bool)]),
            "dd": np.concatenate([c["dd"][mg_case], np.zeros(n_ex, bool)]),
            "start_risk": _narrow(
                np.concatenate([c["start_risk"][mg_case], ex_day]), np.int32
            ),
        }  # fmt: skip
        del src, ex_day, ok, is_breach, off_day, eth_mg, court_mg, region_mg, mg_disposal
        del mg_outcome, mg_sentence, mg_custody, mg_case

        # ---- journey: which magistrates' case went on to which Crown Court defendant-case
        cr_key = pl.DataFrame(
            {
                "case_idx": self.cr["case_idx"].astype(np.int64),
                "person": cr_person,
                "cr_row": np.arange(n_cr),
                "rt": self.cr["receipt_type"].astype(np.int64),
            }
        ).filter(pl.col("rt") < 2)
        mg_key = pl.DataFrame(
            {
                "case_idx": self.mg["case_key"][:n_mg].astype(np.int64),
                "person": mg_person,
                "mg_row": np.arange(n_mg),
            }
        )
        journey = cr_key.join(mg_key, on=["case_idx", "person"], how="inner")
        del cr_key, mg_key, mg_person
        n_j = journey.height
        score = np.where(
            rng.random(n_j) < q.journey_low_score,
            rng.uniform(0.3, 0.8, n_j),
            rng.uniform(0.9, 1, n_j),
        )
        self.jr = {
            "cr_row": journey["cr_row"].to_numpy(),
            "mg_row": journey["mg_row"].to_numpy(),
            "score": np.round(score, 3),
        }
        del journey, score

        # ---- linking table: one row per extract row, with split IDs and a few fan-outs
        def link_ids(person: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            pid = xjs[person]
            use_alt = (alt_id[person] >= 0) & (rng.random(len(person)) < 0.5)
            pid = np.where(use_alt, alt_id[person], pid)
            fan = rng.random(len(person)) < q.link_fanout
            return _narrow(pid, np.int32), fan

        self.cr["xjs"], self.cr["fan"] = link_ids(cr_person)
        self.mg["xjs"], self.mg["fan"] = link_ids(self.mg["person"])

        # ---- quirks on the extracts: duplicate rows, malformed values
        self.cr["defect"], self.cr_dup = _defects(rng, q, n_cr)
        self.mg["defect"], self.mg_dup = _defects(rng, q, n_mg_all)
        self.n_crown_rows = n_cr + len(self.cr_dup)
        self.n_mags_rows = n_mg_all + len(self.mg_dup)

        self.summary = {
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
            # Rates after a magistrates'-only case are lower by this factor; every Crown Court
            # index case shares the same factor, so it leaves the planted hazard ratio intact.
            "hazard_rate_factor_after_magistrates_only_case": MAGS_RATE_FACTOR,
            "hazard_time_origin": "disposal date, or estimated release for immediate custody",
            "hazard_event_time": "offence date of the next case",
            "quirks": q.__dict__,
            "rows": {
                "crown_defendant_cases": self.n_crown_rows,
                "crown_offences": len(rep),
                "mags_defendant_cases": self.n_mags_rows,
                "xjs_link": n_cr + int(self.cr["fan"].sum())
                + n_mg_all + int(self.mg["fan"].sum()),
                "mags_crown_journey": n_j,
            },
            "ocg_members_in_crown": len(np.unique(cr_person[self.cr["group_id"] >= 0])),
        }  # fmt: skip

    # ---- tables, spelled out
    def _crown_base(self, idx: np.ndarray) -> pl.DataFrame:
        """Crown Court defendant-case rows `idx` (before duplication), with their defects."""
        r = {k: v[idx] for k, v in self.cr.items()}
        df = pl.DataFrame(
            {
                "row_id_hash": _hash_ids(idx, seed=self.p.seed * 7 + 1),
                "defendant_on_case_id": _ids(idx + 1 + 5_000_000),
                "case_number": pl.Series(
                    np.char.add(
                        np.asarray(["T", "S", "A"])[r["receipt_type"]],
                        (r["case_idx"] + 10_000_000).astype(str),
                    )
                ),
                "defendant_id": _ids(r["person"] + 70_000_000),
                "court_id": _labels(r["court"], self.court_code),
                "court_name": _labels(r["court"], self.court_name),
                "hmcts_region": _labels(r["region"], list(cat.REGIONS)),
                "receipt_type_desc": _labels(r["receipt_type"], list(cat.RAW_RECEIPT.values())),
                "offence_date": _date_text(r["offence_day"], "%Y-%m-%d"),
                "receipt_date": _date_text(r["receipt_day"], "%Y-%m-%d"),
                "disposal_date": _date_text(r["disposal_day"], "%Y-%m-%d"),
                "ho_offence_code": _labels(r["offence"], self.ho5),
                "age_at_offence": pl.Series(r["age"]),
                "gender": _labels(r["sex"], ["M", "F"]),
                "ethnic": _labels(r["ethnicity"], list(cat.ETHNICITY_CODES)),
                "plea_final_desc": _labels(r["plea"], list(cat.RAW_PLEA.values())),
                "result_desc": _labels(
                    r["outcome"], [cat.RAW_CROWN_OUTCOME.get(o, o) for o in OUTCOMES]
                ),
                "sentence_type_desc": _labels(
                    r["sentence"], [cat.RAW_SENTENCE[s] for s in SENTENCES]
                ),
                "custodial_period_days": pl.Series(r["custody_days"]),
                "number_of_offences": pl.Series(r["n_offences"]),
            }
        )
        return _spoil(df, r["defect"], date_fmt="%Y-%m-%d", code_col="ho_offence_code")

    def crown_rows(self, lo: int, hi: int) -> pl.DataFrame:
        """Rows lo..hi of the Crown Court defendant-case table."""
        return _rows(self._crown_base, self.n_cr, self.cr_dup, lo, hi)

    def _mags_base(self, idx: np.ndarray) -> pl.DataFrame:
        """Magistrates' rows `idx` (before duplication), with their defects."""
        r = {k: v[idx] for k, v in self.mg.items()}
        seed = self.p.seed
        offence_codes = [o.ho_code for o in cat.OFFENCES] + [cat.BREACH_CODE, cat.CIVIL_CODE]
        df = pl.DataFrame(
            {
                "row_id_hash": _hash_ids(idx, seed=seed * 7 + 2),
                "case_id_hash": _hash_ids(r["case_key"], seed=seed * 7 + 3),
                "defendant_id": _ids(r["person"].astype(np.int64) + 30_000_000),
                "court_code": _labels(r["court"], self.court_code),
                "court_name": _labels(r["court"], self.court_name),
                "region": _labels(r["region"], list(cat.REGIONS)),
                "proceedings_type_desc": _labels(
                    r["proceeding"], list(cat.RAW_PROCEEDING.values())
                ),
                "breach_marker": _labels(np.where(r["proceeding"] == 1, 1, 0), ["N", "Y"]),
                "offence_date": _date_text(r["offence_day"], "%d/%m/%Y"),
                "first_hearing_date": _date_text(r["first_hearing_day"], "%d/%m/%Y"),
                "disposal_date": _date_text(r["disposal_day"], "%d/%m/%Y"),
                "offence_code": _labels(r["offence"], offence_codes),
                "age_at_offence": pl.Series(r["age"].astype(np.int64)),
                "gender": _labels(r["sex"], ["M", "F"]),
                "ethnic": _labels(r["ethnicity"], list(cat.ETHNICITY_CODES)),
                "jsas_result_group_desc": _labels(
                    r["outcome"], list(cat.RAW_MAGS_OUTCOME.values())
                ),
                "sentence_desc": _labels(r["sentence"], [cat.RAW_SENTENCE[s] for s in SENTENCES]),
                "custodial_period_days": pl.Series(r["custody_days"].astype(np.int64)),
            }
        )
        return _spoil(df, r["defect"], date_fmt="%d/%m/%Y", code_col="offence_code")

    def mags_rows(self, lo: int, hi: int) -> pl.DataFrame:
        """Rows lo..hi of the magistrates' defendant-case table."""
        return _rows(self._mags_base, self.n_mg_all, self.mg_dup, lo, hi)

    def offences(self) -> pl.DataFrame:
        rep = self.off["rep"]
        return pl.DataFrame(
            {
                "defendant_on_case_id": _ids(rep + 1 + 5_000_000),
                "offence_number": pl.Series(self.off["seq"] + 1),
                "ho_offence_code": pl.Series(self.off["code"]),
                "offence_date": _date_text(self.cr["offence_day"][rep], "%Y-%m-%d"),
                "custodial_period_days": pl.Series(self.off["custody_days"]),
            }
        )

    def journey(self) -> pl.DataFrame:
        mg_row = self.jr["mg_row"]
        return pl.DataFrame(
            {
                "mc_case_id": _hash_ids(self.mg["case_key"][mg_row], seed=self.p.seed * 7 + 3),
                "mc_defendant_id": _ids(self.mg["person"][mg_row].astype(np.int64) + 30_000_000),
                "cc_defendant_on_case_id": _ids(self.jr["cr_row"] + 1 + 5_000_000),
                "estimated_match_score": pl.Series(self.jr["score"]),
            }
        )

    def link(self) -> pl.DataFrame:
        def part(rows: dict, n: int, seed: int, source: str) -> pl.DataFrame:
            out = pl.DataFrame(
                {
                    "source_dataset": source,
                    "row_id_hash": _hash_ids(np.arange(n), seed=seed),
                    "estimated_xjs_id": rows["xjs"].astype(np.int64),
                }
            )
            extra = out.filter(pl.Series(rows["fan"])).with_columns(
                estimated_xjs_id=pl.col("estimated_xjs_id") + 3 * self.n_persons
            )
            return pl.concat([out, extra])

        seed = self.p.seed
        return pl.concat(
            [
                part(self.cr, self.n_cr, seed * 7 + 1, "crown_xhibit"),
                part(self.mg, self.n_mg_all, seed * 7 + 2, "mags_hocas"),
            ]
        ).with_columns(
            estimated_xjs_id=pl.concat_str(
                pl.lit("XJS"), pl.col("estimated_xjs_id").cast(pl.String)
            )
        )

    def truth(self) -> pl.DataFrame:
        def part(rows: dict, n: int, seed: int, source: str) -> pl.DataFrame:
            return pl.DataFrame(
                {
                    "source_dataset": source,
                    "row_id_hash": _hash_ids(np.arange(n), seed=seed),
                    "true_person_id": rows["person"].astype(np.int64),
                    "ocg_group_id": rows["group_id"].astype(np.int64),
                    "soc_case_truth": rows["soc_case"],
                    "dd_truth": rows["dd"],
                    "start_risk_date": _dates(rows["start_risk"]),
                }
            )

        seed = self.p.seed
        return pl.concat(
            [
                part(self.cr, self.n_cr, seed * 7 + 1, "crown_xhibit"),
                part(self.mg, self.n_mg_all, seed * 7 + 2, "mags_hocas"),
            ]
        ).with_columns(ocg_group_id=pl.when(pl.col("ocg_group_id") >= 0).then("ocg_group_id"))


def build_extracts(world: World, quirks: QuirkRates | None = None) -> Extracts:
    """Lay the world out as extract tables; plant duplicates, malformed values and ID errors."""
    return Extracts(_Layout(world, quirks))
