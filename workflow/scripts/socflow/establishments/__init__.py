"""Establishments: is the presence of SOC prisoners associated with incident levels?

Layout (one question per module): `settings` (config section `establishments`), `panel` (who
was held where and involved in what: the flag-independent parts of the establishment x month
panel, rule `establishment_panel`), `soc_share` (SOC status on the panel: the SOC-prisoner
share of establishment-months, per prisoner exposure, the SOC / other split within
establishment-months), `models` (Poisson and negative-binomial panel models with
establishment and period fixed effects and establishment-clustered errors), `persons`
(incident rates of SOC against non-SOC prisoners), `candidates` (pooled outputs for
disclosure: no establishment is named or tabulated), `run` (the stage and rule
`establishments`' entry point). Names are imported on first use: rule `establishment_panel`
needs `panel` only, not the models' libraries.
"""

from __future__ import annotations

from socflow.lazy import lazy_exports

_EXPORTS = {
    "FAMILIES": "models",
    "PanelFit": "models",
    "fit_all": "models",
    "fit_panel": "models",
    "moment_alpha": "models",
    "PanelParts": "panel",
    "prepare_panel": "panel",
    "prisoners": "panel",
    "spell_months": "panel",
    "run_establishment_panel": "panel",
    "PersonRates": "persons",
    "person_rates": "persons",
    "within_rate_ratio": "persons",
    "analyse": "run",
    "run_establishments": "run",
    "EstablishmentsConfigError": "settings",
    "EstablishmentSettings": "settings",
    "build_panel": "soc_share",
    "prisoner_exposure": "soc_share",
    "soc_strata": "soc_share",
    "with_soc": "soc_share",
}

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
