"""Thresholds: defaults, config loading, and refusal of looser values."""

import dataclasses

import pytest

from socflow.sdc import MAXIMUMS, MINIMUMS, SdcThresholds, config_json_schema


def test_defaults_are_the_minimums():
    thr = SdcThresholds()
    for key, bound in MINIMUMS.items():
        assert getattr(thr, key) == bound
    for key, bound in MAXIMUMS.items():
        assert getattr(thr, key) == bound
    assert thr.table_method == "suppress"
    assert thr.zeros_disclosive is True


def test_minimums_cover_the_brief():
    assert MINIMUMS == {
        "min_cell_count": 10,
        "dominance_n": 2,
        "p_ratio": 0.10,
        "min_residual_df": 10,
        "min_level_persons": 10,
        "min_level_events": 10,
        "survival_min_exits": 10,
        "survival_min_at_risk": 10,
        "rounding_base": 5,
    }
    assert MAXIMUMS == {"dominance_k": 0.90}


def test_from_config_accepts_stricter_values():
    thr = SdcThresholds.from_config(
        {"min_cell_count": 20, "dominance_k": 0.8, "p_ratio": 0.2, "table_method": "round"}
    )
    assert thr.min_cell_count == 20
    assert thr.dominance_k == 0.8
    assert thr.table_method == "round"
    assert SdcThresholds.from_config(None) == SdcThresholds()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("min_cell_count", 9),
        ("dominance_n", 1),
        ("dominance_k", 0.95),
        ("p_ratio", 0.05),
        ("min_residual_df", 5),
        ("min_level_persons", 9),
        ("min_level_events", 9),
        ("survival_min_exits", 9),
        ("survival_min_at_risk", 9),
        ("rounding_base", 3),
        ("zeros_disclosive", False),
    ],
)
def test_looser_config_raises_naming_the_key(key, value):
    with pytest.raises(ValueError, match=key):
        SdcThresholds.from_config({key: value})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("min_cell_count", 10.5),
        ("min_cell_count", True),
        ("dominance_k", "0.9"),
        ("dominance_k", 0.0),
        ("table_method", "noise"),
    ],
)
def test_ill_typed_config_raises_naming_the_key(key, value):
    with pytest.raises(ValueError, match=key):
        SdcThresholds.from_config({key: value})


def test_unknown_key_raises():
    with pytest.raises(ValueError, match="min_cel_count"):
        SdcThresholds.from_config({"min_cel_count": 20})


def test_frozen():
    thr = SdcThresholds()
    with pytest.raises(dataclasses.FrozenInstanceError):
        thr.min_cell_count = 5  # type: ignore[misc]


def test_json_schema_matches_bounds():
    schema = config_json_schema()
    props = schema["properties"]
    assert set(props) == {f.name for f in dataclasses.fields(SdcThresholds)}
    for key, bound in MINIMUMS.items():
        assert props[key]["minimum"] == bound
    assert props["dominance_k"]["maximum"] == 0.90
    assert props["table_method"]["enum"] == ["suppress", "round"]
    assert schema["additionalProperties"] is False
