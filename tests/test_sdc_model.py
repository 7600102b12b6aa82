"""Model checks: residual degrees of freedom, level counts, allowed statistics."""

import polars as pl
import pytest

from socflow.sdc import ALLOWED_STATISTICS, SdcThresholds, check_model, strip_disallowed

THR = SdcThresholds()


def levels(rows):
    return pl.DataFrame(
        rows,
        schema={"term": pl.String, "level": pl.String, "persons": pl.Int64, "events": pl.Int64},
        orient="row",
    )


def test_level_with_nine_events_fails():
    counts = levels([("sex", "F", 120, 40), ("sex", "M", 200, 9), ("age", "18-24", 50, 12)])
    check = check_model(300, counts, THR)
    assert check.status == "fail"
    assert check.levels["sdc"].to_list() == ["ok", "events", "ok"]
    assert check.failing_levels["level"].to_list() == ["M"]
    assert check.summary() == "fail; levels: 1 failing; "


def test_persons_and_events_both_low():
    check = check_model(300, levels([("x", "a", 5, 3), ("x", "b", 100, 50)]), THR)
    assert check.levels["sdc"][0] == "persons; events"


def test_residual_df_below_minimum_fails():
    check = check_model(9, levels([("x", "a", 100, 50)]), THR)
    assert not check.residual_df_ok
    assert check.status == "fail"
    assert check.summary().startswith("fail; dof")


def test_passing_model_and_events_not_applicable():
    check = check_model(50, levels([("x", "a", 100, None), ("x", "b", 30, None)]), THR)
    assert check.status == "pass"
    assert check.summary() == "pass"
    assert check.allowed_statistics == ALLOWED_STATISTICS


def test_residual_df_must_be_int():
    with pytest.raises(ValueError, match="residual_df"):
        check_model(10.0, levels([("x", "a", 100, 50)]), THR)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "column", ["resid", "residuals", "fitted", "fitted_values", "leverage", "hat_diag", "cooks_d"]
)
def test_strip_disallowed_raises_on_per_observation_columns(column):
    df = pl.DataFrame({"term": ["a"], "coef": [0.1], column: [1.0]})
    with pytest.raises(ValueError, match=column):
        strip_disallowed(df)


def test_strip_disallowed_keeps_allowed_statistics():
    df = pl.DataFrame(
        {
            "term": ["a"],
            "level": ["x"],
            "coef": [0.1],
            "se": [0.02],
            "ci_lower": [0.06],
            "ci_upper": [0.14],
            "p_value": [0.001],
            "hazard_ratio": [1.1],
            "t_stat": [5.0],
        }
    )
    out = strip_disallowed(df)
    assert out.columns == [
        "term",
        "level",
        "coef",
        "se",
        "ci_lower",
        "ci_upper",
        "p_value",
        "hazard_ratio",
    ]


def test_allowed_statistics_list():
    assert ALLOWED_STATISTICS == (
        "coef",
        "se",
        "ci_lower",
        "ci_upper",
        "p_value",
        "odds_ratio",
        "hazard_ratio",
    )
