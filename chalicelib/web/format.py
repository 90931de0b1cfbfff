"""Display helpers the page templates use (passed to every page as ``fmt``)."""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.domain.pulse_scale import label


def money(minor: int | None, currency: str = "USD") -> str:
    """Integer minor units as ``USD 1,200.00``."""
    value = int(minor or 0)
    sign = "-" if value < 0 else ""
    whole, cents = divmod(abs(value), 100)
    return f"{currency} {sign}{whole:,}.{cents:02d}"


def revenue(per_currency: Mapping[str, int]) -> str:
    """Revenue summed per currency, never converted: ``USD 1,200.00 + EUR 50.00``."""
    if not per_currency:
        return money(0)
    return " + ".join(money(v, c) for c, v in sorted(per_currency.items()))


def level(value: int | None) -> str:
    return "Not set" if value is None else label(value)


def score(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def day(value: str | None) -> str:
    return (value or "")[:10] or "–"
