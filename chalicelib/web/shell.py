"""Navigation targets whose pages are not built yet.

Each answers the 404 page (signed in, with the navigation) so that every link of the shell
leads somewhere on this site. Building one of these pages means removing its path here and
declaring it with ``page_route`` in its own module (Chalice refuses a path declared twice).
"""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.routing import ADMIN, ALL_ROLES
from chalicelib.web.routing import Page, page_route

PLANNED: dict[str, tuple[str, ...]] = {
    "/app/reports": ALL_ROLES,
    "/app/follow-ups": ALL_ROLES,
    "/app/admin/reason-codes": ADMIN,
    "/app/admin/users": ADMIN,
    "/app/admin/settings": ADMIN,
}


def _planned(path: str, roles: tuple[str, ...]) -> None:
    def view(page: Page) -> Response:
        return page.not_found()

    view.__name__ = "planned_" + path.removeprefix("/app/").replace("/", "_").replace("-", "_")
    page_route(path, roles=roles)(view)


for _path, _roles in PLANNED.items():
    _planned(_path, _roles)
