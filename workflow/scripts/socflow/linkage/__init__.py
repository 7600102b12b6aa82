"""Linked prison, OASys, probation and PNC data: who is linked, and SOC offenders' profiles.

The courts data are joined to the other Data First datasets by the cross-justice person ID of
the linking table (`xjs_link`); socflow consumes these IDs and never re-links.

* **Cohort** (`cohort`): one row per person with a Crown Court case disposed in the study
  window; the index case is the person's first SOC case there, else their first case.
  `results/linkage/cohort.parquet` is read by the custody and establishments stages too.

Layout (one question per module): `settings` (config), `cohort` (the linked cohort).
"""

from socflow.linkage.cohort import COHORT_SCHEMA, build_cohort, run_cohort
from socflow.linkage.settings import LinkageConfigError, Settings

__all__ = ["COHORT_SCHEMA", "LinkageConfigError", "Settings", "build_cohort", "run_cohort"]
