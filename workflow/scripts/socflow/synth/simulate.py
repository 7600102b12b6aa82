"""Simulate offending careers and the court cases they produce, with a planted truth.

The world is a set of *chains*. A chain is either one person (an ordinary offender) or an
organised crime group (OCG) whose members are all defendants in each of the group's cases. A chain
commits a case, the case is disposed of (custody keeps its defendants off the street for a fixed
fraction of the term), and the time to the chain's next offence is exponential with a rate set by
the case just disposed of:

    rate = base_rate[offence group] * planted_hazard_ratio ** soc_case

so the first re-appearance after *any* case, including a person's index Crown Court case, follows
a proportional-hazards model whose SOC coefficient is known. Co-defendants of an ordinary offender
are new persons who start chains of their own at that case; a group may disband after a case, and
its members then go on alone. Either way every person's next offence after a case is drawn from
the same law, which is what makes the hazard ratio recoverable.

Whether a Crown Court trial case ends discontinued or dismissed follows a logistic model on
case-level covariates (offence group, region, receipt year) and SOC status with a planted odds
ratio; the outcome is shared by the co-defendants of a case. "SOC" in the truth is the generator's
own reading of the default proxy: a case with two or more defendants whose principal offence is
SOC-type (on the shipped list, statutory maximum of three years or more).

Everything is vectorised over the chains active at each step; the loop runs over steps (tens),
never over rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from socflow.synth import catalogue as cat

DAY0 = np.datetime64("1970-01-01", "D")

# Annual re-offending rates after a Crown Court case, by offence group of that case. Tuned so
# that two years after a Crown Court case about 28% of SOC and 38% of other defendants are back in
# court (resources/synthetic/calibration_targets.csv): SOC cases are mostly drug cases, whose rate
# times the planted hazard ratio sets the SOC share. After a case dealt with in the magistrates'
# court alone the rate is MAGS_RATE_FACTOR times lower, so that about half of the people first
# seen in the magistrates' court in 2011 are back by 2019. The factor is the same for every
# Crown Court case, so the re-appearance after a Crown Court index case keeps its planted
# proportional-hazards form (SOC and offence group).
BASE_RATE_BY_GROUP: dict[str, float] = {
    "Theft offences": 0.33,
    "Robbery": 0.20,
    "Violence against the person": 0.17,
    "Sexual offences": 0.05,
    "Criminal damage and arson": 0.17,
    "Drug offences": 0.31,
    "Possession of weapons": 0.16,
    "Public order offences": 0.14,
    "Fraud offences": 0.14,
    "Miscellaneous crimes against society": 0.16,
    "Summary non-motoring": 0.10,
    "Summary motoring": 0.06,
}
# Probability that the next case is in the same offence group as the last (specialisation).
PERSISTENCE_BY_GROUP: dict[str, float] = {
    "Theft offences": 0.65,
    "Summary motoring": 0.55,
    "Drug offences": 0.45,
}
DEFAULT_PERSISTENCE = 0.30

# Log-odds contributions to "discontinued or dismissed" for Crown Court trial cases.
DD_INTERCEPT = -2.05
DD_GROUP_EFFECT: dict[str, float] = {
    "Violence against the person": 0.35,
    "Sexual offences": 0.45,
    "Robbery": 0.10,
    "Theft offences": -0.10,
    "Drug offences": -0.25,
    "Fraud offences": 0.20,
}
DD_REGION_EFFECT: tuple[float, ...] = (0.20, -0.05, -0.10, 0.05, -0.15, 0.0, -0.20)
DD_YEAR_SLOPE = 0.04  # per year after 2016: discontinuance drifted upwards over the period

MAGS_RATE_FACTOR = 0.55
MAX_GROUP_SIZE = 10
# Ordinary offenders' cases on SOC-listed offences have co-defendants this much less often than
# the catalogue says, and their drug supply offences are this much more frequent: together they
# bring the SOC share of Crown Court appearances near the published 6% while non-SOC drug
# appearances (lone suppliers) approach the published 15%.
ORDINARY_SOC_CODEFENDANT_SCALE = 0.2
ORDINARY_DRUG_SUPPLY_WEIGHT = 1.9
# Groups draw their SOC-type offences with the non-drug ones this much more frequent, so that
# drug offences are near the published 57% of SOC appearances.
GROUP_NON_DRUG_SOC_WEIGHT = 1.35
# Share male among new persons: organised crime groups have more women than other defendants
# (published: 83% of SOC against 90% of all Crown Court appearances male).
P_MALE_ORDINARY = 0.905
P_MALE_GROUP = 0.80
# Share of group members drawn White on top of the common weights (published: 68% of SOC
# appearances White).
GROUP_EXTRA_WHITE = 0.08


@dataclass(frozen=True)
class SimulationParams:
    """Everything that shapes one synthetic world."""

    seed: int
    n_entrants: int  # ordinary offenders whose first offence falls in the simulated period
    n_groups: int  # organised crime groups formed in the period
    first_year: int = 2011  # magistrates' data start
    crown_first_year: int = 2013  # Crown Court data start
    last_year: int = 2020  # last year of disposals in the extracts
    burn_in_years: int = 3  # careers may start before the data window, as real ones do
    stock_share: float = 0.85  # share of careers begun before the magistrates' data start
    odds_ratio_soc_dd: float = 1.6  # planted odds ratio: SOC -> discontinued or dismissed
    hazard_ratio_soc: float = 0.7  # planted hazard ratio: SOC -> re-appearance
    release_fraction: float = 0.5  # share of a custodial term served before release
    group_soc_share: float = 0.85  # share of group cases on SOC-type offences
    group_p_crown: float = 0.5  # share of group cases on SOC-type offences in the Crown Court
    group_disband_prob: float = 0.25
    group_recruit_prob: float = 0.10
    group_size_max: int = 3  # founding members: 2 to this many
    receipt_type_probs: tuple[float, float, float] = (0.72, 0.22, 0.06)  # trial, sentence, appeal


def narrow(values: np.ndarray, dtype: type[np.integer]) -> np.ndarray:
    """Integer codes stored compactly (the values are checked to fit)."""
    info = np.iinfo(dtype)
    if len(values) and (values.min() < info.min or values.max() > info.max):
        raise OverflowError(f"values do not fit {dtype.__name__}")
    return values.astype(dtype)


# Case columns are stored compactly: days since 1970, indices and codes all fit.
CASE_DTYPES: dict[str, type[np.integer]] = {
    **dict.fromkeys(
        ("case_idx", "offence_day", "mags_first_hearing", "mags_disposal", "crown_receipt",
         "crown_disposal", "custody_days", "start_risk", "group_id"),
        np.int32,
    ),
    **dict.fromkeys(("offence", "n_defendants", "mags_court", "crown_court"), np.int16),
    **dict.fromkeys(("receipt_type", "region", "outcome", "sentence"), np.int8),
}  # fmt: skip


@dataclass
class Cases:
    """Columns of all simulated cases, one entry per case (not per defendant)."""

    cols: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, **arrays: np.ndarray) -> None:
        for k, v in arrays.items():
            self.cols.setdefault(k, []).append(narrow(v, CASE_DTYPES[k]) if k in CASE_DTYPES else v)

    def concat(self) -> dict[str, np.ndarray]:
        """One array per column; the parts are freed column by column as they are joined."""
        return {k: np.concatenate(self.cols.pop(k)) for k in list(self.cols)}


@dataclass
class World:
    """The simulated world: persons, cases, and defendant-case participation."""

    persons: dict[str, np.ndarray]
    cases: dict[str, np.ndarray]
    participants: dict[str, np.ndarray]  # case index -> person index (one row per defendant-case)
    courts: dict[str, np.ndarray]
    params: SimulationParams


def _day(year: int, month: int = 1, day: int = 1) -> int:
    return int((np.datetime64(f"{year:04d}-{month:02d}-{day:02d}", "D") - DAY0).astype(int))


class _OffenceTables:
    """Array views of the offence catalogue for vectorised draws."""

    def __init__(self) -> None:
        offs = cat.OFFENCES
        self.groups = sorted({o.offence_group for o in offs})
        self.group_of = np.array([self.groups.index(o.offence_group) for o in offs])
        self.weight = np.array([o.weight for o in offs])
        # With MAGS_RATE_FACTOR these give about 7.5 Crown Court rows per 100 magistrates' rows,
        # as in the extracts.
        self.p_crown = np.array([o.p_crown for o in offs])
        self.p_custody = np.array([o.p_custody for o in offs])
        self.median_custody = np.array([o.median_custody_days for o in offs], dtype=float)
        self.soc_type = np.array([o.soc_type for o in offs])
        # What the default proxy sees: SOC-type codes and the other listed codes.
        self.soc_listed = self.soc_type | np.array(
            [o.ho_code in cat.LISTED_NOT_GROUP_TYPE for o in offs]
        )
        self.p_codef = np.array([o.p_codefendant for o in offs]) * np.where(
            self.soc_listed, ORDINARY_SOC_CODEFENDANT_SCALE, 1.0
        )
        self.base_rate = np.array([BASE_RATE_BY_GROUP[g] for g in self.groups])
        self.persistence = np.array(
            [PERSISTENCE_BY_GROUP.get(g, DEFAULT_PERSISTENCE) for g in self.groups]
        )
        self.dd_group = np.array([DD_GROUP_EFFECT.get(g, 0.0) for g in self.groups])
        drug_supply = self.soc_type & (self.group_of == self.groups.index("Drug offences"))
        ordinary_w = np.where(drug_supply, self.weight * ORDINARY_DRUG_SUPPLY_WEIGHT, self.weight)
        self.cum_all = np.cumsum(ordinary_w) / ordinary_w.sum()
        soc_w = np.where(
            self.soc_type,
            self.weight * np.where(drug_supply, 1.0, GROUP_NON_DRUG_SOC_WEIGHT),
            0.0,
        )
        self.cum_soc = np.cumsum(soc_w) / soc_w.sum()
        # Per-group cumulative weights, for "same group as last time" draws.
        self.cum_by_group = np.zeros((len(self.groups), len(offs)))
        for g in range(len(self.groups)):
            w = np.where(self.group_of == g, self.weight, 0.0)
            self.cum_by_group[g] = np.cumsum(w) / w.sum()

    def draw(self, rng: np.random.Generator, cum: np.ndarray, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(cum) - 1)

    def draw_next(
        self,
        rng: np.random.Generator,
        prev: np.ndarray,
        is_group: np.ndarray,
        group_soc_share: float,
    ) -> np.ndarray:
        """Next offence of each chain: specialise, or draw afresh; groups favour SOC-type."""
        n = len(prev)
        out = self.draw(rng, self.cum_all, n)
        prev_group = np.where(prev >= 0, self.group_of[np.maximum(prev, 0)], -1)
        stay = (prev >= 0) & (rng.random(n) < self.persistence[np.maximum(prev_group, 0)])
        for g in range(len(self.groups)):
            m = stay & (prev_group == g)
            if m.any():
                out[m] = self.draw(rng, self.cum_by_group[g], int(m.sum()))
        group_soc = is_group & (rng.random(n) < group_soc_share)
        out[group_soc] = self.draw(rng, self.cum_soc, int(group_soc.sum()))
        return out


def _make_courts(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """77 Crown Court centres and about 150 magistrates' courts spread over 7 regions."""
    rows = []
    n_regions = len(cat.REGIONS)
    share = np.asarray(cat.REGION_WEIGHTS)
    for kind, total in (("crown", cat.N_CROWN_CENTRES), ("mags", cat.N_MAGS_COURTS)):
        per_region = np.maximum(np.round(share * total).astype(int), 3)
        per_region[0] += total - per_region.sum()
        for r in range(n_regions):
            for k in range(per_region[r]):
                rows.append((kind, r, k))
    kind = np.array([x[0] for x in rows])
    region = np.array([x[1] for x in rows])
    idx_in_region = np.array([x[2] for x in rows])
    # Court sizes are very unequal: a few large centres, many small ones.
    size = rng.pareto(1.6, len(rows)) + 1.0
    return {"kind": kind, "region": region, "idx_in_region": idx_in_region, "size": size}


def _court_sampler(courts: dict[str, np.ndarray], kind: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per region: (court indices, cumulative size weights)."""
    out = []
    for r in range(len(cat.REGIONS)):
        idx = np.flatnonzero((courts["kind"] == kind) & (courts["region"] == r))
        w = courts["size"][idx]
        out.append((idx, np.cumsum(w) / w.sum()))
    return out


def _draw_courts(
    rng: np.random.Generator, sampler: list[tuple[np.ndarray, np.ndarray]], region: np.ndarray
) -> np.ndarray:
    out = np.empty(len(region), dtype=np.int64)
    u = rng.random(len(region))
    for r, (idx, cum) in enumerate(sampler):
        m = region == r
        if m.any():
            pos = np.minimum(np.searchsorted(cum, u[m], side="right"), len(idx) - 1)
            out[m] = idx[pos]
    return out


def _new_persons(
    rng: np.random.Generator,
    n: int,
    region: np.ndarray,
    first_day: np.ndarray,
    in_group: np.ndarray | bool = False,
) -> dict[str, np.ndarray]:
    """Demographics for n new persons whose first offence is on first_day."""
    age_first = 14.0 + rng.gamma(2.0, 7.2, n)
    birth = first_day - (age_first * 365.25).astype(np.int64)
    p_male = np.where(in_group, P_MALE_GROUP, P_MALE_ORDINARY)
    sex = np.where(rng.random(n) < p_male, 0, 1)  # 0 = M, 1 = F
    w = np.asarray(cat.ETHNICITY_WEIGHTS)
    eth = np.minimum(
        np.searchsorted(np.cumsum(w) / w.sum(), rng.random(n), side="right"), len(w) - 1
    )
    # Group members are White somewhat more often (published: 68% of SOC appearances).
    eth = np.where(np.asarray(in_group) & (rng.random(n) < GROUP_EXTRA_WHITE), 0, eth)
    return {"birth_day": birth, "sex": sex, "ethnicity": eth, "home_region": region}


class _PersonStore:
    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {}
        self.n = 0

    def add(self, cols: dict[str, np.ndarray]) -> np.ndarray:
        k = len(next(iter(cols.values())))
        for name, v in cols.items():
            self.parts.setdefault(name, []).append(v)
        ids = np.arange(self.n, self.n + k)
        self.n += k
        return ids

    def concat(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(self.parts.pop(k)) for k in list(self.parts)}


def simulate(p: SimulationParams) -> World:
    """Run the chain simulation and return every case, person and participation."""
    rng = np.random.default_rng(p.seed)
    offs = _OffenceTables()
    courts = _make_courts(rng)
    crown_sampler = _court_sampler(courts, "crown")
    mags_sampler = _court_sampler(courts, "mags")
    region_cum = np.cumsum(cat.REGION_WEIGHTS) / np.sum(cat.REGION_WEIGHTS)

    start = _day(p.first_year - p.burn_in_years)
    end = _day(p.last_year, 12, 31)
    persons = _PersonStore()

    # Chains: ordinary entrants, then groups. A chain's members live in a padded matrix.
    n_chains0 = p.n_entrants + p.n_groups
    # Careers already under way when the data begin form a stock; the rest start evenly later,
    # so that caseloads stay roughly level over the decade rather than growing.
    in_stock = rng.random(n_chains0) < p.stock_share
    t_next = np.where(
        in_stock,
        rng.uniform(start, _day(p.first_year), n_chains0),
        rng.uniform(_day(p.first_year), end, n_chains0),
    )
    region = np.minimum(np.searchsorted(region_cum, rng.random(n_chains0), side="right"), 6)
    is_group = np.zeros(n_chains0, dtype=bool)
    is_group[p.n_entrants :] = True
    size = np.ones(n_chains0, dtype=np.int64)
    size[p.n_entrants :] = rng.integers(2, p.group_size_max + 1, p.n_groups)
    members = np.full((n_chains0, MAX_GROUP_SIZE), -1, dtype=np.int64)
    for s in np.unique(size):
        m = size == s
        ids = persons.add(
            _new_persons(
                rng, int(m.sum() * s), np.repeat(region[m], s), np.repeat(t_next[m], s).astype(int),
                np.repeat(is_group[m], s),
            )
        )  # fmt: skip
        members[np.flatnonzero(m)[:, None], np.arange(s)[None, :]] = ids.reshape(-1, s)
    group_id = np.where(is_group, np.arange(n_chains0) - p.n_entrants, -1)
    prev_offence = np.full(n_chains0, -1)

    cases = Cases()
    part_case: list[np.ndarray] = []
    part_person: list[np.ndarray] = []
    n_cases = 0
    log_or = np.log(p.odds_ratio_soc_dd)
    dd_region = np.asarray(DD_REGION_EFFECT)

    while len(t_next):
        n = len(t_next)
        case_idx = np.arange(n_cases, n_cases + n)
        n_cases += n
        offence = offs.draw_next(rng, prev_offence, is_group, p.group_soc_share)
        soc_type = offs.soc_type[offence]
        grp = offs.group_of[offence]

        # Ordinary offenders sometimes bring new co-defendants into the case; groups recruit.
        n_codef = np.where(
            ~is_group & (rng.random(n) < offs.p_codef[offence]),
            1 + rng.binomial(3, 0.25, n),
            0,
        )
        recruit = is_group & (size < MAX_GROUP_SIZE) & (rng.random(n) < p.group_recruit_prob)
        n_defendants = size + n_codef + recruit
        soc_case = offs.soc_listed[offence] & (n_defendants >= 2)

        crown_p = np.where(is_group & soc_type, p.group_p_crown, offs.p_crown[offence])
        crown = rng.random(n) < crown_p
        receipt_type = np.where(
            crown,
            np.minimum(
                np.searchsorted(np.cumsum(p.receipt_type_probs), rng.random(n), side="right"), 2
            ),
            -1,
        )
        mags_court = _draw_courts(rng, mags_sampler, region)
        crown_court = np.where(crown, _draw_courts(rng, crown_sampler, region), -1)

        offence_day = np.floor(t_next).astype(np.int64)
        mags_first_hearing = offence_day + 7 + rng.gamma(1.5, 30.0, n).astype(np.int64)
        mags_lag = rng.gamma(1.2, 25.0, n).astype(np.int64)
        crown_receipt = mags_first_hearing + np.where(
            receipt_type == 2, 60, 14 + rng.integers(0, 28, n)
        )
        crown_lag = (rng.gamma(2.0, 95.0, n) * np.where(soc_case, 1.6, 1.0)).astype(np.int64)
        crown_disposal = crown_receipt + 1 + crown_lag
        mags_disposal = np.where(
            crown, mags_first_hearing, mags_first_hearing + mags_lag
        )  # sending to the Crown Court disposes of the magistrates' case at first hearing
        disposal = np.where(crown, crown_disposal, mags_disposal)
        year = (DAY0 + crown_receipt).astype("datetime64[Y]").astype(int) + 1970

        # Crown Court trial outcome: planted logistic model for discontinued-or-dismissed.
        eta = (
            DD_INTERCEPT
            + log_or * soc_case
            + offs.dd_group[grp]
            + dd_region[region]
            + DD_YEAR_SLOPE * (year - 2016)
        )
        dd = rng.random(n) < 1.0 / (1.0 + np.exp(-eta))
        outcome = _draw_outcomes(rng, crown, receipt_type, dd, soc_case)

        convicted = np.isin(
            outcome,
            [
                OUT["guilty_plea"],
                OUT["convicted_after_trial"],
                OUT["proved_in_absence"],
                OUT["sentenced_on_committal"],
                OUT["appeal_dismissed"],
            ],
        )
        custody_p = np.where(crown, offs.p_custody[offence], offs.p_custody[offence] * 0.35)
        custody = convicted & (rng.random(n) < custody_p)
        custody_days = np.where(
            custody,
            np.clip(
                offs.median_custody[offence]
                * np.exp(rng.normal(0, 0.55, n))
                * np.where(crown, 1.0, 0.25),
                7,
                365 * 25,
            ).astype(np.int64),
            0,
        )
        sentence = _draw_sentences(rng, convicted, custody, crown)
        start_risk = disposal + np.floor(p.release_fraction * custody_days).astype(np.int64)

        cases.add(
            case_idx=case_idx,
            offence=offence,
            soc_type=soc_type,
            soc_case=soc_case,
            n_defendants=n_defendants,
            crown=crown,
            receipt_type=receipt_type,
            mags_court=mags_court,
            crown_court=crown_court,
            region=region,
            offence_day=offence_day,
            mags_first_hearing=mags_first_hearing,
            mags_disposal=mags_disposal,
            crown_receipt=crown_receipt,
            crown_disposal=crown_disposal,
            outcome=outcome,
            dd=dd,
            sentence=sentence,
            custody_days=custody_days,
            start_risk=start_risk,
            group_id=group_id,
        )

        # New persons: co-defendants of ordinary offenders, and group recruits.
        n_new = n_codef + recruit
        new_chain = np.repeat(np.arange(n), n_new)
        new_is_recruit = np.repeat(recruit, n_new)
        new_ids = persons.add(
            _new_persons(
                rng, len(new_chain), region[new_chain], offence_day[new_chain], new_is_recruit
            )
        )
        # Recruits join the group's member matrix.
        rec_chain = new_chain[new_is_recruit]
        members[rec_chain, size[rec_chain]] = new_ids[new_is_recruit]
        size = size + recruit

        # Participation: every member of the chain, plus the new co-defendants.
        slot = np.arange(MAX_GROUP_SIZE)[None, :] < size[:, None]
        part_case.append(np.broadcast_to(case_idx[:, None], members.shape)[slot])
        part_person.append(members[slot])
        codef = ~new_is_recruit
        part_case.append(case_idx[new_chain[codef]])
        part_person.append(new_ids[codef])

        # Next offence: proportional hazards on the case just disposed of.
        rate = (
            offs.base_rate[grp]
            * np.where(crown, 1.0, MAGS_RATE_FACTOR)
            * np.where(soc_case, p.hazard_ratio_soc, 1.0)
            / 365.25
        )
        gap = rng.exponential(1.0, n) / rate
        disband = is_group & (rng.random(n) < p.group_disband_prob)

        # Continuing chains (groups share one draw; ordinary offenders have their own).
        keep = ~disband
        next_t = [start_risk[keep] + gap[keep]]
        next_members = [members[keep]]
        next_is_group = [is_group[keep]]
        next_size = [size[keep]]
        next_gid = [group_id[keep]]
        next_prev = [offence[keep]]
        next_region = [region[keep]]

        # Members of disbanded groups, and new co-defendants, go on as ordinary offenders.
        d_rows, d_cols = np.nonzero(
            disband[:, None] & (np.arange(MAX_GROUP_SIZE)[None, :] < size[:, None])
        )
        solo_src = np.concatenate([d_rows, new_chain[codef]])
        solo_person = np.concatenate([members[d_rows, d_cols], new_ids[codef]])
        k = len(solo_src)
        solo_members = np.full((k, MAX_GROUP_SIZE), -1, dtype=np.int64)
        solo_members[:, 0] = solo_person
        next_t.append(start_risk[solo_src] + rng.exponential(1.0, k) / rate[solo_src])
        next_members.append(solo_members)
        next_is_group.append(np.zeros(k, dtype=bool))
        next_size.append(np.ones(k, dtype=np.int64))
        next_gid.append(np.full(k, -1))
        next_prev.append(offence[solo_src])
        next_region.append(region[solo_src])

        t_next = np.concatenate(next_t)
        alive = t_next < end
        t_next = t_next[alive]
        members = np.concatenate(next_members)[alive]
        is_group = np.concatenate(next_is_group)[alive]
        size = np.concatenate(next_size)[alive]
        group_id = np.concatenate(next_gid)[alive]
        prev_offence = np.concatenate(next_prev)[alive]
        region = np.concatenate(next_region)[alive]

    case_cols = cases.concat()
    # Cases are numbered in the order they are added, so they are in order already; sort in
    # place, column by column, should that ever change.
    idx = case_cols["case_idx"]
    if not (idx[1:] > idx[:-1]).all():
        order = np.argsort(idx, kind="stable")
        for k in case_cols:
            case_cols[k] = case_cols[k][order]
    participants = {
        "case_idx": np.concatenate(part_case),
        "person": np.concatenate(part_person),
    }
    return World(persons.concat(), case_cols, participants, courts, p)


# Canonical outcome codes used inside the simulation.
OUTCOMES: tuple[str, ...] = (
    "guilty_plea",
    "convicted_after_trial",
    "proved_in_absence",
    "acquitted_jury",
    "judge_directed_acquittal",
    "discontinued",
    "withdrawn",
    "no_evidence_offered",
    "lie_on_file",
    "stayed",
    "dismissed",
    "admin_finalised",
    "sentenced_on_committal",
    "appeal_allowed",
    "appeal_dismissed",
)
OUT = {k: i for i, k in enumerate(OUTCOMES)}

# Outcomes the planted odds ratio refers to ("discontinued or dismissed").
DD_OUTCOMES: tuple[str, ...] = (
    "discontinued",
    "withdrawn",
    "no_evidence_offered",
    "dismissed",
    "stayed",
    "judge_directed_acquittal",
)
SENTENCES: tuple[str, ...] = (
    "immediate_custody",
    "suspended_sentence",
    "community_sentence",
    "fine",
    "conditional_discharge",
    "absolute_discharge",
    "compensation",
    "otherwise_dealt_with",
    "none",
)
SEN = {k: i for i, k in enumerate(SENTENCES)}


# Trial outcomes that are not "discontinued or dismissed": guilty plea, convicted after trial,
# acquitted by a jury, left on file, administratively finalised.
TRIAL_OUTCOME_MIX_SOC: tuple[float, ...] = (0.71, 0.185, 0.075, 0.015, 0.015)
TRIAL_OUTCOME_MIX_OTHER: tuple[float, ...] = (0.40, 0.08, 0.30, 0.10, 0.12)


def _pick(rng: np.random.Generator, n: int, labels: list[str], probs: list[float]) -> np.ndarray:
    cum = np.cumsum(probs) / np.sum(probs)
    pos = np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(labels) - 1)
    return np.array([OUT[x] for x in labels])[pos]


def _draw_outcomes(
    rng: np.random.Generator,
    crown: np.ndarray,
    receipt_type: np.ndarray,
    dd: np.ndarray,
    soc_case: np.ndarray,
) -> np.ndarray:
    """Outcomes of each case. A Crown Court trial case is discontinued or dismissed as the planted
    model says (`dd`); otherwise SOC trial cases end in a guilty plea or conviction far more often
    than others, as published (65% against 47% plead guilty, 79% against 56% are convicted, over
    all Crown Court appearances): other trial cases are often acquitted or left on file."""
    n = len(crown)
    dd_out = _pick(
        rng,
        n,
        ["discontinued", "withdrawn", "no_evidence_offered", "dismissed", "stayed",
         "judge_directed_acquittal"],
        [0.30, 0.10, 0.30, 0.10, 0.05, 0.15],
    )  # fmt: skip
    trial_labels = ["guilty_plea", "convicted_after_trial", "acquitted_jury", "lie_on_file",
                    "admin_finalised"]  # fmt: skip
    trial_other = np.where(
        soc_case,
        _pick(rng, n, trial_labels, TRIAL_OUTCOME_MIX_SOC),
        _pick(rng, n, trial_labels, TRIAL_OUTCOME_MIX_OTHER),
    )
    mags_out = _pick(
        rng,
        n,
        ["guilty_plea", "proved_in_absence", "convicted_after_trial", "dismissed", "withdrawn",
         "discontinued"],
        [0.70, 0.10, 0.05, 0.03, 0.07, 0.05],
    )  # fmt: skip
    appeal = np.where(rng.random(n) < 0.35, OUT["appeal_allowed"], OUT["appeal_dismissed"])
    crown_out = np.select(
        [receipt_type == 0, receipt_type == 1],
        [np.where(dd, dd_out, trial_other), np.full(n, OUT["sentenced_on_committal"])],
        appeal,
    )
    return np.where(crown, crown_out, mags_out)


def _draw_sentences(
    rng: np.random.Generator, convicted: np.ndarray, custody: np.ndarray, crown: np.ndarray
) -> np.ndarray:
    n = len(convicted)
    cum_crown = np.cumsum([0.40, 0.35, 0.10, 0.05, 0.02, 0.03, 0.05])
    cum_mags = np.cumsum([0.04, 0.14, 0.55, 0.14, 0.02, 0.04, 0.07])
    labels = np.array(
        [SEN[x] for x in ("suspended_sentence", "community_sentence", "fine",
                          "conditional_discharge", "absolute_discharge", "compensation",
                          "otherwise_dealt_with")]
    )  # fmt: skip
    u = rng.random(n)
    pos = np.where(
        crown,
        np.searchsorted(cum_crown / cum_crown[-1], u, side="right"),
        np.searchsorted(cum_mags / cum_mags[-1], u, side="right"),
    )
    non_custodial = labels[np.minimum(pos, len(labels) - 1)]
    return np.where(
        custody, SEN["immediate_custody"], np.where(convicted, non_custodial, SEN["none"])
    )
