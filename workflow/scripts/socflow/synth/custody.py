"""Custodial journeys that follow from the courts' custodial sentences.

Every journey starts from a row of the synthetic court data, or from an earlier journey:

* a **sentenced** journey for each immediate custodial sentence (Crown Court rows in the Crown
  window, magistrates'-only cases from 2011): reception at the disposal, or earlier on remand for
  a share of cases (p-NOMIS combines the remand and the sentence into one journey), release at
  the world's own release point (disposal + release fraction x term, the date from which the
  next offence is timed, so that prison release and re-offending agree);
* a **remand-only** journey for a few Crown Court defendants who are remanded and then not
  sentenced to custody: released at the disposal;
* a **recall** journey after a release on licence: reception within two years of the release
  with the planted probability (non-SOC `recall_2yr_non_soc`, SOC that times the planted risk
  ratio), no new court case, release after a fixed-term or standard recall.

A recall that would begin at or after the person's next reception does not happen (the person is
back in custody on a new case by then), and a recall's release is cut back to the day before the
next reception, so that a person's journeys never overlap.

"SOC" for every prison quantity is a property of the person, as the linked cohort sees it: the
person has a Crown Court case in the Crown window that is SOC in the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socflow.synth.simulate import OUT, SEN, _day

# Reception reasons and release reasons, as integer codes (schema order).
REMAND, SENTENCED, RECALL = 0, 1, 2
AUTOMATIC, PAROLE, END_OF_SENTENCE, REMAND_RELEASED, DIED, DEPORTED = 0, 1, 2, 3, 4, 5
# Journey kinds (truth only).
KIND_SENTENCED, KIND_REMAND_ONLY, KIND_RECALL = 0, 1, 2

# Share of Crown Court custodial cases whose defendants were remanded in custody before trial
# (remand is more common in SOC cases, which are more often charged with supply and
# conspiracy); magistrates'-only custodial cases are rarely remanded.
P_REMAND_CROWN_SOC = 0.55
P_REMAND_CROWN_OTHER = 0.35
P_REMAND_MAGS = 0.08
# Crown Court defendants remanded and then not sentenced to custody.
P_REMAND_ONLY = 0.06
# Ends of journey other than release on licence (only on a person's last journey).
P_DIED = 0.003
P_DEPORTED = 0.012
PAROLE_MIN_DAYS = 4 * 365  # long sentences: some are released by the Parole Board
P_PAROLE = 0.3
SHORT_SENTENCE_DAYS = 14  # shorter terms end at the end of the sentence, without licence
# Recall: time to recall after release is exponential with this mean, cut at two years, and
# the recall lasts a fixed 28 days or (standard recall) the rest of the term.
RECALL_MEAN_DAYS = 240.0
RECALL_WINDOW_DAYS = 730
P_FIXED_TERM_RECALL = 0.5
FIXED_TERM_DAYS = 28


@dataclass
class Journeys:
    """One entry per journey (arrays of equal length), sorted by person and reception."""

    person: np.ndarray
    kind: np.ndarray
    reception: np.ndarray  # day number
    release: np.ndarray  # day number; -1 while still in custody at the extract's end
    reception_reason: np.ndarray
    release_reason: np.ndarray  # -1 while in custody
    sentence_days: np.ndarray  # -1 for remand only
    offence: np.ndarray  # catalogue index of the main offence
    age: np.ndarray  # at reception
    sex: np.ndarray
    region: np.ndarray  # region of the court case
    soc: np.ndarray  # person-level SOC (truth)
    licence: np.ndarray  # released on licence (licence starts at release)
    parent: np.ndarray  # for a recall, the index of the journey recalled from; else -1

    def __len__(self) -> int:
        return len(self.person)


def soc_persons(cr: dict[str, np.ndarray], n_persons: int) -> np.ndarray:
    """Persons with a Crown Court case in the Crown window that is SOC in the truth."""
    out = np.zeros(n_persons, dtype=bool)
    out[cr["person"][cr["soc_case"]]] = True
    return out


def _court_events(cr: dict[str, np.ndarray], mg: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Immediate custodial sentences of both courts, and Crown defendants remanded only."""
    c_cust = (cr["sentence"] == SEN["immediate_custody"]) & (cr["custody_days"] > 0)
    m_cust = (
        (mg["proceeding"] == 0)
        & (mg["sentence"] == SEN["immediate_custody"])
        & (mg["custody_days"] > 0)
    )
    c_idx, m_idx = np.flatnonzero(c_cust), np.flatnonzero(m_cust)

    def both(c_key: str, m_key: str) -> np.ndarray:
        return np.concatenate(
            [cr[c_key][c_idx].astype(np.int64), mg[m_key][m_idx].astype(np.int64)]
        )

    return {
        "crown": np.concatenate([np.ones(len(c_idx), bool), np.zeros(len(m_idx), bool)]),
        "person": both("person", "person"),
        "region": both("region", "region"),
        "offence": both("offence", "offence"),
        "age": both("age", "age"),
        "sex": both("sex", "sex"),
        "offence_day": both("offence_day", "offence_day"),
        "hearing_day": both("receipt_day", "first_hearing_day"),
        "disposal_day": both("disposal_day", "disposal_day"),
        "custody_days": both("custody_days", "custody_days"),
        "release_day": both("start_risk", "start_risk"),
        # Crown trial cases not sentenced to custody (candidates for remand-only journeys)
        "acquit_idx": np.flatnonzero(
            ~c_cust & (cr["receipt_type"] == 0) & (cr["outcome"] != OUT["guilty_plea"])
        ),
    }


def build_journeys(
    rng: np.random.Generator,
    cr: dict[str, np.ndarray],
    mg: dict[str, np.ndarray],
    soc_person: np.ndarray,
    extract_end: int,
    recall_2yr_non_soc: float,
    risk_ratio_soc_recall: float,
) -> Journeys:
    """Sentenced, remand-only and recall journeys of every person (see the module docstring)."""
    ev = _court_events(cr, mg)
    n = len(ev["person"])
    soc = soc_person[ev["person"]]
    p_remand = np.where(
        ev["crown"], np.where(soc, P_REMAND_CROWN_SOC, P_REMAND_CROWN_OTHER), P_REMAND_MAGS
    )
    remanded = rng.random(n) < p_remand
    remand_day = np.maximum(ev["offence_day"] + 1, ev["hearing_day"] - rng.integers(7, 31, n))
    reception = np.where(remanded, np.minimum(remand_day, ev["disposal_day"]), ev["disposal_day"])
    release = np.maximum(ev["release_day"], ev["disposal_day"] + 1)

    # Remand-only journeys: remanded before a Crown Court trial that ends without custody.
    ai = ev["acquit_idx"]
    ai = ai[rng.random(len(ai)) < P_REMAND_ONLY]
    ro_person = cr["person"][ai].astype(np.int64)
    ro_disposal = cr["disposal_day"][ai].astype(np.int64)
    ro_reception = np.minimum(
        np.maximum(cr["offence_day"][ai] + 1, cr["receipt_day"][ai] - rng.integers(7, 31, len(ai))),
        ro_disposal - 1,
    ).astype(np.int64)

    m = len(ai)
    person = np.concatenate([ev["person"], ro_person])
    kind = np.concatenate([np.full(n, KIND_SENTENCED), np.full(m, KIND_REMAND_ONLY)])
    rec = np.concatenate([reception, ro_reception])
    rel = np.concatenate([release, ro_disposal])
    rec_reason = np.concatenate([np.where(remanded, REMAND, SENTENCED), np.full(m, REMAND)])
    sentence_days = np.concatenate([ev["custody_days"], np.full(m, -1)])
    offence = np.concatenate([ev["offence"], cr["offence"][ai].astype(np.int64)])
    age0 = np.concatenate([ev["age"], cr["age"][ai].astype(np.int64)])
    off_day = np.concatenate([ev["offence_day"], cr["offence_day"][ai].astype(np.int64)])
    sex = np.concatenate([ev["sex"], cr["sex"][ai].astype(np.int64)])
    region = np.concatenate([ev["region"], cr["region"][ai].astype(np.int64)])

    order = np.lexsort((rec, person))
    person, kind, rec, rel = person[order], kind[order], rec[order], rel[order]
    rec_reason, sentence_days, offence = rec_reason[order], sentence_days[order], offence[order]
    age = (age0[order] + (rec - off_day[order]) // 365).astype(np.int64)
    sex, region = sex[order], region[order]
    k = len(person)
    same_next = np.zeros(k, dtype=bool)
    same_next[:-1] = person[1:] == person[:-1]
    next_reception = np.where(same_next, np.roll(rec, -1), np.iinfo(np.int64).max)
    soc = soc_person[person]

    # How each journey ends.
    sentenced = kind == KIND_SENTENCED
    u = rng.random(k)
    last = ~same_next
    rel_reason = np.select(
        [
            ~sentenced,
            last & (u < P_DIED),
            last & (u < P_DIED + P_DEPORTED),
            sentenced & (sentence_days >= PAROLE_MIN_DAYS) & (rng.random(k) < P_PAROLE),
            sentenced & (sentence_days < SHORT_SENTENCE_DAYS),
        ],
        [REMAND_RELEASED, DIED, DEPORTED, PAROLE, END_OF_SENTENCE],
        AUTOMATIC,
    )
    licence = sentenced & np.isin(rel_reason, [AUTOMATIC, PAROLE]) & (rel <= extract_end)

    # Recalls: within two years of a release on licence, with the planted probabilities.
    p_recall = recall_2yr_non_soc * np.where(soc, risk_ratio_soc_recall, 1.0)
    recalled = licence & (rng.random(k) < p_recall)
    # Exponential time to recall, conditioned on falling within the two-year window.
    cap = 1.0 - np.exp(-RECALL_WINDOW_DAYS / RECALL_MEAN_DAYS)
    t = np.ceil(-RECALL_MEAN_DAYS * np.log1p(-rng.random(k) * cap)).astype(np.int64)
    r_rec = rel + np.clip(t, 1, RECALL_WINDOW_DAYS)
    served = rel - rec
    rest = np.maximum(sentence_days - served, FIXED_TERM_DAYS)
    r_len = np.where(rng.random(k) < P_FIXED_TERM_RECALL, FIXED_TERM_DAYS, rest)
    recalled &= (r_rec < next_reception - 1) & (r_rec <= extract_end)
    r_rel = np.minimum(r_rec + r_len, next_reception - 1)
    ri = np.flatnonzero(recalled)
    n_r = len(ri)

    def cat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.concatenate([a, b])

    out = Journeys(
        person=cat(person, person[ri]),
        kind=cat(kind, np.full(n_r, KIND_RECALL)),
        reception=cat(rec, r_rec[ri]),
        release=cat(rel, r_rel[ri]),
        reception_reason=cat(rec_reason, np.full(n_r, RECALL)),
        release_reason=cat(
            rel_reason,
            np.where(r_len[ri] == FIXED_TERM_DAYS, AUTOMATIC, END_OF_SENTENCE),
        ),
        sentence_days=cat(sentence_days, sentence_days[ri]),
        offence=cat(offence, offence[ri]),
        age=cat(age, age[ri] + (r_rec[ri] - rec[ri]) // 365),
        sex=cat(sex, sex[ri]),
        region=cat(region, region[ri]),
        soc=cat(soc, soc[ri]),
        licence=cat(licence, np.zeros(n_r, dtype=bool)),
        parent=cat(np.full(k, -1), ri),
    )
    # Still in custody at the extract's end: no release date or reason yet.
    open_ = out.release > extract_end
    out.release = np.where(open_, -1, out.release)
    out.release_reason = np.where(open_, -1, out.release_reason)
    order = np.lexsort((out.reception, out.person))
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    for name, values in vars(out).items():
        setattr(out, name, values[order])
    out.parent = np.where(out.parent >= 0, inverse[np.maximum(out.parent, 0)], -1)
    return out


def extract_end_day(last_year: int) -> int:
    """The prison extract runs a year past the courts' last year of disposals."""
    return _day(last_year + 1, 12, 31)
