"""Linked prison, OASys, probation and PNC data: who is linked, and SOC offenders' profiles.

The courts data are joined to the other Data First datasets by the cross-justice person ID of
the linking table (`xjs_link`); socflow consumes these IDs and never re-links.

* **Cohort** (`cohort`): one row per person with a Crown Court case disposed in the study
  window; the index case is the person's first SOC case there, else their first case.
  `results/linkage/cohort.parquet` is read by the custody and establishments stages too.

* **Linkage diagnostics** (`linked`, `diagnostics`): the share of SOC and non-SOC defendants
  found in each linked dataset (immediate custody by index year, and everyone), and linked
  against not linked persons compared by standardised differences (`balance`), so that the
  reader sees whom the linked analyses describe.
* **OASys profiles** (`profiles`, `need_models`): the assessment nearest after the index case
  within a window; shares with each criminogenic need, mean section and risk scores,
  standardised differences SOC against non-SOC, and one adjusted logistic regression per need.
* **Criminal histories** (`history`): appearances, convictions and custodial sentences in the
  courts data in a look-back the data cover, age at first appearance seen; and from a PNC
  extract when one is mapped.

Layout (one question per module): `settings` (config), `cohort` (the linked cohort), `linked`
(rows of the linked tables with their person), `person_rows` (every row the stage reads with
its person, written once by a flag-independent rule), `balance` (standardised differences),
`diagnostics`, `profiles`, `need_models`, `history`, `results`, `candidates` (outputs for
disclosure), `run` (the stage and the rule's entry point). Method note:
docs/methods/linkage.md.
"""

from socflow.linkage.cohort import COHORT_SCHEMA, build_cohort, run_cohort
from socflow.linkage.run import analyse, analyse_persons, run_linkage, run_person_rows
from socflow.linkage.settings import LinkageConfigError, Settings

__all__ = [
    "COHORT_SCHEMA",
    "LinkageConfigError",
    "Settings",
    "analyse",
    "analyse_persons",
    "build_cohort",
    "run_cohort",
    "run_linkage",
    "run_person_rows",
]
