import pytest

from chalicelib.domain import pulse_scale
from chalicelib.domain.pulse_scale import LEVELS, Level


def test_six_levels_best_to_worst() -> None:
    assert [int(level) for level in LEVELS] == [6, 5, 4, 3, 2, 1]


@pytest.mark.parametrize(
    ("value", "text", "slug"),
    [
        (6, "Extremely Satisfied", "extremely_satisfied"),
        (5, "Very Satisfied", "very_satisfied"),
        (4, "Fairly Satisfied", "fairly_satisfied"),
        (3, "Some Risk", "some_risk"),
        (2, "High Risk", "high_risk"),
        (1, "Severe Risk", "severe_risk"),
    ],
)
def test_labels_and_slugs_are_pinned(value: int, text: str, slug: str) -> None:
    assert pulse_scale.label(value) == text
    assert pulse_scale.slug(value) == slug
    assert Level(value).label == text
    assert pulse_scale.from_slug(slug) == value
    assert pulse_scale.to_level(slug) == value


@pytest.mark.parametrize("value", [0, 7, -1, True, False, 3.0, "3", None, [3]])
def test_invalid_levels(value: object) -> None:
    assert not pulse_scale.is_valid_level(value)


@pytest.mark.parametrize("value", [1, 2, 3, 4, 5, 6, Level.SOME_RISK])
def test_valid_levels(value: int) -> None:
    assert pulse_scale.is_valid_level(value)


def test_label_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        pulse_scale.label(0)
    with pytest.raises(ValueError):
        pulse_scale.from_slug("fine")


def test_risk_threshold_is_some_risk_or_below() -> None:
    assert [level for level in LEVELS if pulse_scale.is_at_risk(level)] == [3, 2, 1]
