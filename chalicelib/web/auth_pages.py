"""Sign-in and account recovery pages: ``/``, ``/app/login``, ``/app/logout``,
``/app/forgot-password``, ``/app/reset-password``, ``/app/accept-invite``.

They call the same Cognito functions as the JSON routes in ``chalicelib/api/auth.py``. A wrong
password shows the form again with the error, status 401; invalid fields answer 422. Sign-out
is a POST (with the CSRF token): it ends every session of the user in Cognito (global sign-out:
their refresh tokens stop working) and clears the cookies; a GET only shows the button.
"""

from __future__ import annotations

from chalice.app import Response
from pydantic import Field

from chalicelib.api.types import Email
from chalicelib.auth import cognito
from chalicelib.auth.tokens import principal_from_claims, verify_id_token
from chalicelib.errors import BadRequest, Conflict, RateLimited, Unauthorized
from chalicelib.services import principals
from chalicelib.web import forms, session
from chalicelib.web.routing import Page, page_route

LABELS = {
    "email": "Email",
    "password": "Password",
    "code": "Code",
    "temporary_password": "Temporary password",
    "new_password": "New password",
}
NewPassword = Field(min_length=8, max_length=256)


class LoginForm(forms.Form):
    email: Email
    password: str = Field(min_length=1, max_length=256)


class ForgotForm(forms.Form):
    email: Email


class ResetForm(forms.Form):
    email: Email
    code: str = Field(min_length=1, max_length=64)
    new_password: str = NewPassword


class AcceptInviteForm(forms.Form):
    email: Email
    temporary_password: str = Field(min_length=1, max_length=256)
    new_password: str = NewPassword


@page_route("/", public=True)
def root(page: Page) -> Response:
    return page.redirect(session.HOME_PATH)


def _form(
    page: Page,
    template: str,
    title: str,
    kept: tuple[str, ...],
    *,
    status: int,
    errors: dict[str, str] | None,
    **context: object,
) -> Response:
    """One of these forms, again with the fields named in ``kept`` as they were posted."""
    return page.render(
        template,
        status=status,
        title=title,
        errors=errors or {},
        labels=LABELS,
        values=forms.values(page.form, kept),
        **context,
    )


def _login_form(page: Page, *, status: int = 200, errors: dict[str, str] | None = None) -> Response:
    return _form(
        page,
        "web/login.html",
        "Sign in",
        ("email",),
        status=status,
        errors=errors,
        next=session.safe_next(page.form.get("next") or page.query.get("next")),
        notice=page.query.get("notice", ""),
    )


def _signed_in(page: Page, tokens: dict[str, str], location: str) -> Response:
    """Check the new tokens as every page will (token, then the stored user), then set them."""
    principals.current(principal_from_claims(verify_id_token(tokens["id_token"])))
    page.set_cookies.extend(session.session_cookies(tokens))
    return page.redirect(location)


@page_route("/app/login", public=True)
def login_page(page: Page) -> Response:
    if page.principal is not None:
        return page.redirect(session.safe_next(page.query.get("next")))
    return _login_form(page)


@page_route("/app/login", methods=["POST"], public=True)
def login_submit(page: Page) -> Response:
    form, errors = forms.parse(LoginForm, page.form)
    if form is None:
        return _login_form(page, status=422, errors=errors)
    try:
        tokens = cognito.login(form.email, form.password)
        return _signed_in(page, tokens, session.safe_next(page.form.get("next")))
    except RateLimited:
        message = "Too many attempts. Wait a minute, then try again."
        return _login_form(page, status=429, errors={"password": message})
    except Unauthorized as exc:
        message = (
            "Finish your invitation first: choose a password"
            if "invitation" in exc.message
            else "Wrong email or password"
        )
        return _login_form(page, status=401, errors={"password": message})


@page_route("/app/logout")
def logout_page(page: Page) -> Response:
    return page.render("web/logout.html", title="Sign out")


@page_route("/app/logout", methods=["POST"], public=True, signed_out_without_token=True)
def logout(page: Page) -> Response:
    """Public so that a session that has already ended (expired, revoked, deactivated user) can
    still clear its cookies and go to sign-in; a live session needs its CSRF token."""
    if page.principal is not None:
        cognito.sign_out(page.principal.email)
    page.set_cookies.extend(session.cleared_session())
    return page.redirect(session.LOGIN_PATH + "?notice=signed-out")


def _forgot_form(
    page: Page, *, status: int = 200, errors: dict[str, str] | None = None
) -> Response:
    return _form(
        page, "web/forgot.html", "Forgot your password", ("email",), status=status, errors=errors
    )


@page_route("/app/forgot-password", public=True)
def forgot_page(page: Page) -> Response:
    return _forgot_form(page)


@page_route("/app/forgot-password", methods=["POST"], public=True)
def forgot_submit(page: Page) -> Response:
    form, errors = forms.parse(ForgotForm, page.form)
    if form is None:
        return _forgot_form(page, status=422, errors=errors)
    # The same answer whether or not the address is registered.
    cognito.forgot_password(form.email)
    return page.redirect("/app/reset-password?notice=code-sent")


def _reset_form(page: Page, *, status: int = 200, errors: dict[str, str] | None = None) -> Response:
    return _form(
        page,
        "web/reset.html",
        "Choose a new password",
        ("email", "code"),
        status=status,
        errors=errors,
        notice=page.query.get("notice", ""),
    )


@page_route("/app/reset-password", public=True)
def reset_page(page: Page) -> Response:
    return _reset_form(page)


@page_route("/app/reset-password", methods=["POST"], public=True)
def reset_submit(page: Page) -> Response:
    form, errors = forms.parse(ResetForm, page.form)
    if form is None:
        return _reset_form(page, status=422, errors=errors)
    try:
        cognito.reset_password(form.email, form.code, form.new_password)
    except BadRequest as exc:
        return _reset_form(page, status=422, errors=_recovery_errors(exc))
    return page.redirect(session.LOGIN_PATH + "?notice=password-reset")


def _recovery_errors(exc: BadRequest) -> dict[str, str]:
    fields = dict(exc.fields or {})
    out = {}
    if "new_password" in fields or "password" in fields:
        out["new_password"] = "Choose a stronger password"  # noqa: S105 (a message)
    if "code" in fields:
        out["code"] = "The code is not valid or has expired"
    return out or {"new_password": exc.message}


def _invite_form(
    page: Page, *, status: int = 200, errors: dict[str, str] | None = None
) -> Response:
    return _form(
        page,
        "web/accept_invite.html",
        "Accept your invitation",
        ("email",),
        status=status,
        errors=errors,
    )


@page_route("/app/accept-invite", public=True)
def accept_invite_page(page: Page) -> Response:
    return _invite_form(page)


@page_route("/app/accept-invite", methods=["POST"], public=True)
def accept_invite_submit(page: Page) -> Response:
    form, errors = forms.parse(AcceptInviteForm, page.form)
    if form is None:
        return _invite_form(page, status=422, errors=errors)
    try:
        tokens = cognito.accept_invite(form.email, form.temporary_password, form.new_password)
        return _signed_in(page, tokens, session.HOME_PATH)
    except Unauthorized:
        message = "Wrong email or temporary password"
        return _invite_form(page, status=401, errors={"temporary_password": message})
    except Conflict:
        message = "This invitation has already been accepted: sign in instead"
        return _invite_form(page, status=409, errors={"email": message})
    except BadRequest as exc:
        return _invite_form(page, status=422, errors=_recovery_errors(exc))
