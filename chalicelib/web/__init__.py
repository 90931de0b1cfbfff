"""The staff web app: server-rendered pages under ``/app`` on the same Chalice app as the API.

``bp`` is the one blueprint ``app.py`` registers; importing this package declares every page.
See ``docs/web.md`` for how to add a page.
"""

from chalicelib.web import (
    accounts,
    auth_pages,
    fallback,
    heartbeat,
    notifications,
    pulse,
    review_analytics,
    shell,
    tasks,
    workspace,
)
from chalicelib.web.routing import bp

__all__ = [
    "accounts",
    "auth_pages",
    "bp",
    "fallback",
    "heartbeat",
    "notifications",
    "pulse",
    "review_analytics",
    "shell",
    "tasks",
    "workspace",
]
