"""Establishments: is the presence of SOC prisoners associated with incident levels?

Layout (one question per module): `settings` (config section `establishments`), `panel` (who
was held where and involved in what: the flag-independent parts of the establishment x month
panel, rule `establishment_panel`), `soc_share` (SOC status on the panel: the SOC-prisoner
share of establishment-months, per prisoner exposure, the SOC / other split within
establishment-months), `models` (Poisson and negative-binomial panel models with
establishment and period fixed effects and establishment-clustered errors), `persons`
(incident rates of SOC against non-SOC prisoners), `candidates` (pooled outputs for
disclosure: no establishment is named or tabulated), `run` (the stage and the rules' entry
points).
"""

from socflow.establishments.models import FAMILIES, PanelFit, fit_all, fit_panel, moment_alpha
from socflow.establishments.panel import PanelParts, prepare_panel, prisoners, spell_months
from socflow.establishments.persons import PersonRates, person_rates, within_rate_ratio
from socflow.establishments.run import analyse, run_establishment_panel, run_establishments
from socflow.establishments.settings import EstablishmentsConfigError, EstablishmentSettings
from socflow.establishments.soc_share import (
    build_panel,
    prisoner_exposure,
    soc_strata,
    with_soc,
)

__all__ = [
    "FAMILIES",
    "EstablishmentSettings",
    "EstablishmentsConfigError",
    "PanelFit",
    "PanelParts",
    "PersonRates",
    "analyse",
    "build_panel",
    "fit_all",
    "fit_panel",
    "moment_alpha",
    "person_rates",
    "prepare_panel",
    "prisoner_exposure",
    "prisoners",
    "run_establishment_panel",
    "run_establishments",
    "soc_strata",
    "spell_months",
    "with_soc",
    "within_rate_ratio",
]
