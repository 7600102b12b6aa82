"""Fixed universes the synthetic generator draws from: offences, courts, and raw value vocabularies.

The raw vocabularies are written the way a Data First extract might spell them (free-text
descriptions, `NNNNN` or `NNN/NN` codes, blank ethnicity), so that ingest has real mapping work to
do. The canonical values they map to live in `config/config.yaml` (the worked example of the
mapping), not here.
"""

from __future__ import annotations

from dataclasses import dataclass

REGIONS: tuple[str, ...] = (
    "London",
    "South East",
    "South West",
    "Midlands",
    "North East",
    "North West",
    "Wales",
)
# Rough shares of criminal caseload by HMCTS region.
REGION_WEIGHTS: tuple[float, ...] = (0.19, 0.17, 0.10, 0.19, 0.13, 0.15, 0.07)

N_CROWN_CENTRES = 77
N_MAGS_COURTS = 156

# Place-name stems for synthetic court names; combined with a region they are unique.
COURT_STEMS: tuple[str, ...] = (
    "Ashford", "Barnfield", "Castlegate", "Dunmere", "Eastwick", "Fairholme", "Glenmoor",
    "Hartwell", "Ivybridge", "Kingsmead", "Longford", "Millbrook", "Northcote", "Oakridge",
    "Pendle", "Queensbury", "Redcliffe", "Stanmore", "Thornbury", "Upton", "Valewood",
    "Westbury", "Yarrow", "Ambleside", "Brackwell", "Coldharbour",
)  # fmt: skip


@dataclass(frozen=True)
class Offence:
    """One offence the generator can draw: HO code and the facts that steer its simulation."""

    ho_code: str  # NNN/NN
    offence_group: str  # MoJ offence group (13-group classification)
    weight: float  # relative frequency among new cases of ordinary offenders
    p_crown: float  # probability that a case on this offence is dealt with in the Crown Court
    p_custody: float  # probability of immediate custody when convicted in the Crown Court
    median_custody_days: int  # median custodial term when custody is imposed
    soc_type: bool  # an offence of the kind organised crime groups commit (SOC-linked, >= 3 yrs)
    p_codefendant: float  # probability that an ordinary offender's case has co-defendants


# The weights give a magistrates' mix with about a fifth motoring and a Crown Court mix led by
# violence, drugs and theft; SOC-type codes are all on the shipped SOC list with a statutory
# maximum of three years or more, so that the default proxy can recover the planted truth.
OFFENCES: tuple[Offence, ...] = (
    # Theft offences
    Offence("046/00", "Theft offences", 9.0, 0.01, 0.15, 60, False, 0.05),
    Offence("040/00", "Theft offences", 1.2, 0.04, 0.25, 120, False, 0.10),
    Offence("044/00", "Theft offences", 0.6, 0.02, 0.10, 60, False, 0.10),
    Offence("045/10", "Theft offences", 1.2, 0.04, 0.25, 90, False, 0.15),
    Offence("054/00", "Theft offences", 0.8, 0.10, 0.30, 180, False, 0.07),
    Offence("028/03", "Theft offences", 1.3, 0.45, 0.65, 540, False, 0.25),
    Offence("030/02", "Theft offences", 1.0, 0.20, 0.45, 300, False, 0.25),
    Offence("126/00", "Theft offences", 0.4, 0.02, 0.10, 60, False, 0.15),
    # Robbery
    Offence("034/01", "Robbery", 0.3, 0.95, 0.80, 1100, False, 0.16),
    # Violence against the person
    Offence("105/01", "Violence against the person", 5.0, 0.01, 0.10, 60, False, 0.08),
    Offence("008/06", "Violence against the person", 2.2, 0.20, 0.45, 360, False, 0.10),
    Offence("005/01", "Violence against the person", 0.4, 0.97, 0.90, 2000, False, 0.30),
    Offence("003/01", "Violence against the person", 0.3, 0.35, 0.50, 400, False, 0.05),
    Offence("008/31", "Violence against the person", 1.0, 0.03, 0.30, 90, False, 0.01),
    # Sexual offences
    Offence("019/08", "Sexual offences", 0.15, 0.99, 0.95, 2600, False, 0.03),
    Offence("020/05", "Sexual offences", 0.4, 0.40, 0.50, 500, False, 0.02),
    # Criminal damage and arson
    Offence("058/00", "Criminal damage and arson", 3.0, 0.01, 0.05, 60, False, 0.10),
    Offence("056/02", "Criminal damage and arson", 0.2, 0.60, 0.55, 600, False, 0.10),
    # Drug offences: possession
    Offence("092/61", "Drug offences", 3.0, 0.01, 0.02, 30, False, 0.05),
    Offence("092/50", "Drug offences", 1.0, 0.03, 0.05, 60, False, 0.05),
    # Drug offences: supply, importation, production (SOC-type)
    Offence("092/30", "Drug offences", 0.15, 0.85, 0.85, 1300, True, 0.16),
    Offence("092/31", "Drug offences", 0.15, 0.85, 0.85, 1300, True, 0.16),
    Offence("092/32", "Drug offences", 0.07, 0.80, 0.80, 1100, True, 0.14),
    Offence("092/34", "Drug offences", 0.10, 0.60, 0.45, 500, True, 0.14),
    Offence("092/03", "Drug offences", 0.04, 0.99, 0.95, 2800, True, 0.2),
    Offence("092/10", "Drug offences", 0.04, 0.95, 0.90, 1800, True, 0.2),
    Offence("092/21", "Drug offences", 0.10, 0.45, 0.40, 400, True, 0.14),
    # Possession of weapons
    Offence("008/26", "Possession of weapons", 0.9, 0.25, 0.45, 180, False, 0.05),
    Offence("008/11", "Possession of weapons", 0.4, 0.15, 0.35, 150, False, 0.05),
    Offence("081/09", "Miscellaneous crimes against society", 0.02, 0.99, 0.90, 2200, True, 0.18),
    Offence("081/07", "Miscellaneous crimes against society", 0.01, 0.99, 0.85, 1800, True, 0.18),
    # Public order
    Offence("066/01", "Public order offences", 0.5, 0.50, 0.40, 300, False, 0.40),
    # Fraud and money laundering (SOC-type where conspiracy or laundering)
    Offence("053/04", "Fraud offences", 0.06, 0.95, 0.60, 900, True, 0.23),
    Offence("038/01", "Miscellaneous crimes against society", 0.05, 0.85, 0.55, 700, True, 0.2),
    Offence("038/02", "Miscellaneous crimes against society", 0.05, 0.85, 0.55, 700, True, 0.2),
    Offence("053/54", "Fraud offences", 0.05, 0.30, 0.20, 180, False, 0.10),
    # Miscellaneous crimes against society (SOC-type: documents, counterfeiting, slavery, bribery)
    Offence("061/38", "Miscellaneous crimes against society", 0.04, 0.70, 0.60, 400, True, 0.16),
    Offence("061/25", "Miscellaneous crimes against society", 0.03, 0.70, 0.55, 450, True, 0.18),
    Offence("099/25", "Violence against the person", 0.01, 0.99, 0.90, 2200, True, 0.25),
    Offence("099/07", "Miscellaneous crimes against society", 0.01, 0.95, 0.50, 700, True, 0.2),
    Offence("036/01", "Violence against the person", 0.03, 0.99, 0.90, 2000, True, 0.25),
    Offence("035/00", "Violence against the person", 0.02, 0.90, 0.70, 900, True, 0.18),
    # Summary non-motoring
    Offence("195/99", "Summary non-motoring", 4.5, 0.002, 0.05, 30, False, 0.03),
    Offence("125/01", "Summary non-motoring", 0.3, 0.002, 0.02, 30, False, 0.05),
    # Summary motoring
    Offence("803/02", "Summary motoring", 3.0, 0.005, 0.02, 60, False, 0.0),
    Offence("809/01", "Summary motoring", 3.5, 0.002, 0.01, 30, False, 0.0),
    Offence("816/01", "Summary motoring", 3.0, 0.001, 0.0, 30, False, 0.0),
    Offence("807/00", "Summary motoring", 1.5, 0.002, 0.01, 30, False, 0.0),
)

# Offences on the shipped SOC list (possible tier, statutory maximum >= 3 years) that groups do
# not specialise in: a co-defendant case on one of them meets the default proxy all the same.
LISTED_NOT_GROUP_TYPE: frozenset[str] = frozenset({"054/00", "034/01"})

# Offences added as secondary (non-principal) counts on Crown Court cases.
SECONDARY_OFFENCES: tuple[str, ...] = (
    "105/01", "008/26", "092/61", "058/00", "054/00", "066/01", "008/06", "809/01", "092/50",
)  # fmt: skip

# Breaches and civil applications in the magistrates' data are not new offences.
BREACH_CODE = "008/31"
CIVIL_CODE = "195/99"

ETHNICITY_CODES: tuple[str, ...] = (
    "W1", "W2", "W9", "M1", "M2", "M3", "M9", "A1", "A2", "A3", "A9", "B1", "B2", "B9", "O1",
    "O9", "NS", "",
)  # fmt: skip
ETHNICITY_WEIGHTS: tuple[float, ...] = (
    0.62, 0.01, 0.06, 0.01, 0.01, 0.01, 0.01, 0.02, 0.025, 0.01, 0.015, 0.03, 0.015, 0.01, 0.005,
    0.02, 0.03, 0.08,
)  # fmt: skip

# Raw Crown Court vocabularies (canonical keys -> extract spelling).
RAW_CROWN_OUTCOME: dict[str, str] = {
    "guilty_plea": "Guilty plea",
    "convicted_after_trial": "Found guilty after trial",
    "acquitted_jury": "Acquitted by jury",
    "judge_directed_acquittal": "Judge directed acquittal",
    "discontinued": "Discontinued",
    "withdrawn": "Withdrawn",
    "no_evidence_offered": "Offered no evidence",
    "lie_on_file": "Ordered to lie on file",
    "stayed": "Proceedings stayed",
    "dismissed": "Dismissed",
    "admin_finalised": "Administratively finalised",
    "sentenced_on_committal": "Sentenced following committal",
    "appeal_allowed": "Appeal allowed",
    "appeal_dismissed": "Appeal dismissed",
}
RAW_MAGS_OUTCOME: dict[str, str] = {
    "guilty_plea": "GUILTY PLEA",
    "proved_in_absence": "PROVED IN ABSENCE",
    "convicted_after_trial": "CONVICTED AFTER TRIAL",
    "dismissed": "DISMISSED",
    "withdrawn": "WITHDRAWN",
    "discontinued": "DISCONTINUED",
    "sent_for_trial": "SENT FOR TRIAL TO CROWN COURT",
    "committed_for_sentence": "COMMITTED FOR SENTENCE TO CROWN COURT",
    "breach_proved": "BREACH PROVED",
    "order_made": "ORDER MADE",
    "other": "ADJOURNED SINE DIE",
}
RAW_SENTENCE: dict[str, str] = {
    "immediate_custody": "Immediate custody",
    "suspended_sentence": "Suspended sentence order",
    "community_sentence": "Community order",
    "fine": "Fine",
    "conditional_discharge": "Conditional discharge",
    "absolute_discharge": "Absolute discharge",
    "compensation": "Compensation order",
    "otherwise_dealt_with": "Otherwise dealt with",
    "none": "",
}
RAW_PLEA: dict[str, str] = {
    "guilty": "Guilty",
    "not_guilty": "Not guilty",
    "no_plea": "No plea taken",
    "not_known": "Not known",
}
RAW_RECEIPT: dict[str, str] = {
    "trial": "Trial",
    "sentence": "Committal for sentence",
    "appeal": "Appeal against conviction or sentence",
}
RAW_PROCEEDING: dict[str, str] = {
    "criminal": "Criminal",
    "breach": "Breach",
    "civil": "Civil application",
}
