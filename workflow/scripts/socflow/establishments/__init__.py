"""Establishments: is the presence of SOC prisoners associated with incident levels?

Layout (one question per module): `settings` (config section `establishments`), `panel` (the
establishment x month panel of prisoner-days, SOC-prisoner share and incident counts; per
prisoner exposure), `models` (Poisson and negative-binomial panel models with establishment
and period fixed effects and establishment-clustered errors), `persons` (incident rates of
SOC against non-SOC prisoners), `candidates` (pooled outputs for disclosure: no establishment
is named or tabulated), `run` (the stage and the rule's entry point).
"""

from socflow.establishments.models import FAMILIES, PanelFit, fit_all, fit_panel, moment_alpha
from socflow.establishments.panel import (
    build_panel,
    prisoner_exposure,
    prisoners,
    soc_strata,
    spell_months,
)
from socflow.establishments.persons import PersonRates, person_rates, within_rate_ratio
from socflow.establishments.run import analyse, run_establishments
from socflow.establishments.settings import EstablishmentsConfigError, EstablishmentSettings

__all__ = [
    "FAMILIES",
    "EstablishmentSettings",
    "EstablishmentsConfigError",
    "PanelFit",
    "PersonRates",
    "analyse",
    "build_panel",
    "fit_all",
    "fit_panel",
    "moment_alpha",
    "person_rates",
    "prisoner_exposure",
    "prisoners",
    "run_establishments",
    "soc_strata",
    "spell_months",
    "within_rate_ratio",
]
