"""The whole survival stage on the tiny synthetic world: planted truth, candidates, report."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pytest
import yaml

from socflow import survival as sv
from socflow.disclose import check_candidate, disclose_stage, read_checked
from socflow.figures import draw_stage
from socflow.outputs import read_candidates, read_stage_candidates, write_candidates
from socflow.report import OutputView, _env, build_views
from socflow.sdc import SdcThresholds

from .test_custody_survival import _journeys_at_the_estimate

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# The tiny synthetic world: recovery of the planted truth, candidates, report


@pytest.fixture(scope="module")
def tiny_results(tiny_canonical):
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    s = sv.Settings.from_config(cfg["survival"])
    t = tiny_canonical
    r = sv.analyse(
        t["crown_defendant_cases"], t["mags_defendant_cases"], t["xjs_link"],
        t["mags_crown_journey"], t["flags"], s,
    )  # fmt: skip
    return r, s


def test_tiny_world_cox_interval_covers_planted_hazard_ratio(tiny_results, tiny_canonical):
    r, _ = tiny_results
    planted = tiny_canonical["truth_summary"]["planted_hazard_ratio_soc_reappearance"]
    assert tiny_canonical["truth_summary"]["hazard_model_covariates"] == ["soc", "offence_group"]
    assert r.cox is not None, r.cox_error
    soc = r.cox.coefficients.filter(pl.col("term") == sv.GROUP).row(0, named=True)
    assert soc["ci_lower"] < planted < soc["ci_upper"]
    assert soc["hazard_ratio"] < 1.0


def test_tiny_world_two_year_rates_match_the_planted_history(tiny_results, tiny_canonical):
    r, s = tiny_results
    t = tiny_canonical
    truth = sv.truth_follow_up(
        t["crown_defendant_cases"], t["mags_defendant_cases"], t["truth_rows"], s
    )
    assert abs(truth.height - r.follow.height) <= 0.02 * truth.height
    truth_km = sv.kaplan_meier(truth)
    for h in s.horizons_days:
        ours = dict(sv.km_at(r.km, h).select(sv.GROUP, "estimate").iter_rows())
        true = dict(sv.km_at(truth_km, h).select(sv.GROUP, "estimate").iter_rows())
        for g in (sv.SOC_LABEL, sv.NON_SOC_LABEL):
            assert abs(ours[g] - true[g]) < 0.02, (h, g, ours[g], true[g])
    # The planted history itself carries the planted hazard ratio.
    fit, _, _ = sv.cox_analysis(
        truth, dataclasses.replace(s, cox=sv.CoxSettings(covariates=("offence_group",)))
    )
    soc = fit.coefficients.filter(pl.col("term") == sv.GROUP).row(0, named=True)
    assert soc["ci_lower"] < 0.7 < soc["ci_upper"]


def test_tiny_world_ignoring_custody_lowers_the_two_year_rate(tiny_results):
    r, _ = tiny_results
    rows = dict(r.sensitivity.select("statistic", "value").iter_rows())
    at_zero = rows["release fraction 0: re-appeared within 2 years: All"]
    at_half = rows["release fraction 0.5: re-appeared within 2 years: All"]
    assert at_zero < at_half


def test_tiny_world_cohort_flow_and_tables_are_consistent(tiny_results):
    r, _ = tiny_results
    assert r.flow["persons"][-1] == r.follow.height
    assert r.follow["person"].is_unique().all()
    status_total = int(r.status["persons"].sum())
    assert status_total == r.index.height
    at_zero = r.at_risk.filter(pl.col("days") == 0)
    assert int(at_zero["persons"].sum()) == r.follow.height
    assert r.diagnostics["crown_rows_linked"] == r.diagnostics["crown_rows"]


def test_candidates_round_trip_and_pass_their_checks(tiny_results, tmp_path):
    r, _ = tiny_results
    candidates = sv.build_candidates(r)
    ids = [c.output_id for c in candidates]
    assert {"survival_km", "survival_cox", "survival_proportions", "survival_logrank",
            "survival_at_risk", "survival_reappearance_counts", "survival_follow_up",
            "survival_status", "survival_sensitivity", "survival_id_coverage",
            "survival_linkage", "survival_ph_test", "survival_cohort_flow"} <= set(ids)  # fmt: skip
    write_candidates(candidates, tmp_path / "c", stage="survival")
    stage, back = read_candidates(tmp_path / "c")
    assert stage == "survival" and [c.output_id for c in back] == ids
    kinds = {c.output_id: c.kind for c in back}
    assert kinds["survival_km"] == "survival" and kinds["survival_cox"] == "model"
    thr = SdcThresholds()
    model = next(c for c in back if c.output_id == "survival_cox")
    assert model.spec["residual_df"] > 10
    assert set(model.extra["levels"].columns) >= {"term", "level", "persons", "events"}
    published = check_candidate(model, "survival", thr, tmp_path / "cox.csv")
    assert published.status == "pass"  # small levels were pooled before fitting
    for c in back:
        if c.kind == "statistics":
            assert c.data.columns == ["statistic", "value", "ci_lower", "ci_upper", "n_persons"]
        if c.kind == "frequency":
            assert c.data[c.spec["count"]].dtype == pl.Int64


def test_report_sections_render_with_published_and_with_missing_outputs(tiny_results, tmp_path):
    r, _ = tiny_results
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["survival"]
    write_candidates(sv.build_candidates(r), tmp_path / "c", stage="survival")
    disclose_stage(tmp_path / "c", tmp_path / "tables", tmp_path / "checked.json", SdcThresholds())
    checked = read_checked(tmp_path / "checked.json", tmp_path / "tables")
    draw_stage(checked, tmp_path / "drawn")
    views = build_views(checked, tmp_path / "fig", tmp_path, [tmp_path / "drawn"])
    # A view points at the copy of its drawn figure, and only a drawn figure is copied.
    for output_id, view in views.items():
        drawn = tmp_path / "drawn" / f"{output_id}.png"
        assert (view.figure_path is not None) == drawn.exists()
    assert views["survival_km"].figure_path == tmp_path / "fig" / "survival_km.png"
    env = _env()
    for suffix in ("html", "md"):
        tmpl = env.get_template(f"sections/survival.{suffix}.j2")
        page = tmpl.render(
            out=lambda i: views.get(i, OutputView(i)), cfg=cfg, ctx={"synthetic": True}
        )
        assert "Re-appearance before the courts" in page
        assert "times the rate of comparable non-SOC defendants" in page
        assert "SYNTHETIC DATA" in page
        empty = tmpl.render(out=OutputView, cfg=cfg, ctx={"synthetic": False})
        assert "The Cox model is not published" in empty
        assert "re-appearance proportions are not published" in empty


# ---------------------------------------------------------------------------------------------
# The stage in two rules: the cohort before SOC status (survival_cohort), then survival


def test_cohort_written_and_read_back_gives_the_same_candidates_as_one_call(
    tiny_results, tiny_canonical, tmp_path
):
    """Rule survival_cohort's folder, read by rule survival, gives what `analyse` gives in one
    call: the flags enter only after the cohort is written."""
    whole, s = tiny_results
    t = tiny_canonical
    cohort = _tiny_cohort(t, s)
    assert "soc" not in cohort.index.columns and sv.GROUP not in cohort.index.columns
    sv.write_cohort(cohort, tmp_path / "cohort")
    split = sv.analyse_cohort(sv.read_cohort(tmp_path / "cohort"), t["flags"], s)
    assert split.flow.equals(whole.flow)
    assert split.follow.equals(whole.follow)
    assert split.index.equals(whole.index)
    assert split.sensitivity.equals(whole.sensitivity)
    assert split.cox.coefficients.equals(whole.cox.coefficients)
    write_candidates(sv.build_candidates(whole), tmp_path / "whole", stage="survival")
    write_candidates(sv.build_candidates(split), tmp_path / "split", stage="survival")
    for path in sorted((tmp_path / "whole").rglob("*")):
        if path.is_file():
            twin = tmp_path / "split" / path.relative_to(tmp_path / "whole")
            assert twin.read_bytes() == path.read_bytes(), path.name


def test_rules_survival_and_survival_sensitivity_write_the_one_call_candidates(
    tiny_canonical, tmp_path
):
    """Rules survival and survival_sensitivity, each from the cohort folder and the flags file,
    write between them the candidates `analyse` gives in one call, in the same order; the
    disclosure check of both folders releases the same tables as of the one-call folder, each
    output's record naming the rule that wrote it."""
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    s = sv.settings_for(cfg["survival"], cfg["sdc"])
    t = tiny_canonical
    # Prison journeys, so that the estimated-release variant and its Cox fit are there.
    crown = t["crown_defendant_cases"]
    journeys, link = _journeys_at_the_estimate(crown, t["xjs_link"], s.release_fraction)
    whole = sv.analyse(
        crown, t["mags_defendant_cases"], link, t["mags_crown_journey"], t["flags"], s,
        prison_journeys=journeys,
    )  # fmt: skip
    cox_rows = whole.sensitivity.filter(pl.col("statistic").str.contains("Cox hazard ratio"))
    assert whole.cox is not None and cox_rows.height == 1
    write_candidates(sv.build_candidates(whole), tmp_path / "whole", stage="survival")
    ids = {src: sv.resolve_person_ids(link, src, s.fanout_rule) for src in ("crown", "mags")}
    cohort = sv.build_cohort(
        sv.attach_person_ids(crown, ids["crown"]),
        sv.attach_person_ids(t["mags_defendant_cases"], ids["mags"]),
        t["mags_crown_journey"], s, journeys, sv.resolve_person_ids(link, "prison", s.fanout_rule),
    )  # fmt: skip
    sv.write_cohort(cohort, tmp_path / "cohort")
    t["flags"].write_parquet(tmp_path / "flags.parquet")
    paths = {"cohort": str(tmp_path / "cohort"), "flags": str(tmp_path / "flags.parquet")}
    main = sv.run_survival(paths, cfg["survival"], cfg["sdc"], tmp_path / "follow_up.parquet",
                           tmp_path / "summary.json", tmp_path / "main")  # fmt: skip
    assert main.sensitivity is None
    rows = sv.run_survival_sensitivity(paths, cfg["survival"], cfg["sdc"], tmp_path / "more")
    assert rows.equals(whole.sensitivity)
    folders, rules = [tmp_path / "main", tmp_path / "more"], ["survival", "survival_sensitivity"]
    stage, pairs = read_stage_candidates(folders, rules)
    _, one = read_candidates(tmp_path / "whole")
    assert stage == "survival"
    assert [(c.output_id, c.order) for c, _ in pairs] == [(c.output_id, c.order) for c in one]
    for (c, rule), w in zip(pairs, one, strict=True):
        assert c.data.equals(w.data), c.output_id
        assert rule == (
            "survival_sensitivity" if c.output_id == "survival_sensitivity" else "survival"
        )
    assert pairs[sv.SENSITIVITY_ORDER - 1][0].output_id == "survival_sensitivity"
    thr = SdcThresholds()
    split = disclose_stage(folders, tmp_path / "a/tables/survival", tmp_path / "a.json", thr, rules)
    disclose_stage(tmp_path / "whole", tmp_path / "b/tables/survival", tmp_path / "b.json", thr,
                   "survival")  # fmt: skip
    for path in sorted((tmp_path / "b/tables/survival").iterdir()):
        assert (tmp_path / "a/tables/survival" / path.name).read_bytes() == path.read_bytes()
    commands = {p.output_id: p.record["command"] for p in split}
    assert commands["survival_sensitivity"].startswith("rule survival_sensitivity;")
    assert commands["survival_km"].startswith("rule survival;")


def test_flags_missing_for_a_cohort_case_stop_the_rule(tiny_canonical, tmp_path):
    """The cohort is built on the premise that every defendant-case carries a flag; flags that
    miss one in the study window would have changed the index cases, so the rule stops."""
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    s = sv.Settings.from_config(cfg["survival"])
    t = tiny_canonical
    cohort = _tiny_cohort(t, s)
    first = cohort.index["defendant_on_case_id"][0]
    partial = t["flags"].filter(pl.col("defendant_on_case_id") != first)
    with pytest.raises(sv.SurvivalConfigError, match="1 Crown Court defendant-cases"):
        sv.analyse_cohort(cohort, partial, s)


def _tiny_cohort(t: dict, s: sv.Settings) -> sv.Cohort:
    """Rule survival_cohort's work on the tiny world, its person IDs resolved from the link."""
    link = t["xjs_link"]
    crown = sv.attach_person_ids(
        t["crown_defendant_cases"], sv.resolve_person_ids(link, "crown", s.fanout_rule)
    )
    mags = sv.attach_person_ids(
        t["mags_defendant_cases"], sv.resolve_person_ids(link, "mags", s.fanout_rule)
    )
    return sv.build_cohort(crown, mags, t["mags_crown_journey"], s)
