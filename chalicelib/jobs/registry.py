"""Jobs runnable by schedule, by queue fan-out, or by hand: ``pulse jobs run NAME --date D``.

Every job takes the date it runs for and must be idempotent for that date: EventBridge delivers
at least once, and operators backfill by running a date again.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from datetime import date
from typing import Any

Job = Callable[[date], dict[str, Any]]
Progress = Callable[[str], None]

JOBS: dict[str, Job] = {}

_progress: ContextVar[Progress | None] = ContextVar("job_progress", default=None)


def progress(message: str) -> None:
    """One line of progress (a tenant or slice done) for whoever runs the job by hand."""
    hook = _progress.get()
    if hook is not None:
        hook(message)


def job(name: str) -> Callable[[Job], Job]:
    def register(fn: Job) -> Job:
        JOBS[name] = fn
        return fn

    return register


def run(name: str, on_date: date, on_progress: Progress | None = None) -> dict[str, Any]:
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(sorted(JOBS))}")
    token = _progress.set(on_progress)
    try:
        return JOBS[name](on_date)
    finally:
        _progress.reset(token)
