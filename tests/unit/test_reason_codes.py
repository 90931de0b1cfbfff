from collections import Counter
from dataclasses import dataclass

import pytest

from chalicelib.domain import reason_codes as rc

PULSE = rc.default_codes("pulse")


def test_exactly_51_pulse_codes() -> None:
    assert len(PULSE) == 51


def test_every_required_category_present() -> None:
    present = set(rc.categories(PULSE))
    missing = [c for c in rc.REQUIRED_PULSE_CATEGORIES if c not in present]
    assert missing == []
    assert len(rc.REQUIRED_PULSE_CATEGORIES) == 11


@pytest.mark.parametrize("tab", rc.TABS)
def test_names_unique_per_tab_and_types_valid(tab: rc.Tab) -> None:
    codes = rc.default_codes(tab)
    assert codes, tab
    dupes = [n for n, c in Counter(code.name.casefold() for code in codes).items() if c > 1]
    assert dupes == []
    for code in codes:
        assert code.tab == tab
        assert code.type in rc.TYPES
        assert rc.validate_code_fields(code.tab, code.category, code.name, code.type) == {}


@pytest.mark.parametrize("tab", ["downsell", "termination"])
def test_loss_tabs_have_a_sensible_start(tab: rc.Tab) -> None:
    assert 10 <= len(rc.default_codes(tab)) <= 15


@pytest.mark.parametrize("tab", rc.TABS)
def test_positions_are_1_to_n_in_order(tab: rc.Tab) -> None:
    assert [c.position for c in rc.default_codes(tab)] == list(
        range(1, len(rc.default_codes(tab)) + 1)
    )


def test_pulse_library_offers_both_kinds_of_factor() -> None:
    types = Counter(code.type for code in PULSE)
    assert types["risk"] > 0 and types["success"] > 0 and types["both"] > 0
    # Every category should give a manager something to pick for a risk.
    for category in rc.categories(PULSE):
        kinds = {c.type for c in PULSE if c.category == category}
        assert kinds & {"risk", "both"}, category


@pytest.mark.parametrize(
    ("code_type", "kind", "ok"),
    [
        ("risk", "risk", True),
        ("risk", "success", False),
        ("success", "success", True),
        ("success", "risk", False),
        ("both", "risk", True),
        ("both", "success", True),
        ("both", "both", False),
        ("nope", "risk", False),
    ],
)
def test_type_matches(code_type: str, kind: str, ok: bool) -> None:
    assert rc.type_matches(code_type, kind) is ok


def test_factor_list_keeps_order() -> None:
    ids, errors = rc.validate_factor_list(["c", "a", "b"], "risk_factors")
    assert ids == ["c", "a", "b"]
    assert errors == {}


def test_factor_list_too_many() -> None:
    ids, errors = rc.validate_factor_list(["a", "b", "c", "d"], "risk_factors")
    assert "risk_factors" in errors
    assert ids == ["a", "b", "c", "d"]


def test_factor_list_duplicates_and_blanks() -> None:
    ids, errors = rc.validate_factor_list(["a", "a", "", 3], "success_factors")
    assert ids == ["a"]
    assert set(errors) == {
        "success_factors",  # four entries is also one too many
        "success_factors[1]",
        "success_factors[2]",
        "success_factors[3]",
    }


def test_factor_list_shape() -> None:
    assert rc.validate_factor_list(None, "f") == ([], {})
    assert rc.validate_factor_list("abc", "f")[1] == {"f": "must be a list of reason code ids"}


@dataclass
class Code:
    tab: str
    type: str
    active: bool = True


CODES = {
    "r": Code("pulse", "risk"),
    "s": Code("pulse", "success"),
    "b": Code("pulse", "both"),
    "off": Code("pulse", "risk", active=False),
    "d": Code("downsell", "risk"),
}


def test_validate_factors_rules() -> None:
    ids, errors = rc.validate_factors(["b", "r"], "risk", CODES)
    assert (ids, errors) == (["b", "r"], {})
    _, errors = rc.validate_factors(["s", "d", "off", "zzz"], "risk", CODES)
    assert set(errors) == {"risk_factors", *(f"risk_factors[{i}]" for i in range(4))}
    _, errors = rc.validate_factors(["off"], "risk", CODES, allow_inactive=frozenset({"off"}))
    assert errors == {}
    _, errors = rc.validate_factors(["r"], "success", CODES)
    assert set(errors) == {"success_factors[0]"}


def test_validate_code_fields() -> None:
    errors = rc.validate_code_fields("churn", " ", "x" * 200, "maybe")
    assert set(errors) == {"tab", "category", "name", "type"}
