"""``/app/notifications`` (the in-app notifications, newest first, each linking to its page) and
``/app/preferences`` (alert threshold, stale days, which kinds reach me by mail and in the app).
The same use cases as ``GET /notifications`` and ``GET``/``PUT /me/preferences``
(``services/inbox.py``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from chalice.app import Response
from pydantic import Field, field_validator

from chalicelib.domain.pulse_scale import LEVELS
from chalicelib.errors import BadRequest, ValidationFailed
from chalicelib.services import inbox
from chalicelib.web import forms
from chalicelib.web.routing import Page, page_route

PAGE_SIZE = 25
LABELS = {
    "alert_threshold_level": "Alert threshold",
    "stale_days": "Stale after (days)",
}
CHECKED = "on"


def _own_link(link: str | None) -> str | None:
    """Only this site's staff pages are linked (notifications store ``/app/…`` paths)."""
    if link and link.startswith("/app/") and "//" not in link and "\\" not in link:
        return link
    return None


@page_route("/app/notifications")
def notifications_page(page: Page) -> Response:
    cursor = page.query.get("cursor") or None
    try:
        result = inbox.notifications(page.user, limit=PAGE_SIZE, cursor=cursor)
    except BadRequest:  # a stale or foreign cursor: the first page
        cursor = None
        result = inbox.notifications(page.user, limit=PAGE_SIZE, cursor=None)
    items = [
        {
            "id": n.notification_id,
            "title": n.title,
            "body": n.body,
            "kind": inbox.kind_label(n.kind),
            "created_at": n.created_at,
            "read": n.read,
            "link": _own_link(n.link),
        }
        for n in result.items
    ]
    return page.render(
        "web/notifications.html",
        title="Notifications",
        items=items,
        cursor=cursor or "",
        next_cursor=result.next_cursor,
        notice=page.query.get("notice", ""),
    )


@page_route("/app/notifications/{notification_id}/read", methods=["POST"])
def notification_read(page: Page, notification_id: str) -> Response:
    inbox.mark_read(page.user, notification_id)  # another user's id: the 404 page
    back: dict[str, str] = {"notice": "read"}
    cursor = page.form.get("cursor")
    if isinstance(cursor, str) and cursor and len(cursor) <= 2048:
        back["cursor"] = cursor
    return page.redirect("/app/notifications?" + urlencode(back))


# ----------------------------------------------------------------------------- preferences


class PreferencesForm(forms.Form):
    alert_threshold_level: int = Field(ge=1, le=6)
    stale_days: int = Field(ge=1, le=365)

    @field_validator("alert_threshold_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in {str(int(lv)) for lv in LEVELS}:
            raise ValueError("choose a pulse level")
        return value

    @field_validator("stale_days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.isdigit():
            raise ValueError("enter a whole number of days, from 1 to 365")
        return value


def _checkbox_name(channel: str, kind: str) -> str:
    return f"{channel}_{kind}"


def _choices(form: dict[str, Any]) -> tuple[dict[str, dict[str, bool]], dict[str, str]]:
    """The ticked kinds per channel. A box browsers send carries ``on``; anything else is an
    error on that box, so a hand-made post changes nothing."""
    chosen: dict[str, dict[str, bool]] = {"email": {}, "in_app": {}}
    errors: dict[str, str] = {}
    for channel in chosen:
        for kind in inbox.kinds():
            name = _checkbox_name(channel, kind)
            value = form.get(name)
            if value is not None and value != CHECKED:
                errors[name] = "tick the box or leave it empty"
            chosen[channel][kind] = value == CHECKED
    return chosen, errors


def _preferences_form(
    page: Page,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    posted = bool(page.form)
    if posted:
        values = forms.values(page.form, tuple(LABELS))
        ticked = {
            name: page.form.get(name) == CHECKED
            for name in (_checkbox_name(c, k) for c in ("email", "in_app") for k in inbox.kinds())
        }
    else:
        prefs = inbox.preferences(page.user)
        values = {
            "alert_threshold_level": str(prefs.alert_threshold_level),
            "stale_days": str(prefs.stale_days),
        }
        ticked = {
            _checkbox_name(channel, kind): bool(getattr(prefs, channel).get(kind, True))
            for channel in ("email", "in_app")
            for kind in inbox.kinds()
        }
    labels = dict(LABELS)
    for channel, how in (("email", "By email"), ("in_app", "In the app")):
        for kind in inbox.kinds():
            labels[_checkbox_name(channel, kind)] = f"{how}: {inbox.kind_label(kind)}"
    return page.render(
        "web/preferences.html",
        status=status,
        title="My preferences",
        errors=errors or {},
        labels=labels,
        values=values,
        ticked=ticked,
        kinds=[(kind, inbox.kind_label(kind)) for kind in inbox.kinds()],
        levels=[(str(int(lv)), lv.label) for lv in LEVELS],
        notice=page.query.get("notice", "") if not posted else "",
    )


@page_route("/app/preferences")
def preferences_page(page: Page) -> Response:
    return _preferences_form(page)


@page_route("/app/preferences", methods=["POST"])
def preferences_submit(page: Page) -> Response:
    form, errors = forms.parse(PreferencesForm, page.form)
    chosen, box_errors = _choices(page.form)
    errors = {**errors, **box_errors}
    if form is None or errors:
        return _preferences_form(page, status=422, errors=errors)
    try:
        inbox.update_preferences(
            page.user,
            {
                "alert_threshold_level": form.alert_threshold_level,
                "stale_days": form.stale_days,
                **chosen,
            },
        )
    except ValidationFailed as exc:
        return _preferences_form(page, status=422, errors=dict(exc.fields or {}))
    return page.redirect("/app/preferences?notice=saved")
