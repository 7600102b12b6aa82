"""Build the crime-harm resources committed under resources/harm/.

Run by hand from the repository root when the ONS table, the HO code table or the mapping
rules below change:

    python tools/build_harm_resources.py --reference ../shared/reference

Inputs:
    <reference>/ons_crime_severity_weights.csv   ONS Crime Severity Score weights, keyed by
                                                 police recorded crime (PRC) offence codes.
    resources/offence_codes/ho_offence_codes.csv the Home Office (HO) court offence codes.

Outputs (written to --out, default resources/harm/):
    ons_crime_severity_weights.csv  the ONS table, copied byte for byte.
    ons_css_to_ho.csv               one row per HO code: the PRC code whose CSS weight it takes
                                    (or none), the method and the reason.

The mapping is the curated data in this file: CLASS_RULES (a whole HO class, or what remains
of it after the subclass rules) and SUBCLASS_RULES (named HO codes). Methods:

    class     the whole HO class corresponds to one PRC code (the PRC codes derive from the
              HO class numbers);
    subclass  the HO class splits over several PRC codes and this code takes the one its
              offence belongs to (e.g. drug trafficking 92A against possession 92D/92E);
    nearest   the CSS has no weight for this offence; the weight of the closest offence in the
              same ONS group is used, and the reason says which and why;
    unmapped  no CSS weight applies (fraud, which the police do not record; summary and
              regulatory offences, which the CSS does not weight). The data-derived weight
              covers these codes.

The build refuses rules naming unknown HO or PRC codes and codes claimed by two subclass
rules, and checks that every HO code gets exactly one row. Deterministic; standard library
only.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

# The offence-code build script sits beside this one (run as a script, its folder is on the
# path): one CSV dialect for every committed resource table.
from build_offence_code_resources import read_csv, write_csv

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = REPO_ROOT.parent / "shared" / "reference"
DEFAULT_OUT = REPO_ROOT / "resources" / "harm"
HO_TABLE = REPO_ROOT / "resources" / "offence_codes" / "ho_offence_codes.csv"

ONS_FILE = "ons_crime_severity_weights.csv"
MAPPING_FILE = "ons_css_to_ho.csv"
MAPPING_COLUMNS = (
    "ho_code",
    "ho_class",
    "description",
    "po_offence_code",
    "ons_offence",
    "method",
    "rationale",
)
METHODS = ("class", "subclass", "nearest", "unmapped")
HOMICIDE = "1/4.1/4.2/4.10"
UNMAPPED_DEFAULT = (
    "summary or regulatory offence class with no Crime Severity Score weight (the CSS weights "
    "notifiable offences recorded by the police)"
)
FRAUD = (
    "fraud: the CSS has no fraud weights (fraud is recorded by Action Fraud, not by police forces)"
)


class Span(tuple):
    """Codes of a range of subclasses: classes have gaps, so absent codes are skipped."""


def span(*ranges: tuple[str, int, int]) -> Span:
    """The codes `NNN/first` .. `NNN/last` of each (class, first, last)."""
    return Span(f"{c}/{i:02d}" for c, first, last in ranges for i in range(first, last + 1))


def codes(ho_class: str, *subclasses: int) -> tuple[str, ...]:
    """Named codes of a class: every one must exist in the HO table."""
    return tuple(f"{ho_class}/{i:02d}" for i in subclasses)


# Whole classes, or what remains of a class after SUBCLASS_RULES: class -> (PRC code or None,
# method, reason). `class` becomes `subclass` automatically when subclass rules split the class.
CLASS_RULES: dict[str, tuple[str | None, str, str]] = {
    "001": (HOMICIDE, "class", "murder: CSS homicide weight"),
    "002": ("2", "class", "attempted murder"),
    "003": ("3B", "class", "catch-all and remainder: threats to kill, the class's main offence"),
    "004": (HOMICIDE, "class", "manslaughter and other homicide (PRC 4.1, 4.2, 4.10)"),
    "005": ("5E", "class", "acts endangering life (explosions, poison, obstruction, weapons)"),
    "006": ("5E", "nearest", "endangering railway passengers: no CSS weight; endangering life"),
    "007": ("5E", "nearest", "endangering life at sea: no CSS weight; endangering life"),
    "008": ("8N", "class", "wounding and assault occasioning injury (remainder of class 008)"),
    "009": ("59", "class", "threat or possession with intent to commit criminal damage"),
    "011": ("11A", "class", "cruelty to or neglect of children"),
    "012": ("11A", "nearest", "abandoning a child under two: no CSS weight; child cruelty"),
    "013": ("13", "class", "child abduction"),
    "014": ("14", "class", "procuring illegal abortion"),
    "015": ("15", "class", "concealing an infant death close to birth"),
    "016": ("88D", "nearest", "historic buggery offences: unnatural sexual offences"),
    "017": ("17A", "class", "sexual assault on a male aged 13 and over (remainder)"),
    "018": ("88D", "nearest", "historic indecency between males: unnatural sexual offences"),
    "019": ("19C", "class", "catch-all: rape of a female aged 16 or over, the commonest form"),
    "020": ("20A", "class", "sexual assault on a female aged 13 and over (remainder)"),
    "021": ("21", "class", "sexual activity involving a child under 13"),
    "022": ("22B", "class", "sexual activity involving a child under 16 (remainder)"),
    "023": ("23", "class", "incest or familial sexual offences"),
    "024": ("24", "class", "exploitation of prostitution"),
    "025": ("36", "nearest", "historic abduction of a female: no CSS weight; kidnapping"),
    "026": ("26", "class", "bigamy"),
    "027": ("27", "class", "soliciting for prostitution"),
    "028": ("28E", "class", "burglary in a dwelling; the CSS weights 28A-28H equally"),
    "029": ("29A", "class", "aggravated burglary - residential"),
    "030": ("30C", "class", "burglary other than a dwelling; CSS 30A-30D weighted equally"),
    "031": ("31A", "class", "aggravated burglary - business and community"),
    "032": ("30C", "nearest", "historic entering with intent: non-residential burglary"),
    "033": ("33", "class", "going equipped for stealing"),
    "034": ("34B", "class", "robbery; the CSS weights business and personal robbery equally"),
    "035": ("35", "class", "blackmail"),
    "036": ("36", "class", "kidnapping, false imprisonment, hostage taking"),
    "037": ("37.2", "class", "aggravated vehicle taking (no death)"),
    "038": ("38", "class", "money laundering: profiting from or concealing proceeds of crime"),
    "039": ("39", "class", "theft from the person"),
    "040": ("40", "class", "theft in a dwelling"),
    "041": ("41", "class", "theft by an employee"),
    "042": ("42", "class", "theft of mail"),
    "043": ("43", "class", "dishonest use of electricity"),
    "044": ("44", "class", "theft of a pedal cycle"),
    "045": ("45", "class", "theft from a vehicle"),
    "046": ("46", "class", "shoplifting"),
    "047": ("47", "class", "theft from an automatic machine or meter"),
    "048": ("48", "class", "theft or unauthorised taking of a motor vehicle"),
    "049": ("49", "class", "other theft"),
    "050": (None, "unmapped", FRAUD),
    "051": (None, "unmapped", FRAUD),
    "052": (None, "unmapped", FRAUD),
    "053": (None, "unmapped", FRAUD + "; computer misuse has no CSS weight either"),
    "054": ("54", "class", "handling stolen goods"),
    "055": (None, "unmapped", FRAUD),
    "056": ("56B", "class", "catch-all: arson not endangering life, the commoner form"),
    "057": (
        "56A",
        "nearest",
        "criminal damage endangering life: no CSS weight; arson endangering life",
    ),
    "058": ("58D", "class", "other criminal damage; the CSS weights 58A-58D equally"),
    "059": ("59", "class", "threat or possession with intent to commit criminal damage"),
    "060": ("60", "class", "forgery or use of a drug prescription"),
    "061": ("61", "class", "other forgery and counterfeiting (remainder)"),
    "062": ("66", "nearest", "treason: other offences against the State"),
    "063": ("66", "nearest", "treason felony: other offences against the State"),
    "064": ("62A", "nearest", "riot: no CSS weight; violent disorder"),
    "065": ("62A", "class", "violent disorder"),
    "066": ("66", "class", "other offences against the State or public order (remainder)"),
    "067": ("67", "class", "perjury"),
    "068": (
        None,
        "unmapped",
        "breaches of civil orders, notification and computer offences with no CSS weight",
    ),
    "069": ("69", "class", "prison offences (Offender Management Act)"),
    "070": ("70", "class", "sexual activity with a person with a mental disorder"),
    "071": ("71", "class", "abuse of children through sexual exploitation"),
    "072": ("72", "class", "trafficking for sexual exploitation"),
    "073": ("73", "class", "abuse of position of trust of a sexual nature (remainder)"),
    "074": (
        "22B",
        "nearest",
        "historic gross indecency with children: sexual activity involving a child under 16",
    ),
    "076": ("76", "class", "aiding suicide"),
    "077": (
        "92A",
        "class",
        "precursor manufacture and supply; drugs carried on ships (trafficking)",
    ),
    "078": (None, "unmapped", "immigration offences: the CSS has no immigration weight"),
    "079": ("79", "class", "perverting the course of justice, witness intimidation"),
    "080": ("80", "class", "absconding from lawful custody"),
    "081": ("81", "class", "other firearms offences: dealing, selling, converting, importing"),
    "083": ("83", "class", "bail offences"),
    "086": ("86", "class", "obscene publications and indecent images"),
    "088": ("88C", "class", "other miscellaneous sexual offences (remainder)"),
    "090": ("90", "class", "other knives offences"),
    "092": (
        "92A",
        "class",
        "trafficking: importation, exportation, production, supply, "
        "possession with intent to supply",
    ),
    "093": ("92C", "class", "other drug offences: permitting premises, obstruction (remainder)"),
    "095": ("95", "class", "disclosure, obstruction, false or misleading statements"),
    "098": ("99", "class", "other indictable or triable-either-way offences"),
    "099": ("99", "class", "other indictable or triable-either-way offences (remainder)"),
    "103": ("105A", "nearest", "historic aggravated (summary) assaults: assault without injury"),
    "104": (
        "104",
        "class",
        "assault on a constable (summary): assault without injury on a constable",
    ),
    "105": ("105A", "class", "common assault: assault without injury"),
    "107": ("24", "nearest", "brothel keeping: exploitation of prostitution"),
    "109": ("11A", "nearest", "summary child neglect offences: cruelty to children"),
    "125": (None, "unmapped", UNMAPPED_DEFAULT),
    "126": ("126", "class", "interfering with a motor vehicle"),
    "130": ("48", "class", "unauthorised taking of a motor vehicle (summary mode)"),
    "131": ("37.2", "nearest", "aggravated vehicle taking, damage only: aggravated vehicle taking"),
    "139": ("88E", "nearest", "indecent exposure (summary): exposure and voyeurism"),
    "149": (
        "58D",
        "nearest",
        "criminal damage of £5,000 or less (summary mode): other criminal damage",
    ),
    "193": ("92C", "class", "drug regulation, records and premises offences (remainder)"),
    "802": ("802", "class", "dangerous driving"),
    "814": ("814", "class", "fraud and forgery associated with vehicle or driver records"),
}

# Named codes, applied before the class rules: (codes, PRC code or None, method, reason).
SUBCLASS_RULES: list[tuple[tuple[str, ...], str | None, str, str]] = [
    # Threats, conspiracy or incitement to murder.
    (codes("003", 1), "3B", "subclass", "threats to kill"),
    (codes("003", 2, 4, 5, 6), "3A", "subclass", "conspiracy, soliciting, encouraging murder"),
    (
        codes("003", 3),
        "79",
        "nearest",
        "impeding apprehension in a murder case: an offence against justice",
    ),
    # Manslaughter and death or serious injury by driving.
    (codes("004", 3), "4.3", "subclass", "child destruction"),
    (codes("004", 4, 12), "4.4", "subclass", "death or serious injury by dangerous driving"),
    (codes("004", 6), "4.6", "subclass", "death by careless driving under the influence"),
    (
        codes("004", 7, 11),
        "4.7",
        "subclass",
        "causing or allowing death or serious harm of a child or vulnerable adult",
    ),
    (codes("004", 8), "4.8", "subclass", "death by careless or inconsiderate driving"),
    (codes("004", 9), "4.9", "subclass", "death by driving: unlicensed, disqualified or uninsured"),
    (
        codes("004", 18),
        "4.9",
        "nearest",
        "serious injury by driving while disqualified: no CSS "
        "weight; death by driving while disqualified",
    ),
    (
        codes("004", 19),
        "4.8",
        "nearest",
        "serious injury by careless driving: no CSS weight; death by careless driving",
    ),
    # Wounding and other acts endangering life.
    (
        codes("005", 0, 1, 7),
        "5D",
        "subclass",
        "wounding or causing GBH with intent (assault with intent to cause serious harm)",
    ),
    (
        codes("005", 27),
        "5D",
        "nearest",
        "torture: no CSS weight; assault with intent to cause serious harm",
    ),
    (span(("005", 14, 19)), "10A", "subclass", "possession or use of firearms with intent"),
    (codes("005", 28), "8R", "nearest", "threatening communications: malicious communications"),
    # Malicious wounding and like offences.
    (codes("008", 7, 8), "8S", "subclass", "assault on a constable (indictable)"),
    (
        codes("008", 73),
        "104",
        "subclass",
        "assault on an emergency worker: assault without injury on a constable",
    ),
    (
        codes("008", 11, 28, 53, 61, 63, 75, 76),
        "10C",
        "subclass",
        "offensive weapons and corrosives",
    ),
    (codes("008", 26, 27, 62, 64), "10D", "subclass", "article with a blade or point"),
    (codes("008", 13, 14, 15, 54), "10B", "subclass", "possession of firearms offences"),
    (codes("008", 16, 17, 18, 23, 24, 25), "10A", "subclass", "possession of firearms with intent"),
    (
        codes("008", 29, 30, 31, 39, 74),
        "8L",
        "subclass",
        "harassment, putting in fear, breach of restraining or stalking orders",
    ),
    (codes("008", 65, 66), "8Q", "subclass", "stalking"),
    (
        codes("008", 67),
        "8L",
        "nearest",
        "controlling or coercive behaviour: no CSS weight; harassment",
    ),
    (codes("008", 72), "8R", "subclass", "threatening letters and communications"),
    (
        codes("008", 71),
        "8R",
        "nearest",
        "disclosing private sexual images: malicious communications",
    ),
    (
        codes("008", 33, 34, 40, 41, 46, 47, 59, 60, 78),
        "8P",
        "subclass",
        "racially or religiously aggravated assault with injury",
    ),
    (
        codes("008", 35, 42, 48, 57),
        "105B",
        "subclass",
        "racially or religiously aggravated assault without injury",
    ),
    (
        codes("008", 36, 43, 49, 55),
        "9B",
        "subclass",
        "racially or religiously aggravated public fear, alarm or distress",
    ),
    (
        codes("008", 37, 38, 44, 45, 50, 51, 56, 58),
        "8M",
        "subclass",
        "racially or religiously aggravated harassment or stalking",
    ),
    (
        codes("008", 21, 22, 52, 77),
        "8N",
        "nearest",
        "dog attacks, FGM, strangulation: no CSS weight; assault with injury",
    ),
    (codes("008", 32, 79), None, "unmapped", "breach of a civil order (ASBO, SVRO): no CSS weight"),
    # Historic sexual offences.
    (
        codes("016", 2),
        "19F",
        "nearest",
        "buggery of a male without consent: rape of a male aged 16 or over",
    ),
    (
        codes("016", 11),
        "17A",
        "nearest",
        "assault with intent to commit buggery: sexual assault on a male",
    ),
    (codes("016", 5, 6), "70", "nearest", "offences against mentally disordered patients"),
    (
        codes("016", 12, 17, 23, 24, 25, 26, 27, 28),
        "22B",
        "nearest",
        "buggery involving a child under 16: sexual activity involving a child under 16",
    ),
    (
        codes("018", 7, 8, 10, 11),
        "22B",
        "nearest",
        "indecency involving a child under 16: sexual activity involving a child under 16",
    ),
    (codes("017", 14, 16), "17B", "subclass", "sexual assault on a male child under 13"),
    (codes("019", 8, 12), "19C", "subclass", "rape of a female aged 16 or over"),
    (codes("019", 7, 11), "19D", "subclass", "rape of a female child under 16"),
    (codes("019", 16, 18), "19E", "subclass", "rape of a female child under 13"),
    (codes("019", 10, 14), "19F", "subclass", "rape of a male aged 16 or over"),
    (codes("019", 9, 13), "19G", "subclass", "rape of a male child under 16"),
    (codes("019", 17, 19), "19H", "subclass", "rape of a male child under 13"),
    (
        codes("019", 2, 3, 4),
        "70",
        "nearest",
        "historic offences against a mentally disordered "
        "female: sexual activity with a person with a "
        "mental disorder",
    ),
    (codes("020", 4, 6), "20B", "subclass", "sexual assault on a female child under 13"),
    (span(("022", 2, 5)), "22A", "subclass", "causing sexual activity without consent"),
    (codes("025", 3, 4), "13", "nearest", "abduction of a girl under 16 or 18: child abduction"),
    # Kidnapping and modern slavery.
    (
        codes("036", 8, 11),
        "106",
        "subclass",
        "travel or kidnapping with a view to exploitation (Modern Slavery Act 2015)",
    ),
    (
        codes("036", 12),
        None,
        "unmapped",
        "breach of a slavery and trafficking order: no CSS weight",
    ),
    (codes("037", 1), "37.1", "subclass", "aggravated vehicle taking causing death"),
    # Offences in the fraud classes that the CSS does weight.
    (
        codes("053", 43, 44),
        "33A",
        "subclass",
        "making, supplying or possessing articles for use in fraud",
    ),
    (codes("053", 25), "49A", "subclass", "making off without payment"),
    (
        codes("053", 26, 27, 28),
        "38",
        "subclass",
        "proceeds of criminal conduct (CJA 1988): money laundering",
    ),
    (codes("056", 1), "56A", "subclass", "arson endangering life"),
    (codes("057", 2), "58J", "subclass", "racially aggravated criminal damage"),
    (span(("058", 1, 4)), "58J", "subclass", "racially or religiously aggravated criminal damage"),
    (codes("061", 34, 35, 36, 38, 39, 40, 41), "61A", "subclass", "false identity documents"),
    (
        codes("066", 9, 10, 16, 91),
        "9B",
        "subclass",
        "racially or religiously aggravated fear or provocation of violence",
    ),
    (
        codes("066", 38, 39),
        "8L",
        "subclass",
        "breach of restraining or non-molestation orders: harassment",
    ),
    (
        codes("068", 1),
        "99",
        "nearest",
        "participating in an organised crime group: other indictable offences",
    ),
    (
        codes("073", 3, 4, 5, 6),
        "66",
        "nearest",
        "sex offender notification offences: other offences against the State (as 066/17-18)",
    ),
    (
        codes("077", 52, 61, 62, 63, 64),
        "92C",
        "subclass",
        "precursor regulation offences: other drug offences",
    ),
    (
        codes("081", 3, 4, 17, 26, 27, 29, 30, 35, 36, 37, 70, 71, 72, 77),
        "10B",
        "subclass",
        "possession, carrying or trespassing with firearms or prohibited weapons",
    ),
    (codes("088", 1, 2), "88A", "subclass", "sexual grooming"),
    (codes("088", 9, 10, 12, 14), "88E", "subclass", "exposure and voyeurism"),
    (codes("088", 3, 4, 11), "88D", "subclass", "unnatural sexual offences"),
    (codes("088", 15), "8R", "nearest", "sharing intimate images: malicious communications"),
    (codes("088", 90), "8L", "nearest", "harassment of a tenant: harassment"),
    # Drugs: trafficking (class rule 92A) against possession and other drug offences.
    (codes("092", 61, 66), "92E", "subclass", "possession of cannabis"),
    (
        span(("092", 50, 60), ("092", 62, 65), ("092", 67, 69)),
        "92D",
        "subclass",
        "possession of controlled drugs (excluding cannabis)",
    ),
    (codes("092", 0), "92C", "subclass", "catch-all: type of drug offence not known"),
    (
        span(("093", 55, 66), ("093", 73, 78), ("093", 85, 86), ("093", 88, 88), ("093", 92, 92)),
        "92A",
        "subclass",
        "production, supply or possession with intent to supply",
    ),
    (codes("093", 67, 69, 70, 71, 72, 91), "92D", "subclass", "possession of controlled drugs"),
    (span(("093", 49, 54)), "38", "subclass", "drug money laundering: proceeds of crime"),
    (codes("099", 25, 26), "106", "subclass", "slavery, servitude, forced labour"),
    (
        codes("104", 31, 33, 35, 37, 38),
        None,
        "unmapped",
        "resisting or obstructing (not an assault): no CSS weight",
    ),
    (
        codes("105", 5, 7, 9, 11, 15, 17),
        None,
        "unmapped",
        "resisting or obstructing (not an assault): no CSS weight",
    ),
    (
        codes("125", 9, 11, 12),
        "9A",
        "subclass",
        "public fear, alarm or distress (Public Order Act 1986 ss.4, 4A, 5)",
    ),
    (
        codes("130", 2),
        "49",
        "nearest",
        "taking a conveyance other than a motor vehicle: other theft",
    ),
    (
        codes("193", 1, 2, 4, 5, 7, 16, 18, 19, 20),
        "92A",
        "subclass",
        "production, supply, cultivation, importation (classless codes): trafficking",
    ),
    (codes("193", 3), "92D", "subclass", "possession of a controlled drug"),
]


def build_mapping(
    ho_rows: list[dict[str, str]], ons_rows: list[dict[str, str]]
) -> list[dict[str, str]]:
    """One mapping row per HO code, from the subclass rules, then the class rules."""
    ons = {row["po_offence_code"]: row["offence"] for row in ons_rows}
    ho = {row["ho_code"]: row for row in ho_rows}
    assigned: dict[str, tuple[str | None, str, str]] = {}
    for rule_codes, po, method, reason in SUBCLASS_RULES:
        if method not in METHODS or method == "class":
            raise ValueError(f"subclass rule {rule_codes}: method {method!r}")
        if po is not None and po not in ons:
            raise ValueError(f"subclass rule {rule_codes}: unknown PRC code {po!r}")
        if (po is None) != (method == "unmapped"):
            raise ValueError(f"subclass rule {rule_codes}: PRC code and method disagree")
        present = [c for c in rule_codes if c in ho]
        missing = [c for c in rule_codes if c not in ho]
        if not present or (missing and not isinstance(rule_codes, Span)):
            raise ValueError(f"subclass rule names codes not in the HO table: {missing}")
        for code in present:
            if code in assigned:
                raise ValueError(f"{code} is claimed by two subclass rules")
            assigned[code] = (po, method, reason)
    for ho_class, (po, method, _reason) in CLASS_RULES.items():
        if method not in METHODS:
            raise ValueError(f"class rule {ho_class}: method {method!r}")
        if po is not None and po not in ons:
            raise ValueError(f"class rule {ho_class}: unknown PRC code {po!r}")
        if (po is None) != (method == "unmapped"):
            raise ValueError(f"class rule {ho_class}: PRC code and method disagree")
    split_classes = {code.split("/")[0] for code in assigned}
    rows = []
    for code in sorted(ho):
        ho_class = code.split("/")[0]
        if code in assigned:
            po, method, reason = assigned[code]
        elif ho_class in CLASS_RULES:
            po, method, reason = CLASS_RULES[ho_class]
            if method == "class" and ho_class in split_classes:
                method = "subclass"
        else:
            po, method, reason = None, "unmapped", UNMAPPED_DEFAULT
        rows.append(
            {
                "ho_code": code,
                "ho_class": ho_class,
                "description": ho[code]["subclass_description"],
                "po_offence_code": po or "",
                "ons_offence": ons.get(po, "") if po else "",
                "method": method,
                "rationale": reason,
            }
        )
    return rows


def summarise(rows: list[dict[str, str]]) -> list[str]:
    counts = {m: sum(r["method"] == m for r in rows) for m in METHODS}
    mapped_po = {r["po_offence_code"] for r in rows if r["po_offence_code"]}
    return (
        [f"HO codes: {len(rows)}"]
        + [f"  {m:9} {counts[m]:5d}" for m in METHODS]
        + [f"PRC codes used: {len(mapped_po)}"]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE,
                        help=f"directory holding {ONS_FILE} (default: %(default)s)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output directory (default: %(default)s)")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="print only the output hashes")
    args = parser.parse_args(argv)

    ons_source = args.reference / ONS_FILE
    ons_rows = read_csv(ons_source)
    po_codes = [row["po_offence_code"] for row in ons_rows]
    if len(set(po_codes)) != len(po_codes):
        raise ValueError(f"{ons_source}: duplicate po_offence_code")
    mapping = build_mapping(read_csv(HO_TABLE), ons_rows)

    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ons_source, args.out / ONS_FILE)
    ons_hash = hashlib.sha256((args.out / ONS_FILE).read_bytes()).hexdigest()
    mapping_hash = write_csv(args.out / MAPPING_FILE, MAPPING_COLUMNS, mapping)
    if not args.quiet:
        for line in summarise(mapping):
            print(line)
    print(f"sha256 {ons_hash}  {args.out / ONS_FILE}")
    print(f"sha256 {mapping_hash}  {args.out / MAPPING_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
