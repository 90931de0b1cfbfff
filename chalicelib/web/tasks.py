"""The account page's forms: **Mark as acknowledged** (a follow-up request), **Mark completed**
(an action or a comment) and a staff note on a comment. Each posts the record's id to its
account's path and goes back to the account page (303); the use cases are the API's
(``services/account_tasks.py``). A record of another account, another manager's account or
another tenant answers the 404 page and changes nothing."""

from __future__ import annotations

from typing import Annotated

from chalice.app import Response
from pydantic import Field

from chalicelib.api.access import account_for
from chalicelib.api.types import Text
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.services import account_tasks as tasks
from chalicelib.web import forms
from chalicelib.web.accounts import dashboard_page
from chalicelib.web.routing import Page, page_route


class NoteForm(forms.Form):
    comment_id: str = Field(min_length=1, max_length=80)
    text: Annotated[Text, Field(min_length=1)]


def _id(page: Page, name: str) -> str:
    value = page.form.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > 80:
        raise NotFound(f"{name} not found")
    return value.strip()


def _back(account_id: str, notice: str, anchor: str) -> str:
    return f"/app/accounts/{account_id}?notice={notice}#{anchor}"


@page_route("/app/accounts/{account_id}/follow-ups/acknowledge", methods=["POST"])
def acknowledge(page: Page, account_id: str) -> Response:
    account = account_for(page.user, account_id)
    tasks.acknowledge_follow_up(page.user, _id(page, "follow_up_id"), account_id=account.account_id)
    return page.redirect(_back(account.account_id, "acknowledged", "tasks"))


@page_route("/app/accounts/{account_id}/actions/complete", methods=["POST"])
def complete_action(page: Page, account_id: str) -> Response:
    account = account_for(page.user, account_id)
    tasks.update_action(
        page.user, _id(page, "action_id"), {"status": "completed"}, account_id=account.account_id
    )
    return page.redirect(_back(account.account_id, "action-completed", "tasks"))


@page_route("/app/accounts/{account_id}/comments/complete", methods=["POST"])
def complete_comment(page: Page, account_id: str) -> Response:
    account = account_for(page.user, account_id)
    tasks.complete_comment(page.user, _id(page, "comment_id"), account_id=account.account_id)
    return page.redirect(_back(account.account_id, "comment-completed", "comments"))


@page_route("/app/accounts/{account_id}/comments/notes", methods=["POST"])
def add_note(page: Page, account_id: str) -> Response:
    account = account_for(page.user, account_id)
    comment_id = _id(page, "comment_id")
    text = page.form.get("text")
    form, errors = forms.parse(NoteForm, {"comment_id": comment_id, "text": text})
    try:
        if form is None:
            raise ValidationFailed(errors)
        tasks.add_note(page.user, form.comment_id, form.text, account_id=account.account_id)
    except ValidationFailed as exc:
        fields = dict(exc.fields or {})
        if "text" in fields and not (isinstance(text, str) and text.strip()):
            fields["text"] = "write a note first"
        return dashboard_page(
            page,
            account,
            status=422,
            errors={"text": fields.get("text", "check the note")},
            note_for=comment_id,
            note_text=text if isinstance(text, str) else "",
        )
    return page.redirect(_back(account.account_id, "note-added", f"comment-{comment_id}"))
