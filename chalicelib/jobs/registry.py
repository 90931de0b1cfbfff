"""Jobs runnable by schedule, by queue fan-out, or by hand: ``pulse jobs run NAME --date D``.

Every job takes the date it runs for and must be idempotent for that date: EventBridge delivers
at least once, and operators backfill by running a date again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

Job = Callable[[date], dict[str, Any]]

JOBS: dict[str, Job] = {}


def job(name: str) -> Callable[[Job], Job]:
    def register(fn: Job) -> Job:
        JOBS[name] = fn
        return fn

    return register


def run(name: str, on_date: date) -> dict[str, Any]:
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(sorted(JOBS))}")
    return JOBS[name](on_date)
