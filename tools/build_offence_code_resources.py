"""Build the offence-code resource tables committed under resources/offence_codes/.

Run by hand from the repository root when the reference tables or the curated
tables below change:

    python tools/build_offence_code_resources.py --reference ../shared/reference

Inputs (read from --reference):
    ho_offence_codes.csv  3,039 Home Office offence codes (NNN/NN) with descriptions, the
                          old MoJ offence group and an actuarial category.
    soc_codes_draft.csv   a draft grouping of HO codes into SOC families (checked, not trusted).

Outputs (written to --out, default resources/offence_codes/):
    ho_offence_codes.csv  every HO code, cleaned descriptions, the current 13 MoJ offence groups.
    soc_offence_codes.csv the SOC inclusion list (criterion 1 of the SOC proxy).

The SOC list itself is the curated data in this file (FAMILIES); the draft is only
compared against it, and every draft code must be either kept or listed in
DRAFT_REMOVALS with a reason. The workflow never reads the reference directory; it
reads the committed outputs. The build is deterministic: same inputs, same bytes.

Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = REPO_ROOT.parent / "shared" / "reference"
DEFAULT_OUT = REPO_ROOT / "resources" / "offence_codes"

HO_SOURCE = "ho_offence_codes.csv"
DRAFT_SOURCE = "soc_codes_draft.csv"
HO_OUTPUT = "ho_offence_codes.csv"
SOC_OUTPUT = "soc_offence_codes.csv"

HO_COLUMNS = (
    "ho_code",
    "ho_class",
    "ho_subclass",
    "class_description",
    "subclass_description",
    "offence_group",
    "offence_group_source",
    "actuarial_category",
)
SOC_COLUMNS = (
    "ho_code",
    "description",
    "soc_category",
    "tier",
    "max_custody",
    "statute",
    "rationale",
)

# The 13 offence groups of current MoJ Criminal Justice Statistics.
VAP = "Violence against the person"
SEXUAL = "Sexual offences"
ROBBERY = "Robbery"
THEFT = "Theft offences"
DAMAGE = "Criminal damage and arson"
DRUGS = "Drug offences"
WEAPONS = "Possession of weapons"
PUBLIC_ORDER = "Public order offences"
MISC = "Miscellaneous crimes against society"
FRAUD = "Fraud offences"
SUMMARY_NON_MOTORING = "Summary non-motoring"
SUMMARY_MOTORING = "Summary motoring"
NOT_KNOWN = "Not known"
OFFENCE_GROUPS = (
    VAP,
    SEXUAL,
    ROBBERY,
    THEFT,
    DAMAGE,
    DRUGS,
    WEAPONS,
    PUBLIC_ORDER,
    MISC,
    FRAUD,
    SUMMARY_NON_MOTORING,
    SUMMARY_MOTORING,
    NOT_KNOWN,
)

LIKELY = "likely"
POSSIBLE = "possible"
TIERS = (LIKELY, POSSIBLE)

# SOC categories. Drug money laundering is kept apart from money laundering because the HO
# codes themselves separate it (class 093 vs 038/053) and drugs dominate SOC selections.
C_DRUG_IMPORT = "drug importation/exportation"
C_DRUG_SUPPLY = "drug supply"
C_DRUG_PRODUCTION = "drug production"
C_DRUG_ML = "drug money laundering"
C_FIREARMS = "firearms supply"
C_OIC = "organised immigration crime"
C_TRAFFICKING = "human trafficking and slavery"
C_ML = "money laundering"
C_FRAUD = "fraud and economic crime"
C_COUNTERFEIT = "counterfeiting and false documents"
C_ACQUISITIVE = "organised acquisitive crime"
C_BRIBERY = "bribery and corruption"
C_KIDNAP = "kidnap, blackmail and extortion"
C_COMPUTER = "computer misuse"
C_OCG = "organised crime group participation"
SOC_CATEGORIES = (
    C_DRUG_IMPORT,
    C_DRUG_SUPPLY,
    C_DRUG_PRODUCTION,
    C_DRUG_ML,
    C_FIREARMS,
    C_OIC,
    C_TRAFFICKING,
    C_ML,
    C_FRAUD,
    C_COUNTERFEIT,
    C_ACQUISITIVE,
    C_BRIBERY,
    C_KIDNAP,
    C_COMPUTER,
    C_OCG,
)

LIFE = "life"

# ---------------------------------------------------------------------------------------------
# Curated SOC inclusion list.
#
# Each row: (ho_code, tier, max_custody, statute, rationale).
# max_custody is the statutory maximum custodial term on indictment for an adult, in whole
# years or "life", as in force over 2013-2020. Where a maximum rose during the period the
# higher figure is given (see the README table). Where the HO code does not record the drug
# class, the lowest maximum across the classes is given (14 years, classes B and C).
# Tier: "likely" where the offence itself implies organisation or trafficking; "possible"
# where it has common non-organised uses (the other two SOC criteria then do the work).
# ---------------------------------------------------------------------------------------------

Row = tuple[str, str, str, str, str]

# --- Drug importation / exportation ----------------------------------------------------------
# Every MDA import/export subclass in the HO table (classes A, B, C, "other class" and
# temporary class drugs), plus MDA s.20 (assisting drug offences abroad). The CJ(IC)A 1990
# s.19 ship offences (077/53-60) and the classless 193/xx codes are not listed: see README.
S_CEMA_DRUGS = "Customs and Excise Management Act 1979 s.170(2); Misuse of Drugs Act 1971 s.3"
S_CEMA_TCD = "Customs and Excise Management Act 1979 s.170(2); Misuse of Drugs Act 1971 s.2A"
R_IMPORT = "Cross-border drug trafficking needs suppliers, couriers, transport and finance."
R_EXPORT = "Moving controlled drugs out of the UK is part of an international supply chain."
R_TCD_IMPORT = "Importing new psychoactive drugs under a temporary class order for resale."
R_ABROAD = "Assisting or inducing drug offences abroad: international trafficking networks."
DRUG_IMPORT_ROWS: tuple[Row, ...] = (
    ("092/01", LIKELY, "14", S_CEMA_DRUGS, R_IMPORT),
    ("092/02", LIKELY, "14", S_CEMA_DRUGS, R_EXPORT),
    ("092/03", LIKELY, LIFE, S_CEMA_DRUGS, R_IMPORT),
    ("092/04", LIKELY, "14", S_CEMA_DRUGS, R_IMPORT),
    ("092/05", LIKELY, "14", S_CEMA_DRUGS, R_IMPORT),
    ("092/06", LIKELY, LIFE, S_CEMA_DRUGS, R_EXPORT),
    ("092/07", LIKELY, "14", S_CEMA_DRUGS, R_EXPORT),
    ("092/08", LIKELY, "14", S_CEMA_DRUGS, R_EXPORT),
    ("092/37", LIKELY, "14", S_CEMA_TCD, R_TCD_IMPORT),
    ("092/38", LIKELY, "14", S_CEMA_TCD, R_TCD_IMPORT),
    ("193/16", LIKELY, "14", "Misuse of Drugs Act 1971 s.20", R_ABROAD),
)

# --- Drug production -------------------------------------------------------------------------
# Every production subclass in the HO table, plus CJ(IC)A 1990 s.12 precursor offences.
# Cannabis production (which includes cultivation) is "possible": small personal grows are
# common, unlike commercial farms.
S_PRODUCTION = "Misuse of Drugs Act 1971 s.4(2)"
S_CANNABIS = "Misuse of Drugs Act 1971 s.4(2), s.6(2)"
S_PRECURSOR = "Criminal Justice (International Co-operation) Act 1990 s.12"
R_PRODUCTION = "Manufacturing controlled drugs needs premises, precursors and a supply outlet."
R_CANNABIS = "Commercial cannabis farms are run by crime groups; small personal grows are not."
R_TCD_PRODUCTION = "Producing temporary-class psychoactive drugs for the retail market."
R_PRECURSOR = "Making or diverting precursor chemicals supplies illicit drug laboratories."
DRUG_PRODUCTION_ROWS: tuple[Row, ...] = (
    ("077/50", LIKELY, "14", S_PRECURSOR, R_PRECURSOR),
    ("077/51", LIKELY, "14", S_PRECURSOR, R_PRECURSOR),
    ("092/10", LIKELY, LIFE, S_PRODUCTION, R_PRODUCTION),
    ("092/11", LIKELY, LIFE, S_PRODUCTION, R_PRODUCTION),
    ("092/12", LIKELY, LIFE, S_PRODUCTION, R_PRODUCTION),
    ("092/13", LIKELY, LIFE, S_PRODUCTION, R_PRODUCTION),
    ("092/14", LIKELY, LIFE, S_PRODUCTION, R_PRODUCTION),
    ("092/15", LIKELY, LIFE, S_PRODUCTION, R_PRODUCTION),
    ("092/19", LIKELY, LIFE, S_PRODUCTION, R_PRODUCTION),
    ("092/20", LIKELY, "14", S_PRODUCTION, R_PRODUCTION),
    ("092/21", POSSIBLE, "14", S_CANNABIS, R_CANNABIS),
    ("092/22", LIKELY, "14", S_PRODUCTION, R_PRODUCTION),
    ("092/23", LIKELY, "14", S_PRODUCTION, R_PRODUCTION),
    ("092/25", LIKELY, "14", S_PRODUCTION, R_PRODUCTION),
    ("092/26", POSSIBLE, "14", S_CANNABIS, R_CANNABIS),
    ("092/27", LIKELY, "14", S_PRODUCTION, R_PRODUCTION),
    ("092/28", LIKELY, "14", S_PRODUCTION, R_PRODUCTION),
    ("092/29", LIKELY, "14", S_PRODUCTION, R_PRODUCTION),
    ("093/55", LIKELY, LIFE, S_PRODUCTION, R_PRODUCTION),
    ("093/57", LIKELY, "14", S_PRODUCTION, R_PRODUCTION),
    ("093/58", LIKELY, "14", S_PRODUCTION, R_PRODUCTION),
    ("093/59", LIKELY, "14", S_PRODUCTION, R_PRODUCTION),
    ("093/60", LIKELY, "14", S_PRODUCTION, R_PRODUCTION),
    ("093/85", LIKELY, "14", S_PRODUCTION, R_TCD_PRODUCTION),
)

# --- Drug supply -------------------------------------------------------------------------------
# Every supply / offer / concerned-in-supply subclass (likely: being concerned in supply is
# the charge for members of distribution networks), every incitement-to-supply subclass
# (likely), and every possession-with-intent-to-supply subclass (possible: lone street-level
# user-dealers are common). Also Psychoactive Substances Act 2016 offences and conveying List A
# articles (chiefly drugs) into prison.
S_SUPPLY = "Misuse of Drugs Act 1971 s.4(3)"
S_PWITS = "Misuse of Drugs Act 1971 s.5(3)"
S_INCITE = "Misuse of Drugs Act 1971 s.19; Serious Crime Act 2007 ss.44-46"
R_SUPPLY = "Supplying or being concerned in supply is the retail end of a distribution chain."
R_PWITS = "Holding drugs for onward sale; also common among lone user-dealers."
R_INCITE = "Recruiting or directing others to supply drugs, as in county-lines networks."
R_TCD_SUPPLY = "Supplying temporary-class psychoactive drugs for the retail market."
R_PSA = "Producing, importing or supplying new psychoactive substances for retail sale."
R_PRISON = "Smuggling drugs and other List A articles into prison is organised by crime groups."
DRUG_SUPPLY_ROWS: tuple[Row, ...] = (
    ("069/02", POSSIBLE, "10", "Prison Act 1952 s.40B", R_PRISON),
    ("092/30", LIKELY, LIFE, S_SUPPLY, R_SUPPLY),
    ("092/31", LIKELY, LIFE, S_SUPPLY, R_SUPPLY),
    ("092/32", LIKELY, LIFE, S_SUPPLY, R_SUPPLY),
    ("092/33", LIKELY, LIFE, S_SUPPLY, R_SUPPLY),
    ("092/34", LIKELY, LIFE, S_SUPPLY, R_SUPPLY),
    ("092/35", LIKELY, LIFE, S_SUPPLY, R_SUPPLY),
    ("092/39", LIKELY, LIFE, S_SUPPLY, R_SUPPLY),
    ("092/40", LIKELY, "14", S_SUPPLY, R_SUPPLY),
    ("092/41", LIKELY, "14", S_SUPPLY, R_SUPPLY),
    ("092/42", LIKELY, "14", S_SUPPLY, R_SUPPLY),
    ("092/43", LIKELY, "14", S_SUPPLY, R_SUPPLY),
    ("092/45", LIKELY, "14", S_SUPPLY, R_SUPPLY),
    ("092/46", LIKELY, "14", S_SUPPLY, R_SUPPLY),
    ("092/47", LIKELY, "14", S_SUPPLY, R_SUPPLY),
    ("092/48", LIKELY, "14", S_SUPPLY, R_SUPPLY),
    ("092/49", LIKELY, "14", S_SUPPLY, R_SUPPLY),
    ("092/70", POSSIBLE, LIFE, S_PWITS, R_PWITS),
    ("092/71", POSSIBLE, LIFE, S_PWITS, R_PWITS),
    ("092/72", POSSIBLE, LIFE, S_PWITS, R_PWITS),
    ("092/73", POSSIBLE, LIFE, S_PWITS, R_PWITS),
    ("092/74", POSSIBLE, LIFE, S_PWITS, R_PWITS),
    ("092/75", POSSIBLE, LIFE, S_PWITS, R_PWITS),
    ("092/79", POSSIBLE, LIFE, S_PWITS, R_PWITS),
    ("092/80", POSSIBLE, "14", S_PWITS, R_PWITS),
    ("092/81", POSSIBLE, "14", S_PWITS, R_PWITS),
    ("092/82", POSSIBLE, "14", S_PWITS, R_PWITS),
    ("092/83", POSSIBLE, "14", S_PWITS, R_PWITS),
    ("092/85", POSSIBLE, "14", S_PWITS, R_PWITS),
    ("092/86", POSSIBLE, "14", S_PWITS, R_PWITS),
    ("092/87", POSSIBLE, "14", S_PWITS, R_PWITS),
    ("092/88", POSSIBLE, "14", S_PWITS, R_PWITS),
    ("092/89", POSSIBLE, "14", S_PWITS, R_PWITS),
    ("092/90", LIKELY, LIFE, S_INCITE, R_INCITE),
    ("092/91", LIKELY, "14", S_INCITE, R_INCITE),
    ("092/92", LIKELY, "14", S_INCITE, R_INCITE),
    ("092/93", LIKELY, "14", S_INCITE, R_INCITE),
    ("093/61", LIKELY, LIFE, S_SUPPLY, R_SUPPLY),
    ("093/63", LIKELY, "14", S_SUPPLY, R_SUPPLY),
    ("093/64", LIKELY, "14", S_SUPPLY, R_SUPPLY),
    ("093/65", LIKELY, "14", S_SUPPLY, R_SUPPLY),
    ("093/66", LIKELY, "14", S_SUPPLY, R_SUPPLY),
    ("093/73", POSSIBLE, LIFE, S_PWITS, R_PWITS),
    ("093/75", POSSIBLE, "14", S_PWITS, R_PWITS),
    ("093/76", POSSIBLE, "14", S_PWITS, R_PWITS),
    ("093/77", POSSIBLE, "14", S_PWITS, R_PWITS),
    ("093/78", POSSIBLE, "14", S_PWITS, R_PWITS),
    ("093/86", LIKELY, "14", S_SUPPLY, R_TCD_SUPPLY),
    ("093/88", POSSIBLE, "14", S_PWITS, R_TCD_SUPPLY),
    ("999/06", POSSIBLE, "7", "Psychoactive Substances Act 2016 ss.4-9", R_PSA),
)

# --- Drug money laundering -------------------------------------------------------------------
# Drug Trafficking Act 1994 laundering offences (replaced by POCA 2002 for conduct after
# 24 February 2003). Acquisition/possession/use is "possible": often a trafficker's own gains.
# The DTA failure-to-disclose and tipping-off codes (093/52-54) are removed; see DRAFT_REMOVALS.
R_DRUG_ML = "Laundering drug-trafficking proceeds moves money for a trafficking enterprise."
R_DRUG_ML_OWN = "Acquiring or using drug-trafficking proceeds; often an offender's own gains."
DRUG_ML_ROWS: tuple[Row, ...] = (
    ("093/49", LIKELY, "14", "Drug Trafficking Act 1994 s.49", R_DRUG_ML),
    ("093/50", LIKELY, "14", "Drug Trafficking Act 1994 s.50", R_DRUG_ML),
    ("093/51", POSSIBLE, "14", "Drug Trafficking Act 1994 s.51", R_DRUG_ML_OWN),
)

# --- Firearms supply -------------------------------------------------------------------------
# Dealing, selling, converting, supplying to prohibited persons, importing/exporting and the
# s.5(2A) sale/transfer offences (life from 14 July 2014, Anti-social Behaviour, Crime and
# Policing Act 2014 s.108; CEMA prohibited-weapon importation raised from 10 years to life by
# s.109). Possession-type prohibited-weapon codes are "possible".
S_CEMA_FA_IN = "Customs and Excise Management Act 1979 s.50(3), s.170(2)"
S_CEMA_FA_OUT = "Customs and Excise Management Act 1979 s.68(2), s.170(2)"
S_CEMA_FA_EVADE = "Customs and Excise Management Act 1979 s.170(2)"
R_DEALER = "Trading in firearms without registration supplies the illegal market."
R_SELL = "Selling firearms to unlicensed buyers diverts guns into criminal hands."
R_CONVERT = "Converting imitation or blank-firing guns is a main source of criminal firearms."
R_PROHIBITED = "Prohibited firearms are the crime-group weapon of choice; includes possession."
R_DISGUISED = "Disguised firearms (e.g. stun guns as torches or phones); mostly possession."
R_DENIED = "Supplying firearms to persons with convictions arms criminals."
R_ARMS_SMUGGLING = "Smuggling prohibited firearms or ammunition across the border."
R_ARMS_CONTROLS = "Deliberate evasion of export and arms-brokering controls."
R_SALE_TRANSFER = "Selling, transferring or acquiring prohibited firearms for sale is gun supply."
FIREARMS_ROWS: tuple[Row, ...] = (
    ("081/07", LIKELY, "5", "Firearms Act 1968 s.3(1)", R_DEALER),
    ("081/08", LIKELY, "5", "Firearms Act 1968 s.3(1)", R_DEALER),
    ("081/09", LIKELY, "5", "Firearms Act 1968 s.3(2)", R_SELL),
    ("081/10", LIKELY, "5", "Firearms Act 1968 s.3(2)", R_SELL),
    ("081/16", LIKELY, "7", "Firearms Act 1968 s.4(3)", R_CONVERT),
    ("081/17", POSSIBLE, "10", "Firearms Act 1968 s.5(1)", R_PROHIBITED),
    ("081/38", LIKELY, "5", "Firearms Act 1968 s.21(5)", R_DENIED),
    ("081/39", LIKELY, "5", "Firearms Act 1968 s.21(5)", R_DENIED),
    ("081/40", LIKELY, "5", "Firearms Act 1968 s.21(5)", R_DENIED),
    ("081/71", POSSIBLE, "10", "Firearms Act 1968 s.5(1A)(a)", R_DISGUISED),
    ("081/73", LIKELY, LIFE, S_CEMA_FA_IN, R_ARMS_SMUGGLING),
    ("081/74", LIKELY, LIFE, S_CEMA_FA_OUT, R_ARMS_SMUGGLING),
    ("081/78", LIKELY, "10", "Export Control Order 2008 art.34(5)", R_ARMS_CONTROLS),
    ("081/81", LIKELY, LIFE, S_CEMA_FA_IN, R_ARMS_SMUGGLING),
    ("081/84", LIKELY, LIFE, S_CEMA_FA_EVADE, R_ARMS_SMUGGLING),
    ("081/86", LIKELY, LIFE, "Firearms Act 1968 s.5(2A)(b)", R_SALE_TRANSFER),
    ("081/87", LIKELY, LIFE, "Firearms Act 1968 s.5(2A)(c)", R_SALE_TRANSFER),
    ("081/88", LIKELY, LIFE, "Firearms Act 1968 s.5(2A)(d)", R_SALE_TRANSFER),
    ("082/03", LIKELY, LIFE, S_CEMA_FA_EVADE, R_ARMS_SMUGGLING),
)

# --- Organised immigration crime -------------------------------------------------------------
# Facilitation offences under Immigration Act 1971 ss.25-25B: 14 years throughout 2013-2020
# (raised to life only by the Nationality and Borders Act 2022). 194/10 is the same offence
# under the summary-class code.
R_SMUGGLING = "Facilitating unlawful entry is people smuggling, run for profit by networks."
R_ASYLUM = "Bringing asylum seekers into the UK for gain is people smuggling."
R_DEPORTEE = "Helping deported or excluded persons re-enter the UK is people smuggling."
OIC_ROWS: tuple[Row, ...] = (
    ("078/01", LIKELY, "14", "Immigration Act 1971 s.25", R_SMUGGLING),
    ("078/10", LIKELY, "14", "Immigration Act 1971 s.25", R_SMUGGLING),
    ("078/11", LIKELY, "14", "Immigration Act 1971 s.25A", R_ASYLUM),
    ("078/12", LIKELY, "14", "Immigration Act 1971 s.25B", R_DEPORTEE),
    ("078/29", LIKELY, "14", "Immigration Act 1971 s.25", R_SMUGGLING),
    ("194/10", LIKELY, "14", "Immigration Act 1971 s.25", R_SMUGGLING),
)

# --- Human trafficking and slavery -----------------------------------------------------------
# Trafficking under the Sexual Offences Act 2003, the 2002 and 2004 Acts and the Modern
# Slavery Act 2015; slavery, servitude and forced labour; breach of slavery and trafficking
# prevention orders; unlicensed gangmasters. 078/13 is moved here from the draft's
# immigration family: it is trafficking for prostitution. 072/00 (class catch-all) is
# included because the whole class is trafficking.
S_SLAVERY = "Coroners and Justice Act 2009 s.71; Modern Slavery Act 2015 s.1"
S_AITC = "Asylum and Immigration (Treatment of Claimants, etc.) Act 2004 s.4"
S_SOA_TRAFFICKING = "Sexual Offences Act 2003 ss.57-59A"
S_NIAA_145 = "Nationality, Immigration and Asylum Act 2002 s.145"
R_SEX_TRAFFICKING = "Trafficking people for sexual exploitation: recruitment, transport, control."
R_TRAFFICKING = "Trafficking people for exploitation needs recruitment, transport and control."
R_SLAVERY = "Holding people in servitude or forced labour, typically for a criminal business."
R_KIDNAP_TRAFFIC = "Kidnap or false imprisonment committed to traffic the victim."
R_STPO = "Breach of an order made against a person found to pose a trafficking risk."
R_GANGMASTER = "Unlicensed gangmasters are a channel for labour exploitation and trafficking."
TRAFFICKING_ROWS: tuple[Row, ...] = (
    ("036/08", LIKELY, LIFE, "Modern Slavery Act 2015 s.2", R_TRAFFICKING),
    ("036/11", LIKELY, LIFE, "Modern Slavery Act 2015 s.4", R_KIDNAP_TRAFFIC),
    ("036/12", POSSIBLE, "5", "Modern Slavery Act 2015 s.30", R_STPO),
    ("072/00", LIKELY, "14", S_SOA_TRAFFICKING, R_SEX_TRAFFICKING),
    ("072/01", LIKELY, "14", "Sexual Offences Act 2003 s.57", R_SEX_TRAFFICKING),
    ("072/02", LIKELY, "14", "Sexual Offences Act 2003 s.58", R_SEX_TRAFFICKING),
    ("072/03", LIKELY, "14", "Sexual Offences Act 2003 s.59", R_SEX_TRAFFICKING),
    ("072/04", LIKELY, "14", "Sexual Offences Act 2003 s.59A", R_SEX_TRAFFICKING),
    ("072/05", LIKELY, "14", "Sexual Offences Act 2003 s.59A", R_SEX_TRAFFICKING),
    ("072/06", LIKELY, "14", "Sexual Offences Act 2003 s.59A", R_SEX_TRAFFICKING),
    ("078/13", LIKELY, "14", S_NIAA_145, R_SEX_TRAFFICKING),
    ("078/19", LIKELY, "14", S_AITC, R_TRAFFICKING),
    ("078/20", LIKELY, "14", S_AITC, R_TRAFFICKING),
    ("078/21", LIKELY, "14", S_AITC, R_TRAFFICKING),
    ("099/25", LIKELY, LIFE, S_SLAVERY, R_SLAVERY),
    ("099/26", LIKELY, LIFE, S_SLAVERY, R_SLAVERY),
    ("099/98", POSSIBLE, "10", "Gangmasters (Licensing) Act 2004 s.12(1)", R_GANGMASTER),
)

# --- Money laundering ------------------------------------------------------------------------
# POCA 2002 Part 7 principal, failure-to-disclose and tipping-off offences, and the Criminal
# Justice Act 1988 predecessors. Acquisition/possession/use is "possible": it is routinely
# charged against an offender holding their own criminal cash. The class 038 catch-all is
# included because the class is laundering only, at the lowest tier of its class. Left out:
# 038/08 (nominated officer consent) and 038/09 (Money Laundering Regulations 2007), which
# are compliance failures rather than laundering.
S_POCA_DISCLOSE = "Proceeds of Crime Act 2002 ss.330-332"
R_LAUNDERING = "Concealing or transferring criminal property launders a crime group's profits."
R_ARRANGEMENT = "Arrangements to launder another's criminal property: professional laundering."
R_OWN_PROCEEDS = "Acquiring or possessing criminal property; often an offender's own proceeds."
R_ML_GENERIC = "Money laundering offence of unrecorded type; class 038 is laundering only."
R_DISCLOSE = "Regulated-sector failure to report laundering: the professional-enabler route."
R_TIPPING = "Tipping off or prejudicing an investigation shields a laundering operation."
ML_ROWS: tuple[Row, ...] = (
    ("038/00", POSSIBLE, "14", "Proceeds of Crime Act 2002 ss.327-329", R_ML_GENERIC),
    ("038/01", LIKELY, "14", "Proceeds of Crime Act 2002 s.327", R_LAUNDERING),
    ("038/02", LIKELY, "14", "Proceeds of Crime Act 2002 s.328", R_ARRANGEMENT),
    ("038/03", POSSIBLE, "14", "Proceeds of Crime Act 2002 s.329", R_OWN_PROCEEDS),
    ("038/04", POSSIBLE, "5", "Proceeds of Crime Act 2002 s.330", R_DISCLOSE),
    ("038/05", POSSIBLE, "5", "Proceeds of Crime Act 2002 s.331", R_DISCLOSE),
    ("038/06", POSSIBLE, "5", S_POCA_DISCLOSE, R_DISCLOSE),
    ("038/07", POSSIBLE, "5", "Proceeds of Crime Act 2002 s.333A, s.342", R_TIPPING),
    ("053/26", LIKELY, "14", "Criminal Justice Act 1988 s.93A", R_ARRANGEMENT),
    ("053/27", POSSIBLE, "14", "Criminal Justice Act 1988 s.93B", R_OWN_PROCEEDS),
    ("053/28", LIKELY, "14", "Criminal Justice Act 1988 s.93C", R_LAUNDERING),
)

# --- Fraud and economic crime ----------------------------------------------------------------
# Conspiracy to defraud (likely: an agreement of two or more by definition), the Fraud Act
# 2006 offences ss.1-7, false accounting, fraudulent trading, cheating the revenue and
# customs / excise evasion (CEMA s.170, incl. cash and tobacco smuggling). Single-victim
# frauds are common, so most are "possible"; making or supplying articles for fraud is
# "likely". Left out: Fraud Act s.9 (053/45) and s.11 (053/46), and the pre-2007 deception
# offences, which are seldom the charge in organised cases in 2013-2020.
S_CEMA_170 = "Customs and Excise Management Act 1979 s.170(2)"
R_CONSPIRACY = "An agreement of two or more to defraud; the usual charge for organised fraud."
R_FRAUD = "Organised frauds (boiler rooms, mandate fraud) use it; so do lone fraudsters."
R_ARTICLES = "Holding skimmers, phishing kits or false identities for use in fraud."
R_MAKE_ARTICLES = "Making or supplying fraud tools serves a wider fraud market."
R_FALSE_ACCOUNTING = "False accounting conceals fraud and laundering within businesses."
R_FRAUDULENT_TRADING = "Fraudulent trading through companies: phoenix, boiler-room, MTIC fraud."
R_CHEATING = "The charge for VAT carousel (MTIC) frauds and other large tax frauds."
R_EXCISE = "Smuggling tobacco, alcohol or cash to evade duty is organised excise fraud."
R_CUSTOMS = "Either-way customs and excise offences, including organised duty evasion."
FRAUD_ROWS: tuple[Row, ...] = (
    ("051/06", POSSIBLE, "10", "Companies Act 2006 s.993", R_FRAUDULENT_TRADING),
    ("052/01", POSSIBLE, "7", "Theft Act 1968 s.17", R_FALSE_ACCOUNTING),
    ("053/04", LIKELY, "10", "Common law; Criminal Justice Act 1987 s.12", R_CONSPIRACY),
    ("053/40", POSSIBLE, "10", "Fraud Act 2006 ss.1-2", R_FRAUD),
    ("053/41", POSSIBLE, "10", "Fraud Act 2006 ss.1, 3", R_FRAUD),
    ("053/42", POSSIBLE, "10", "Fraud Act 2006 ss.1, 4", R_FRAUD),
    ("053/43", POSSIBLE, "5", "Fraud Act 2006 s.6", R_ARTICLES),
    ("053/44", LIKELY, "10", "Fraud Act 2006 s.7", R_MAKE_ARTICLES),
    ("053/56", POSSIBLE, LIFE, "Common law (cheating the public revenue)", R_CHEATING),
    ("082/02", POSSIBLE, "7", S_CEMA_170, R_CUSTOMS),
    ("099/23", POSSIBLE, "7", S_CEMA_170, R_EXCISE),
)

# --- Counterfeiting and false documents ------------------------------------------------------
# Forgery and Counterfeiting Act 1981 (forgery and currency), Identity Cards Act 2006 and
# Identity Documents Act 2010 offences with intent or involving equipment, asylum
# registration card forgery, counterfeit goods (trade marks) and commercial piracy.
# Making currency or document-making equipment and cross-border movement are "likely";
# passing or holding counterfeit notes and holding a false document are "possible".
S_FORGE = "Forgery and Counterfeiting Act 1981 ss.1-2"
S_USE_FALSE = "Forgery and Counterfeiting Act 1981 ss.3-4"
R_FORGERY = "Forged instruments are tools of fraud and immigration crime; often single use."
R_MAKE_CURRENCY = "Making counterfeit currency or its materials is organised production."
R_PASS_CURRENCY = "Passing or holding counterfeit notes; often the end of a distribution chain."
R_ID_HOLD = "False identity documents enable fraud and illegal working; often for own use."
R_ID_MAKE = "Equipment for making false identity documents indicates a document factory."
R_ID_BORDER = "Moving false identity documents across the border supplies other offenders."
R_REGISTRATION_CARD = "Forging asylum registration cards or the means to make them."
R_TRADE_MARK = "Counterfeit goods are made and distributed by organised networks."
R_PIRACY = "Commercial piracy: making, importing or distributing infringing copies for sale."
COUNTERFEIT_ROWS: tuple[Row, ...] = (
    ("061/21", POSSIBLE, "10", S_FORGE, R_FORGERY),
    ("061/22", POSSIBLE, "10", S_USE_FALSE, R_FORGERY),
    ("061/23", POSSIBLE, "10", "Forgery and Counterfeiting Act 1981 s.5", R_FORGERY),
    ("061/24", LIKELY, "10", "Forgery and Counterfeiting Act 1981 s.14", R_MAKE_CURRENCY),
    ("061/25", POSSIBLE, "10", "Forgery and Counterfeiting Act 1981 s.15", R_PASS_CURRENCY),
    ("061/26", POSSIBLE, "10", "Forgery and Counterfeiting Act 1981 s.16", R_PASS_CURRENCY),
    ("061/27", LIKELY, "10", "Forgery and Counterfeiting Act 1981 s.17", R_MAKE_CURRENCY),
    ("061/34", POSSIBLE, "10", "Identity Cards Act 2006 s.25(1)", R_ID_HOLD),
    ("061/35", LIKELY, "10", "Identity Cards Act 2006 s.25(3)", R_ID_MAKE),
    ("061/38", POSSIBLE, "10", "Identity Documents Act 2010 s.4", R_ID_HOLD),
    ("061/39", LIKELY, "10", "Identity Documents Act 2010 s.5", R_ID_MAKE),
    ("061/41", LIKELY, "7", S_CEMA_170, R_ID_BORDER),
    ("078/14", POSSIBLE, "10", "Immigration Act 1971 s.26A(3)", R_REGISTRATION_CARD),
    ("084/08", POSSIBLE, "10", "Trade Marks Act 1994 s.92", R_TRADE_MARK),
    ("084/09", POSSIBLE, "10", "Copyright, Designs and Patents Act 1988 s.107, s.198", R_PIRACY),
)

# --- Organised acquisitive crime -------------------------------------------------------------
# Handling (the market for stolen goods, incl. vehicle and plant rings), robbery and theft
# of motor vehicles. All "possible": most robbery and vehicle theft is not organised; the
# co-defendant and seriousness criteria do the selecting. 054/00 is included because the
# whole class is handling.
R_HANDLING = "Fences and receivers provide the market for organised theft and burglary."
R_ROBBERY = "Planned commercial robberies (cash in transit, jewellers); most robbery is not."
R_VEHICLE = "Organised vehicle theft for ringing or export; most vehicle theft is not."
ACQUISITIVE_ROWS: tuple[Row, ...] = (
    ("034/01", POSSIBLE, LIFE, "Theft Act 1968 s.8", R_ROBBERY),
    ("048/01", POSSIBLE, "7", "Theft Act 1968 s.1", R_VEHICLE),
    ("054/00", POSSIBLE, "14", "Theft Act 1968 s.22", R_HANDLING),
    ("054/01", POSSIBLE, "14", "Theft Act 1968 s.22", R_HANDLING),
    ("054/02", POSSIBLE, "14", "Theft Act 1968 s.22", R_HANDLING),
)

# --- Bribery and corruption ------------------------------------------------------------------
# Bribery Act 2010 and its predecessors (Public Bodies Corrupt Practices Act 1889 and
# Prevention of Corruption Act 1906, 7 years since the Criminal Justice Act 1988 s.47).
# All "possible": much bribery is commercial rather than organised crime.
R_BRIBE_GIVE = "Bribing officials or employees to enable crime or win business."
R_BRIBE_TAKE = "Officials or employees taking bribes: corrupt insiders serving crime groups."
R_BRIBE_FOREIGN = "Bribing foreign public officials to obtain business."
R_CORRUPT_OLD = "Pre-2011 corruption offences (giving or taking bribes)."
BRIBERY_ROWS: tuple[Row, ...] = (
    ("053/38", POSSIBLE, "7", "Prevention of Corruption Act 1906 s.1", R_CORRUPT_OLD),
    ("099/07", POSSIBLE, "10", "Bribery Act 2010 s.1", R_BRIBE_GIVE),
    ("099/08", POSSIBLE, "10", "Bribery Act 2010 s.2", R_BRIBE_TAKE),
    ("099/09", POSSIBLE, "10", "Bribery Act 2010 s.6", R_BRIBE_FOREIGN),
    ("099/11", POSSIBLE, "7", "Public Bodies Corrupt Practices Act 1889 s.1", R_CORRUPT_OLD),
)

# --- Kidnap, blackmail and extortion ---------------------------------------------------------
# All "possible": kidnap and false imprisonment also occur in domestic settings.
R_BLACKMAIL = "Extortion by threats, incl. protection rackets and drug-debt enforcement."
R_KIDNAP = "Kidnap for ransom or to enforce drug debts; also occurs in domestic disputes."
R_FALSE_IMPRISONMENT = "Detaining victims to extort or punish, as in debt enforcement."
R_HOSTAGE = "Hostage-taking to compel a third party, e.g. to pay a ransom."
KIDNAP_ROWS: tuple[Row, ...] = (
    ("035/00", POSSIBLE, "14", "Theft Act 1968 s.21", R_BLACKMAIL),
    ("036/01", POSSIBLE, LIFE, "Common law (kidnapping)", R_KIDNAP),
    ("036/03", POSSIBLE, LIFE, "Common law (false imprisonment)", R_FALSE_IMPRISONMENT),
    ("036/04", POSSIBLE, LIFE, "Taking of Hostages Act 1982 s.1", R_HOSTAGE),
)

# --- Computer misuse -------------------------------------------------------------------------
# Every Computer Misuse Act 1990 offence code; s.1 (2 years) and s.3A (2 years) are kept
# even though they fail a 3-year seriousness threshold: criterion 2 sorts them.
R_CMA1 = "Unauthorised access (hacking), a step in cyber-enabled fraud; often individual."
R_CMA2 = "Hacking with intent to commit further offences such as fraud."
R_CMA3 = "Malware, ransomware and denial-of-service attacks."
R_CMA3A = "Making or supplying hacking tools serves the cybercrime-as-a-service market."
R_CMA3ZA = "Attacks risking serious damage, e.g. to infrastructure; rare."
COMPUTER_ROWS: tuple[Row, ...] = (
    ("053/34", POSSIBLE, "5", "Computer Misuse Act 1990 s.2", R_CMA2),
    ("053/35", POSSIBLE, "10", "Computer Misuse Act 1990 s.3", R_CMA3),
    ("053/54", POSSIBLE, "2", "Computer Misuse Act 1990 s.1", R_CMA1),
    ("053/55", LIKELY, "2", "Computer Misuse Act 1990 s.3A", R_CMA3A),
    ("068/02", POSSIBLE, "14", "Computer Misuse Act 1990 s.3ZA", R_CMA3ZA),
    ("068/03", POSSIBLE, LIFE, "Computer Misuse Act 1990 s.3ZA(7)", R_CMA3ZA),
)

# --- Organised crime group participation -----------------------------------------------------
R_OCG = "Participating in the criminal activities of an organised crime group (3+ persons)."
R_SCPO = "Breach of an order made to restrict a person involved in serious crime."
OCG_ROWS: tuple[Row, ...] = (
    ("066/94", POSSIBLE, "5", "Serious Crime Act 2007 s.25", R_SCPO),
    ("068/01", LIKELY, "5", "Serious Crime Act 2015 s.45", R_OCG),
)

FAMILIES: tuple[tuple[str, tuple[Row, ...]], ...] = (
    (C_DRUG_IMPORT, DRUG_IMPORT_ROWS),
    (C_DRUG_PRODUCTION, DRUG_PRODUCTION_ROWS),
    (C_DRUG_SUPPLY, DRUG_SUPPLY_ROWS),
    (C_DRUG_ML, DRUG_ML_ROWS),
    (C_FIREARMS, FIREARMS_ROWS),
    (C_OIC, OIC_ROWS),
    (C_TRAFFICKING, TRAFFICKING_ROWS),
    (C_ML, ML_ROWS),
    (C_FRAUD, FRAUD_ROWS),
    (C_COUNTERFEIT, COUNTERFEIT_ROWS),
    (C_ACQUISITIVE, ACQUISITIVE_ROWS),
    (C_BRIBERY, BRIBERY_ROWS),
    (C_KIDNAP, KIDNAP_ROWS),
    (C_COMPUTER, COMPUTER_ROWS),
    (C_OCG, OCG_ROWS),
)

# Draft codes deliberately left out of the list, with the reason.
DRAFT_REMOVALS: dict[str, str] = {
    "093/52": (
        "Drug Trafficking Act 1994 s.52 failure to disclose: a regulated-sector omission, not "
        "participation; repealed for conduct after 24 February 2003 (POCA equivalents kept)."
    ),
    "093/53": (
        "Drug Trafficking Act 1994 s.53 tipping off: repealed for conduct after 24 February "
        "2003; the POCA tipping-off code 038/07 is kept."
    ),
    "093/54": (
        "Drug Trafficking Act 1994 s.58 prejudicing an investigation: repealed for conduct "
        "after 24 February 2003; the POCA code 038/07 is kept."
    ),
}

# The draft's family labels, mapped to categories, to report category moves.
DRAFT_FAMILY_CATEGORY: dict[str, str] = {
    "Drugs: import/export (MDA/CEMA)": C_DRUG_IMPORT,
    "Drugs: production/cultivation": C_DRUG_PRODUCTION,
    "Drugs: supply / offer to supply / concerned in supply": C_DRUG_SUPPLY,
    "Drugs: possession with intent to supply": C_DRUG_SUPPLY,
    "Drugs: drug money laundering (DTA 1994)": C_DRUG_ML,
    "Money laundering (POCA 2002 ss.327-329; CJA 1988)": C_ML,
    "Fraud (conspiracy to defraud; Fraud Act 2006)": C_FRAUD,
    "Counterfeit currency": C_COUNTERFEIT,
    "False identity documents": C_COUNTERFEIT,
    "Organised immigration crime (facilitation)": C_OIC,
    "Human trafficking / slavery": C_TRAFFICKING,
    "Firearms trafficking / supply": C_FIREARMS,
    "Kidnap / false imprisonment / blackmail": C_KIDNAP,
    "Robbery": C_ACQUISITIVE,
    "Handling stolen goods": C_ACQUISITIVE,
    "Customs/excise fraudulent evasion": C_FRAUD,
    "Bribery / corruption": C_BRIBERY,
    "Participation in an organised crime group (SCA 2015 s.45)": C_OCG,
}


# ---------------------------------------------------------------------------------------------
# Description cleaning and offence-group derivation.
# ---------------------------------------------------------------------------------------------

USE_ONLY_NOTE = "Use this code only if"


def clean_description(text: str) -> str:
    """Drop the "[Use this code only if ...]" note (bracketed or not) and collapse whitespace."""
    start = text.find("[" + USE_ONLY_NOTE)
    if start >= 0:
        end = text.find("]", start)
        text = text[:start] + (text[end + 1 :] if end >= 0 else "")
    else:
        start = text.find(USE_ONLY_NOTE)
        if start >= 0:
            text = text[:start]
    return " ".join(text.split())


def _words(text: str) -> list[str]:
    return "".join(ch.lower() if ch.isalnum() else " " for ch in text).split()


POSSESSION_WORDS = frozenset({"having", "have", "has", "had", "hide"})
POSSESSION_PREFIXES = ("possess", "carry", "carrying", "trespass", "threaten")
# Possession "for sale or transfer" is dealing, not possession.
DEALING_WORDS = frozenset({"sale", "sell", "selling", "supply", "supplying", "transfer"})
WEAPON_ACTUARIAL = frozenset({"FIREARMS_MOST_SERIOUS", "FIREARMS_OTHER", "WEAPONS_NON_FIREARM"})
THEFT_ACTUARIAL = frozenset(
    {"BURGLARY_OTHER", "HANDLING_STOLEN_GOODS", "THEFT_NON_MOTOR", "VEHICLE_RELATED_THEFT"}
)
DRUG_ACTUARIAL = frozenset({"DRUG_IMPORT_EXPORT_OR_PRODUCTION", "DRUG_POSSESSION_OR_SUPPLY"})
VIOLENCE_ACTUARIAL = frozenset(
    {"VIOLENCE_AGAINST_THE_PERSON_ABH_PLUS", "VIOLENCE_AGAINST_THE_PERSON_SUB_ABH"}
)
SEXUAL_ACTUARIAL = frozenset({"SEXUAL_AGAINST_CHILD", "SEXUAL_NOT_AGAINST_CHILD"})
FORGERY_CLASSES = frozenset({60, 61})
MONEY_LAUNDERING_CLASS = 38

# Old MoJ group -> current group, where the old group maps as a whole (rules 6-12 in README).
DIRECT_GROUPS: dict[str, str] = {
    "Violence against the person": VAP,
    "Sexual offences": SEXUAL,
    "Robbery": ROBBERY,
    "Burglary": THEFT,
    "Criminal damage": DAMAGE,
    "Drug offences": DRUGS,
}


def is_possession(description: str) -> bool:
    """True when a weapons description is about possessing, carrying or threatening."""
    words = _words(description)
    if DEALING_WORDS.intersection(words):
        return False
    return any(word in POSSESSION_WORDS or word.startswith(POSSESSION_PREFIXES) for word in words)


def derive_offence_group(ho_class: int, source_group: str, actuarial: str, description: str) -> str:
    """Map a HO code to one of the 13 current MoJ offence groups. Rules are in the README."""
    # 1. Invalid or unknown codes.
    if actuarial == "UNKNOWN" or ho_class == 0:
        return NOT_KNOWN
    # 2-3. Summary groups carry over.
    if source_group == "Other summary offences":
        return SUMMARY_NON_MOTORING
    if source_group == "Summary motoring offences":
        return SUMMARY_MOTORING
    # 4. Indictable motoring (dangerous driving; fraud and forgery of driver/vehicle records).
    if source_group == "Indictable motoring offences":
        return MISC
    # 5. Weapons and firearms offences.
    if actuarial in WEAPON_ACTUARIAL:
        if is_possession(description):
            return WEAPONS
        if source_group == "Violence against the person" and actuarial == "FIREARMS_MOST_SERIOUS":
            return VAP
        return MISC
    # 6-9, 11-12. Old groups that map as a whole.
    if source_group in DIRECT_GROUPS:
        return DIRECT_GROUPS[source_group]
    # 10. Theft and handling, except money laundering and violent outcomes.
    if source_group == "Theft and handling":
        if ho_class == MONEY_LAUNDERING_CLASS:
            return MISC
        if actuarial in VIOLENCE_ACTUARIAL:
            return VAP
        return THEFT
    # 13. Fraud and forgery, except forgery, counterfeiting and false documents.
    if source_group == "Fraud forgery":
        return MISC if ho_class in FORGERY_CLASSES else FRAUD
    # 14. Other indictable, split by actuarial category.
    if source_group == "Other indictable":
        if actuarial in DRUG_ACTUARIAL:
            return DRUGS
        if actuarial == "PUBLIC_ORDER_AND_HARRASSMENT":
            return PUBLIC_ORDER
        if actuarial in VIOLENCE_ACTUARIAL:
            return VAP
        if actuarial in SEXUAL_ACTUARIAL:
            return SEXUAL
        if actuarial in THEFT_ACTUARIAL:
            return THEFT
        if actuarial == "CRIMINAL_DAMAGE":
            return DAMAGE
        return MISC
    return NOT_KNOWN


# ---------------------------------------------------------------------------------------------
# Build.
# ---------------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    """Write rows with a fixed dialect and return the file's SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_ho_rows(source_rows: list[dict[str, str]]) -> list[dict[str, str]]:
    rows = []
    for src in source_rows:
        ho_code = src["ho_code"].strip()
        ho_class, ho_subclass = ho_code.split("/")
        if len(ho_class) != 3 or len(ho_subclass) != 2 or not (ho_class + ho_subclass).isdigit():
            raise ValueError(f"unexpected HO code format: {ho_code!r}")
        if int(src["category"]) != int(ho_class) or int(src["sub_category"]) != int(ho_subclass):
            raise ValueError(f"class/subclass columns disagree with code {ho_code}")
        subclass_description = clean_description(src["sub_category_description"])
        rows.append(
            {
                "ho_code": ho_code,
                "ho_class": ho_class,
                "ho_subclass": ho_subclass,
                "class_description": clean_description(src["category_description"]),
                "subclass_description": subclass_description,
                "offence_group": derive_offence_group(
                    int(ho_class),
                    src["offence_group"].strip(),
                    src["actuarial_category"].strip(),
                    subclass_description,
                ),
                "offence_group_source": src["offence_group"].strip(),
                "actuarial_category": src["actuarial_category"].strip(),
            }
        )
    codes = [row["ho_code"] for row in rows]
    if len(set(codes)) != len(codes):
        raise ValueError("duplicate HO codes in the reference table")
    return sorted(rows, key=lambda row: row["ho_code"])


def _valid_max_custody(value: str) -> bool:
    return value == LIFE or (value.isdigit() and not value.startswith("0") and int(value) < 100)


def build_soc_rows(ho_by_code: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    rows = []
    seen: set[str] = set()
    for category, family_rows in FAMILIES:
        if category not in SOC_CATEGORIES:
            raise ValueError(f"unknown SOC category {category!r}")
        for ho_code, tier, max_custody, statute, rationale in family_rows:
            if ho_code in seen:
                raise ValueError(f"{ho_code} is listed twice")
            seen.add(ho_code)
            if ho_code not in ho_by_code:
                raise ValueError(f"{ho_code} is not in the HO offence code table")
            if tier not in TIERS:
                raise ValueError(f"{ho_code}: bad tier {tier!r}")
            if not _valid_max_custody(max_custody):
                raise ValueError(f"{ho_code}: bad max_custody {max_custody!r}")
            if not statute.strip() or not rationale.strip():
                raise ValueError(f"{ho_code}: statute and rationale are required")
            rows.append(
                {
                    "ho_code": ho_code,
                    "description": ho_by_code[ho_code]["subclass_description"],
                    "soc_category": category,
                    "tier": tier,
                    "max_custody": max_custody,
                    "statute": statute,
                    "rationale": rationale,
                }
            )
    return sorted(rows, key=lambda row: row["ho_code"])


def compare_with_draft(
    draft_rows: list[dict[str, str]],
    ho_by_code: dict[str, dict[str, str]],
    soc_rows: list[dict[str, str]],
) -> list[str]:
    """Check the draft against the curated list and return report lines."""
    soc_by_code = {row["ho_code"]: row for row in soc_rows}
    lines: list[str] = []
    draft_codes: dict[str, list[dict[str, str]]] = {}
    for row in draft_rows:
        draft_codes.setdefault(row["ho_code"].strip(), []).append(row)

    missing = sorted(code for code in draft_codes if code not in ho_by_code)
    lines.append(f"draft rows: {len(draft_rows)}; distinct codes: {len(draft_codes)}")
    lines.append("draft codes not in the HO table (dropped): " + (", ".join(missing) or "none"))
    repeated = sorted(code for code, rows in draft_codes.items() if len(rows) > 1)
    lines.append("draft codes listed more than once: " + (", ".join(repeated) or "none"))
    differing = sorted(
        code
        for code, rows in draft_codes.items()
        if code in ho_by_code
        and any(
            clean_description(row["sub_category_description"])
            != ho_by_code[code]["subclass_description"]
            for row in rows
        )
    )
    lines.append(
        "draft descriptions differing from the HO table: " + (", ".join(differing) or "none")
    )

    unexplained = sorted(
        code
        for code in draft_codes
        if code in ho_by_code and code not in soc_by_code and code not in DRAFT_REMOVALS
    )
    if unexplained:
        raise ValueError("draft codes dropped without a reason: " + ", ".join(unexplained))
    for code in sorted(DRAFT_REMOVALS):
        if code in soc_by_code:
            raise ValueError(f"{code} is both listed and removed")
        lines.append(f"removed {code}: {DRAFT_REMOVALS[code]}")

    added = sorted(code for code in soc_by_code if code not in draft_codes)
    lines.append(f"added ({len(added)}): " + ", ".join(added))

    for code in sorted(draft_codes):
        if code not in soc_by_code:
            continue
        row = soc_by_code[code]
        draft_tiers = sorted({draft["tier_guess"].strip() for draft in draft_codes[code]})
        if draft_tiers != [row["tier"]]:
            lines.append(f"tier {code}: draft {'/'.join(draft_tiers)} -> {row['tier']}")
        draft_categories = sorted(
            {DRAFT_FAMILY_CATEGORY.get(d["family"].strip(), "?") for d in draft_codes[code]}
        )
        if draft_categories != [row["soc_category"]]:
            lines.append(
                f"category {code}: draft {' / '.join(draft_categories)} -> {row['soc_category']}"
            )
    return lines


def summarise(soc_rows: list[dict[str, str]]) -> list[str]:
    counts: dict[tuple[str, str], int] = {}
    for row in soc_rows:
        key = (row["soc_category"], row["tier"])
        counts[key] = counts.get(key, 0) + 1
    lines = [f"{'category':40} {'likely':>6} {'possible':>8} {'total':>5}"]
    for category in SOC_CATEGORIES:
        likely = counts.get((category, LIKELY), 0)
        possible = counts.get((category, POSSIBLE), 0)
        lines.append(f"{category:40} {likely:6d} {possible:8d} {likely + possible:5d}")
    n_likely = sum(v for (_, tier), v in counts.items() if tier == LIKELY)
    n_possible = sum(v for (_, tier), v in counts.items() if tier == POSSIBLE)
    lines.append(f"{'total':40} {n_likely:6d} {n_possible:8d} {len(soc_rows):5d}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reference",
        type=Path,
        default=DEFAULT_REFERENCE,
        help=f"directory holding {HO_SOURCE} and {DRAFT_SOURCE} (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="output directory (default: %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the output hashes")
    args = parser.parse_args(argv)

    ho_rows = build_ho_rows(read_csv(args.reference / HO_SOURCE))
    ho_by_code = {row["ho_code"]: row for row in ho_rows}
    soc_rows = build_soc_rows(ho_by_code)
    report = compare_with_draft(read_csv(args.reference / DRAFT_SOURCE), ho_by_code, soc_rows)

    ho_hash = write_csv(args.out / HO_OUTPUT, HO_COLUMNS, ho_rows)
    soc_hash = write_csv(args.out / SOC_OUTPUT, SOC_COLUMNS, soc_rows)

    if not args.quiet:
        groups: dict[str, int] = {}
        for row in ho_rows:
            groups[row["offence_group"]] = groups.get(row["offence_group"], 0) + 1
        print(f"HO codes: {len(ho_rows)}")
        for group in OFFENCE_GROUPS:
            print(f"  {group:40} {groups.get(group, 0):5d}")
        print(f"SOC codes: {len(soc_rows)}")
        for line in summarise(soc_rows):
            print("  " + line)
        for line in report:
            print(line)
    print(f"sha256 {ho_hash}  {args.out / HO_OUTPUT}")
    print(f"sha256 {soc_hash}  {args.out / SOC_OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
