"""The linked datasets of a synthetic world, and their extracts as p-NOMIS, OASys, nDelius and
PNC deliveries might spell them.

Everything follows from the court data already laid out (`_Layout`): custodial journeys from the
custodial sentences (socflow.synth.custody), their establishment spells
(socflow.synth.establishments), incidents (socflow.synth.incidents), probation starts
(socflow.synth.probation), OASys assessments (socflow.synth.oasys) and a PNC extract for the
Crown Court cohort (socflow.synth.pnc). The cross-justice linking table gains a row per row of
each (with the same split and merged person IDs as the court rows), and the truth (each row's
true person and SOC status, the planted effects) is kept apart.

All random draws come from streams seeded from the world's seed (one per question, in a fixed
order), after the court extracts are laid out: the court extracts are the same with or without
the linked data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from socflow import schema
from socflow.synth import catalogue as cat
from socflow.synth.custody import Journeys, build_journeys, extract_end_day, soc_persons
from socflow.synth.establishments import Estate, Spells, build_spells, make_estate
from socflow.synth.extracts import _date_text, _hash_ids, _Layout
from socflow.synth.incidents import OVERDISPERSION, Incidents, Panel, build_incidents
from socflow.synth.oasys import COVERAGE, COVERAGE_GAP, SECTIONS, Assessments, build_assessments
from socflow.synth.pnc import Events, build_events
from socflow.synth.probation import Starts, build_starts

DEFAULT_NEED_LOG_ODDS = {
    "lifestyle_associates": 1.0,
    "thinking_behaviour": 0.4,
    "attitudes": 0.6,
    "accommodation": -0.3,
}
DEFAULT_SHARE_RATE_RATIO = {
    "drugs_find": 1.15,
    "contraband_find": 1.10,
    "assault": 1.05,
    "self_harm": 1.00,
    "other": 1.00,
}
DEFAULT_PERSON_RATE_RATIO = {
    "drugs_find": 1.6,
    "contraband_find": 1.4,
    "assault": 0.8,
    "self_harm": 0.5,
    "other": 1.0,
}
# Source labels of the linking table for each linked extract.
LINK_LABEL = {
    "prison_journeys": "prison_nomis",
    "oasys_assessments": "prison_oasys",
    "probation_starts": "probation_delius",
    "pnc_events": "pnc",
}
ORPHAN_RATE = 0.001  # spells and incidents whose journey is not in the journey extract


@dataclass(frozen=True)
class LinkedParams:
    """What shapes the linked datasets: the estate's size and the planted effects."""

    n_establishments: int = 60
    risk_ratio_soc_recall: float = 0.25
    # Calibrated, not planted: non-SOC recall within two years (published 8%).
    recall_2yr_non_soc: float = 0.08
    need_log_odds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_NEED_LOG_ODDS))
    share_rate_ratio: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_SHARE_RATE_RATIO)
    )
    person_rate_ratio: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_PERSON_RATE_RATIO)
    )


class Linked:
    """The linked world of one synthetic world, in integer codes; tables spelled on demand."""

    def __init__(self, lay: _Layout, lp: LinkedParams) -> None:
        p = lay.p
        self.seed = p.seed
        # One random stream per question (journeys with their estate and spells, incidents,
        # assessments, PNC, link quirks), each seeded from the world's seed: retuning one
        # module's rates leaves every other module's draws as they were.
        rng, rng_inc, rng_oasys, rng_pnc, rng_link = (
            np.random.default_rng(s) for s in np.random.SeedSequence([p.seed, 2]).spawn(5)
        )
        self.extract_end = extract_end_day(p.last_year)
        self.soc_person = soc_persons(lay.cr, lay.n_persons)
        self.journeys: Journeys = build_journeys(
            rng, lay.cr, lay.mg, self.soc_person, self.extract_end, lp.recall_2yr_non_soc,
            lp.risk_ratio_soc_recall,
        )  # fmt: skip
        self.estate: Estate = make_estate(rng, lp.n_establishments)
        self.spells: Spells = build_spells(rng, self.journeys, self.estate, self.extract_end)
        self.incidents: Incidents
        self.panel: Panel
        self.incidents, self.panel = build_incidents(
            rng_inc, self.journeys, self.spells, len(self.estate), self.extract_end,
            lp.share_rate_ratio, lp.person_rate_ratio,
        )  # fmt: skip
        self.starts: Starts = build_starts(self.journeys, lay.cr, lay.mg)
        start_age = ((self.starts.start - lay.birth_day[self.starts.person]) // 365.25).astype(
            np.int64
        )
        self.assessments: Assessments = build_assessments(
            rng_oasys, self.journeys, self.starts, start_age, self.soc_person, lay.n_persons,
            lp.need_log_odds,
        )  # fmt: skip
        self.events: Events = build_events(rng_pnc, lay.cr, lay.mg, lay.birth_day, lay.n_persons)
        # Person IDs of each row in the linking table (split and merged as for court rows).
        self.link_person: dict[str, np.ndarray] = {}
        for table, person in (
            ("prison_journeys", self.journeys.person),
            ("oasys_assessments", self.assessments.person),
            ("probation_starts", self.starts.person),
            ("pnc_events", self.events.person),
        ):
            pid = lay.xjs_of_person[person]
            alt = lay.alt_of_person[person]
            use_alt = (alt >= 0) & (rng_link.random(len(person)) < 0.5)
            self.link_person[table] = np.where(use_alt, alt, pid)
        self.spell_orphan = rng_link.random(len(self.spells)) < ORPHAN_RATE
        self.incident_orphan = rng_link.random(len(self.incidents)) < ORPHAN_RATE
        self.ho = np.array([o.ho_code for o in cat.OFFENCES])
        self.n_persons = lay.n_persons
        self.summary = self._summary(lp)

    # ---- row keys
    def _row_ids(self, table: str) -> pl.Series:
        n = {
            "prison_journeys": len(self.journeys),
            "oasys_assessments": len(self.assessments),
            "probation_starts": len(self.starts),
            "pnc_events": len(self.events),
        }[table]
        salt = 10 + list(LINK_LABEL).index(table)
        return _hash_ids(np.arange(n), seed=self.seed * 7 + salt)

    def _journey_keys(self, journey: np.ndarray, orphan: np.ndarray) -> pl.Series:
        """Journey row keys; an orphan points at a journey the extract does not hold."""
        key = np.where(orphan, len(self.journeys) + np.arange(len(journey)), journey)
        return _hash_ids(key, seed=self.seed * 7 + 10)

    def _establishment_codes(self, est: np.ndarray) -> pl.Series:
        letters = np.array(list("ABCDEFGHJKLMNPRSTVWY"))
        n = len(self.estate)
        codes = np.char.add(
            np.char.add("H", letters[np.arange(n) // len(letters) % len(letters)]),
            letters[np.arange(n) % len(letters)],
        )
        return _labels(est, codes)

    # ---- tables, spelled out
    def prison_journeys(self) -> pl.DataFrame:
        j = self.journeys
        released = j.release >= 0
        return pl.DataFrame(
            {
                "journey_id_hash": self._row_ids("prison_journeys"),
                # p-NOMIS's own offender number, unreliable across terms (not mapped).
                "nomis_offender_no": pl.Series(np.char.add("A", (j.person + 1000).astype(str))),
                "reception_date": _date_text(j.reception, "%d/%m/%Y"),
                "first_reception_type": _labels(j.reception_reason, RAW_RECEPTION),
                "release_date": _null_where(
                    _date_text(np.where(released, j.release, j.reception), "%d/%m/%Y"), ~released
                ),
                "release_reason_desc": _null_where(
                    _labels(np.where(released, j.release_reason, 0), RAW_RELEASE), ~released
                ),
                "sentence_length_days": _null_where(
                    pl.Series(j.sentence_days.clip(0)), j.sentence_days < 0
                ),
                "main_offence_code": _labels(j.offence, self.ho),
                "age_on_reception": pl.Series(j.age),
                "sex_desc": _labels(j.sex, ["Male", "Female"]),
            }
        )

    def prison_establishment_spells(self) -> pl.DataFrame:
        s = self.spells
        open_ = s.end < 0
        return pl.DataFrame(
            {
                "journey_id_hash": self._journey_keys(s.journey, self.spell_orphan),
                "establishment_code": self._establishment_codes(s.establishment),
                "movement_in_date": _date_text(s.start, "%d/%m/%Y"),
                "movement_out_date": _null_where(
                    _date_text(np.where(open_, s.start, s.end), "%d/%m/%Y"), open_
                ),
                "establishment_category": _labels(
                    self.estate.category[s.establishment], RAW_CATEGORY
                ),
            }
        )

    def prison_incidents(self) -> pl.DataFrame:
        i = self.incidents
        return pl.DataFrame(
            {
                "incident_ref": _hash_ids(np.arange(len(i)), seed=self.seed * 7 + 20),
                "journey_id_hash": self._journey_keys(i.journey, self.incident_orphan),
                "establishment_code": self._establishment_codes(i.establishment),
                "incident_date": _date_text(i.day, "%d/%m/%Y"),
                "incident_type_desc": _labels(i.kind, RAW_INCIDENT),
            }
        )

    def oasys_assessments(self) -> pl.DataFrame:
        a = self.assessments
        cols: dict[str, pl.Series] = {
            "assessment_pk_hash": self._row_ids("oasys_assessments"),
            "offender_pk": pl.Series((a.person + 500_000).astype(np.int64)),
            "date_completed": _date_text(a.day, "%Y-%m-%d"),
            "assessment_layer": _labels(a.full.astype(np.int64), ["Layer 1", "Layer 3"]),
        }
        for s, stem in enumerate(RAW_SECTION_STEMS):
            cols[f"{stem}_score"] = _null_where(pl.Series(a.scores[:, s]), a.scores[:, s] < 0)
        for s, stem in enumerate(RAW_SECTION_STEMS):
            cols[f"{stem}_need_flag"] = _null_where(
                _labels(a.needs[:, s].clip(0), ["N", "Y"]), a.needs[:, s] < 0
            )
        cols["ogrs3_2yr_pct"] = pl.Series(a.ogrs)
        cols["ovp_2yr_pct"] = pl.Series(a.ovp)
        return pl.DataFrame(cols)

    def probation_starts(self) -> pl.DataFrame:
        s = self.starts
        return pl.DataFrame(
            {
                "event_id_hash": self._row_ids("probation_starts"),
                "event_start_date": _date_text(s.start, "%Y-%m-%d"),
                "disposal_desc": _labels(s.disposal, RAW_DISPOSAL),
                "nps_region": _labels(s.region, list(cat.REGIONS)),
            }
        )

    def pnc_events(self) -> pl.DataFrame:
        e = self.events
        return pl.DataFrame(
            {
                "pnc_event_id": self._row_ids("pnc_events"),
                "event_date": _date_text(e.day, "%Y-%m-%d"),
                "event_type": _labels(e.kind, RAW_PNC_EVENT),
                "offence_code": _labels(e.offence, np.char.replace(self.ho, "/", "")),
            }
        )

    def link(self) -> pl.DataFrame:
        """Linking-table rows of the linked extracts (person IDs as the court rows spell them)."""
        return pl.concat(
            [
                pl.DataFrame(
                    {
                        "source_dataset": label,
                        "row_id_hash": self._row_ids(table),
                        "estimated_xjs_id": pl.Series(self.link_person[table].astype(np.int64)),
                    }
                )
                for table, label in LINK_LABEL.items()
            ]
        )

    def truth(self) -> pl.DataFrame:
        """Each linked row's true person and SOC status; journeys' kind and recalled journey."""
        frames = []
        for table, label in LINK_LABEL.items():
            person = {
                "prison_journeys": self.journeys.person,
                "oasys_assessments": self.assessments.person,
                "probation_starts": self.starts.person,
                "pnc_events": self.events.person,
            }[table]
            frame = pl.DataFrame(
                {
                    "source_dataset": label,
                    "row_id_hash": self._row_ids(table),
                    "true_person_id": pl.Series(person.astype(np.int64)),
                    "soc_person_truth": pl.Series(self.soc_person[person]),
                }
            )
            if table == "prison_journeys":
                j = self.journeys
                keys = self._row_ids(table)
                frame = frame.with_columns(
                    journey_kind=_labels(j.kind, ["sentenced", "remand_only", "recall"]),
                    recalled_from_row_id=_null_where(
                        keys.gather(pl.Series(np.maximum(j.parent, 0))), j.parent < 0
                    ),
                )
            frames.append(frame)
        return pl.concat(frames, how="diagonal")

    def _summary(self, lp: LinkedParams) -> dict:
        j = self.journeys
        return {
            "soc_prisoner_definition": (
                "person-level: the person has a Crown Court case in the Crown window that is SOC "
                "in the truth (the linked cohort's reading of SOC)"
            ),
            "rate_ratio_soc_recall": lp.risk_ratio_soc_recall,
            "rate_ratio_soc_recall_measure": (
                "risk ratio of a recall journey beginning within 2 years (730 days) of a release "
                "on licence from a sentenced journey, SOC against non-SOC persons"
            ),
            "recall_2yr_non_soc": lp.recall_2yr_non_soc,
            "recall_competing": (
                "a recall that would begin at or after the person's next reception does not "
                "happen, so the observed share is a little under the planted probability"
            ),
            "need_profile": {s: lp.need_log_odds.get(s, 0.0) for s in SECTIONS},
            "need_profile_measure": (
                "log-odds difference, SOC against non-SOC persons, of the need flag of a full "
                "(layer 3) assessment; needs depend on SOC status alone"
            ),
            "rate_ratio_incidents_per_soc_share": {
                k: lp.share_rate_ratio.get(k, 1.0) for k in schema.INCIDENT_TYPES
            },
            "rate_ratio_incidents_per_soc_share_measure": (
                "establishment x month incident rate (per prisoner-day) multiplied by this per "
                "10 percentage points of the SOC share of prisoner-days, over establishment and "
                "month effects, with Gamma overdispersion"
            ),
            "incident_overdispersion": OVERDISPERSION,
            "rate_ratio_incidents_soc_person": {
                k: lp.person_rate_ratio.get(k, 1.0) for k in schema.INCIDENT_TYPES
            },
            "rate_ratio_incidents_soc_person_measure": (
                "incident rate per prisoner-day of SOC against non-SOC prisoners within the "
                "same establishment and month"
            ),
            "oasys_coverage_gap": {
                "region": "London",
                "coverage_before_2021_06_26": COVERAGE_GAP[0],
                "coverage_elsewhere": COVERAGE,
            },
            "n_establishments": len(self.estate),
            "prison_extract_end": str(np.datetime64("1970-01-01") + self.extract_end),
            "rows": {
                "prison_journeys": len(j),
                "prison_establishment_spells": len(self.spells),
                "prison_incidents": len(self.incidents),
                "oasys_assessments": len(self.assessments),
                "probation_starts": len(self.starts),
                "pnc_events": len(self.events),
            },
        }


def _labels(codes: np.ndarray, vocab: list[str] | np.ndarray) -> pl.Series:
    return pl.Series(list(vocab), dtype=pl.String).gather(
        pl.Series(np.asarray(codes), dtype=pl.Int64)
    )


def _null_where(values: pl.Series, null: np.ndarray) -> pl.Series:
    return values.zip_with(pl.Series(~np.asarray(null, dtype=bool)),
                           pl.Series([None] * len(values), dtype=values.dtype))  # fmt: skip


# Raw vocabularies of the linked extracts (canonical order -> extract spelling).
RAW_RECEPTION = ["Remand", "Sentenced", "Recall", "Other"]
RAW_RELEASE = [
    "Automatic release (CRD)",
    "Parole Board release",
    "Sentence expiry",
    "Released from remand",
    "Died in custody",
    "Deported",
    "Other",
]
RAW_CATEGORY = [
    "Cat A", "Cat B", "Cat C", "Cat D", "Female closed", "Female open", "YOI",
    "Local (reception)", "Other",
]  # fmt: skip
RAW_INCIDENT = ["Assault", "Self-harm", "Find - drugs", "Find - other contraband", "Other"]
RAW_DISPOSAL = [
    "ORA Community Order",
    "ORA Suspended Sentence Order",
    "Licence",
    "Post Sentence Supervision",
    "Other",
]
RAW_PNC_EVENT = ["Conviction", "Caution", "Custodial sentence"]
RAW_SECTION_STEMS = [
    "sec3_accommodation",
    "sec4_ete",
    "sec5_finance",
    "sec6_relationships",
    "sec7_lifestyle",
    "sec8_drugs",
    "sec9_alcohol",
    "sec10_emotional",
    "sec11_thinking",
    "sec12_attitudes",
]
