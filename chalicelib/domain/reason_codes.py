"""Reason codes: the default library a new tenant starts with, and the rules for pulse factors.

The library text is original to this project. Each code is short enough to read in a report row and
phrased so the same code reads sensibly as a risk or as a success when its type is `both`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

Tab = Literal["pulse", "downsell", "termination"]
CodeType = Literal["risk", "success", "both"]
FactorKind = Literal["risk", "success"]

TABS: Final[tuple[Tab, ...]] = ("pulse", "downsell", "termination")
TYPES: Final[tuple[CodeType, ...]] = ("risk", "success", "both")
FACTOR_KINDS: Final[tuple[FactorKind, ...]] = ("risk", "success")

# A pulse carries at most three ordered factors of each kind (seed 002); the order is the manager's
# priority, so it is preserved exactly.
MAX_FACTORS: Final = 3
MAX_NAME_LENGTH: Final = 80
MAX_CATEGORY_LENGTH: Final = 60


@dataclass(frozen=True, slots=True)
class DefaultCode:
    tab: Tab
    category: str
    name: str
    type: CodeType
    position: int  # 1-based order within its tab, the order pickers show before any drag-and-drop


# Written as (category, name, type) rows; positions are assigned from row order below so that
# inserting a code never needs hand-renumbering.
_PULSE: tuple[tuple[str, str, CodeType], ...] = (
    # Features and Functionality
    ("Features and Functionality", "Capability they need is missing", "risk"),
    ("Features and Functionality", "Fit with their daily workflow", "both"),
    ("Features and Functionality", "Depth of reporting and analytics", "both"),
    ("Features and Functionality", "Coverage of the integrations they rely on", "both"),
    ("Features and Functionality", "Ease of everyday use", "both"),
    # Competitive Threat
    ("Competitive Threat", "A competitor is courting them", "risk"),
    ("Competitive Threat", "Running a formal evaluation of alternatives", "risk"),
    ("Competitive Threat", "Consolidating onto a platform they already own", "risk"),
    ("Competitive Threat", "Sees a clear edge over alternatives", "success"),
    # Business Viability
    ("Business Viability", "Budget squeeze at the client", "risk"),
    ("Business Viability", "Merger, acquisition or change of owner", "risk"),
    ("Business Viability", "Layoffs or reorganisation", "risk"),
    ("Business Viability", "Financial distress or late payments", "risk"),
    ("Business Viability", "Client business is growing", "success"),
    # Support
    ("Support", "Slow first reply to tickets", "risk"),
    ("Support", "Escalations left unresolved", "risk"),
    ("Support", "Quality of fixes and answers", "both"),
    ("Support", "Support team singled out for praise", "success"),
    ("Support", "Ticket volume trend", "both"),
    # Relationship
    ("Relationship", "Executive sponsor engagement", "both"),
    ("Relationship", "Internal champion has left", "risk"),
    ("Relationship", "Relationship hangs on a single contact", "risk"),
    ("Relationship", "Treats us as a trusted advisor", "success"),
    ("Relationship", "Stakeholders have gone quiet", "risk"),
    # Product
    ("Product", "Reliability and uptime", "both"),
    ("Product", "Speed and responsiveness", "both"),
    ("Product", "Defects disrupting their work", "risk"),
    ("Product", "Roadmap matches their plans", "both"),
    ("Product", "Security or compliance concern", "risk"),
    # Sales
    ("Sales", "Promises made during the sale", "both"),
    ("Sales", "Friction over contract terms", "risk"),
    ("Sales", "Interest in buying more", "success"),
    ("Sales", "Outside our ideal customer profile", "risk"),
    # Customer Success
    ("Customer Success", "Steady rhythm of check-ins", "both"),
    ("Customer Success", "Agreed success plan in place", "success"),
    ("Customer Success", "Change of account manager", "risk"),
    ("Customer Success", "Values our proactive guidance", "success"),
    ("Customer Success", "Adoption below plan", "risk"),
    # Onboarding
    ("Onboarding", "Long wait for first value", "risk"),
    ("Onboarding", "Implementation running late", "risk"),
    ("Onboarding", "Smooth launch", "success"),
    ("Onboarding", "Users not yet trained", "risk"),
    # Value/ROI
    ("Value/ROI", "Measurable outcomes delivered", "success"),
    ("Value/ROI", "Value not yet shown to leadership", "risk"),
    ("Value/ROI", "Business case written down and agreed", "success"),
    ("Value/ROI", "Usage falling month on month", "risk"),
    ("Value/ROI", "Willing to be a reference or case study", "success"),
    # Pricing
    ("Pricing", "Pushback on a price increase", "risk"),
    ("Pricing", "Cost compared with value received", "both"),
    ("Pricing", "Invoice or billing dispute", "risk"),
    ("Pricing", "Comfortable with current pricing", "success"),
)

# Downsell and termination codes explain a loss, so they are all `risk`; a tenant may still retype
# them (for example a "project finished on time" termination that is a success story).
_DOWNSELL: tuple[tuple[str, str, CodeType], ...] = (
    ("Budget", "Client budget reduced", "risk"),
    ("Budget", "Renegotiated price at renewal", "risk"),
    ("Usage", "Fewer seats needed", "risk"),
    ("Usage", "A module is no longer used", "risk"),
    ("Usage", "Licensed far more than they use", "risk"),
    ("Usage", "Project or programme finished", "risk"),
    ("Competition", "Part of the work moved to a competitor", "risk"),
    ("Competition", "Part of the work brought in-house", "risk"),
    ("Organisation", "Team or department closed", "risk"),
    ("Organisation", "Contracts consolidated across the group", "risk"),
    ("Organisation", "Client business shrinking", "risk"),
    ("Product", "Product fits fewer of their needs", "risk"),
)

_TERMINATION: tuple[tuple[str, str, CodeType], ...] = (
    ("Competition", "Switched to a competitor", "risk"),
    ("Competition", "Brought the work in-house", "risk"),
    ("Business Viability", "Acquired or merged", "risk"),
    ("Business Viability", "Went out of business", "risk"),
    ("Business Viability", "Budget eliminated", "risk"),
    ("Business Viability", "Change in strategic direction", "risk"),
    ("Product", "Product did not meet their needs", "risk"),
    ("Support", "Poor support experience", "risk"),
    ("Relationship", "Champion or sponsor departed", "risk"),
    ("Onboarding", "Never completed onboarding", "risk"),
    ("Pricing", "Price judged too high", "risk"),
    ("Contract", "Non-payment or breach of contract", "risk"),
)


def _build(tab: Tab, rows: tuple[tuple[str, str, CodeType], ...]) -> tuple[DefaultCode, ...]:
    return tuple(
        DefaultCode(tab=tab, category=category, name=name, type=code_type, position=index)
        for index, (category, name, code_type) in enumerate(rows, start=1)
    )


DEFAULT_LIBRARY: Final[tuple[DefaultCode, ...]] = (
    _build("pulse", _PULSE) + _build("downsell", _DOWNSELL) + _build("termination", _TERMINATION)
)

REQUIRED_PULSE_CATEGORIES: Final[tuple[str, ...]] = (
    "Features and Functionality",
    "Competitive Threat",
    "Business Viability",
    "Support",
    "Relationship",
    "Product",
    "Sales",
    "Customer Success",
    "Onboarding",
    "Value/ROI",
    "Pricing",
)


def default_codes(tab: Tab) -> tuple[DefaultCode, ...]:
    return tuple(code for code in DEFAULT_LIBRARY if code.tab == tab)


def categories(codes: Sequence[DefaultCode]) -> tuple[str, ...]:
    """Distinct categories in first-seen order, which is the order a report groups them in."""
    return tuple(dict.fromkeys(code.category for code in codes))


def is_valid_tab(value: object) -> bool:
    return isinstance(value, str) and value in TABS


def is_valid_type(value: object) -> bool:
    return isinstance(value, str) and value in TYPES


def type_matches(code_type: str, factor_kind: str) -> bool:
    """Whether a `code_type` code may be attached as a `factor_kind` ("risk"/"success") factor."""
    if factor_kind not in FACTOR_KINDS or code_type not in TYPES:
        return False
    return code_type == "both" or code_type == factor_kind


class CodeView(Protocol):
    """What the factor rules need to know about a stored code; the store's model satisfies it."""

    @property
    def tab(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def active(self) -> bool: ...


def validate_factor_list(
    value: object, field: str, max_items: int = MAX_FACTORS
) -> tuple[list[str], dict[str, str]]:
    """Shape check for code ids: a list of non-empty strings, at most `max_items`, no repeats.

    Returns the ids in the caller's order (order is priority) and field errors keyed `field` or
    `field[i]`. The ids are returned even when there are errors so a caller can report all problems
    at once.
    """
    errors: dict[str, str] = {}
    if value is None:
        return [], errors
    if not isinstance(value, list | tuple):
        return [], {field: "must be a list of reason code ids"}
    ids: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        key = f"{field}[{index}]"
        if not isinstance(item, str) or not item.strip():
            errors[key] = "must be a non-empty reason code id"
            continue
        if item in seen:
            errors[key] = "is listed more than once"
            continue
        seen.add(item)
        ids.append(item)
    if len(value) > max_items:
        errors[field] = f"at most {max_items} allowed"
    return ids, errors


def validate_factors(
    value: object,
    kind: FactorKind,
    codes: Mapping[str, CodeView],
    field: str | None = None,
    allow_inactive: frozenset[str] = frozenset(),
) -> tuple[list[str], dict[str, str]]:
    """Full rule check for one side of a pulse (risk or success factors) against the tenant's codes.

    `codes` maps id -> code for the tenant only, so another tenant's id reads as unknown.
    `allow_inactive` lets a "same update" carry over codes that were active when first chosen.
    """
    field = field or f"{kind}_factors"
    ids, errors = validate_factor_list(value, field)
    for index, code_id in enumerate(ids):
        key = f"{field}[{index}]"
        code = codes.get(code_id)
        if code is None:
            errors.setdefault(key, "unknown reason code")
        elif code.tab != "pulse":
            errors.setdefault(key, "is not a pulse reason code")
        elif not type_matches(code.type, kind):
            errors.setdefault(key, f"is a {code.type} code and cannot be a {kind} factor")
        elif not code.active and code_id not in allow_inactive:
            errors.setdefault(key, "is inactive")
    return ids, errors


def validate_code_fields(
    tab: object, category: object, name: object, code_type: object
) -> dict[str, str]:
    """Field errors for creating or editing a reason code."""
    errors: dict[str, str] = {}
    if not is_valid_tab(tab):
        errors["tab"] = f"must be one of {', '.join(TABS)}"
    if not isinstance(category, str) or not category.strip():
        errors["category"] = "is required"
    elif len(category.strip()) > MAX_CATEGORY_LENGTH:
        errors["category"] = f"at most {MAX_CATEGORY_LENGTH} characters"
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "is required"
    elif len(name.strip()) > MAX_NAME_LENGTH:
        errors["name"] = f"at most {MAX_NAME_LENGTH} characters"
    if not is_valid_type(code_type):
        errors["type"] = f"must be one of {', '.join(TYPES)}"
    return errors
