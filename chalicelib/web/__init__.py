"""The staff web app: server-rendered pages under ``/app`` on the same Chalice app as the API.

``bp`` is the one blueprint ``app.py`` registers; importing this package declares every page.
See ``docs/web.md`` for how to add a page.
"""

from chalicelib.web import accounts, auth_pages, shell, workspace
from chalicelib.web.routing import bp

__all__ = ["accounts", "auth_pages", "bp", "shell", "workspace"]
