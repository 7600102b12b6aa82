"""After custody: recall to prison after release from the index case's custody.

Layout (one question per module): `settings` (config section `custody`), `matching` (which
prison journey a custodial index case led to), `recall` (time from release to recall, with
death or deportation competing), `incidence` (Aalen-Johansen cumulative incidence and risk
ratios), `candidates` (outputs for disclosure), `run` (the stage and the rule's entry point).
Re-appearance before the courts timed from the matched journey's release date is computed by
the survival stage with `matching.match_journeys`.
"""

from socflow.custody.incidence import Incidence, cumulative_incidence, risk_ratio
from socflow.custody.matching import (
    MATCH_TYPES,
    journeys_with_person_ids,
    match_journeys,
    match_rates,
)
from socflow.custody.recall import recall_follow_up
from socflow.custody.run import analyse, run_custody
from socflow.custody.settings import CustodyConfigError, CustodySettings, MatchSettings

__all__ = [
    "MATCH_TYPES",
    "CustodyConfigError",
    "CustodySettings",
    "Incidence",
    "MatchSettings",
    "analyse",
    "cumulative_incidence",
    "journeys_with_person_ids",
    "match_journeys",
    "match_rates",
    "recall_follow_up",
    "risk_ratio",
    "run_custody",
]
