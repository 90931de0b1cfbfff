"""Staff identities in the Cognito user pool: sign-up, sign-in, invitations, roles."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.clients import client
from chalicelib.errors import BadRequest, Conflict, RateLimited, Unauthorized
from chalicelib.settings import get_settings


def _idp() -> Any:
    return client("cognito-idp")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _tokens(result: dict[str, Any]) -> dict[str, Any]:
    auth = result["AuthenticationResult"]
    tokens = {
        "id_token": auth["IdToken"],
        "access_token": auth["AccessToken"],
        "expires_in": auth.get("ExpiresIn", 3600),
    }
    if "RefreshToken" in auth:
        tokens["refresh_token"] = auth["RefreshToken"]
    return tokens


def create_user(
    email: str, tenant_id: str, role: str, *, password: str | None = None, invite: bool = False
) -> str:
    """Create a staff identity; returns its ``sub``. With ``invite`` Cognito mails a
    temporary password; with ``password`` the user can sign in at once (sign-up)."""
    settings = get_settings()
    kwargs: dict[str, Any] = {
        "UserPoolId": settings.user_pool_id,
        "Username": email,
        "UserAttributes": [
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "custom:tenant_id", "Value": tenant_id},
        ],
    }
    if invite:
        kwargs["DesiredDeliveryMediums"] = ["EMAIL"]
    else:
        kwargs["MessageAction"] = "SUPPRESS"
    try:
        created = _idp().admin_create_user(**kwargs)
    except ClientError as exc:
        if _code(exc) == "UsernameExistsException":
            raise Conflict("that email is already registered", {"email": "taken"}) from exc
        if _code(exc) == "InvalidPasswordException":
            raise BadRequest("password too weak", {"password": "too weak"}) from exc
        raise
    attrs = {a["Name"]: a["Value"] for a in created["User"].get("Attributes", [])}
    sub = attrs.get("sub") or created["User"]["Username"]
    try:
        if password is not None:
            _idp().admin_set_user_password(
                UserPoolId=settings.user_pool_id, Username=email, Password=password, Permanent=True
            )
        set_role(email, role)
    except Exception:
        # Never leave an identity without a role or password behind a failed sign-up.
        _idp().admin_delete_user(UserPoolId=settings.user_pool_id, Username=email)
        raise
    return str(sub)


def delete_user(email: str) -> None:
    _idp().admin_delete_user(UserPoolId=get_settings().user_pool_id, Username=email)


def set_role(email: str, role: str) -> None:
    settings = get_settings()
    groups = _idp().admin_list_groups_for_user(UserPoolId=settings.user_pool_id, Username=email)
    for group in groups.get("Groups", []):
        if group["GroupName"] != role:
            _idp().admin_remove_user_from_group(
                UserPoolId=settings.user_pool_id, Username=email, GroupName=group["GroupName"]
            )
    _idp().admin_add_user_to_group(UserPoolId=settings.user_pool_id, Username=email, GroupName=role)


def set_active(email: str, active: bool) -> None:
    settings = get_settings()
    if active:
        _idp().admin_enable_user(UserPoolId=settings.user_pool_id, Username=email)
    else:
        _idp().admin_disable_user(UserPoolId=settings.user_pool_id, Username=email)


def sign_out(email: str) -> None:
    """Sign the user out everywhere: their refresh tokens stop working now. An ID token already
    issued stays valid until it expires, which is why staff requests check the stored user."""
    _idp().admin_user_global_sign_out(UserPoolId=get_settings().user_pool_id, Username=email)


def login(email: str, password: str) -> dict[str, Any]:
    try:
        result = _idp().initiate_auth(
            ClientId=get_settings().user_pool_client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
    except ClientError as exc:
        if _code(exc) == "TooManyRequestsException":
            raise RateLimited("too many attempts; wait a moment") from exc
        if _code(exc) in ("NotAuthorizedException", "UserNotFoundException"):
            raise Unauthorized("wrong email or password") from exc
        raise
    if "AuthenticationResult" not in result:
        # An invited user must choose a password first (POST /auth/accept-invite).
        raise Unauthorized("finish your invitation first: choose a password")
    return _tokens(result)


def refresh(refresh_token: str) -> dict[str, Any]:
    try:
        result = _idp().initiate_auth(
            ClientId=get_settings().user_pool_client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
    except ClientError as exc:
        raise Unauthorized("the refresh token is not valid") from exc
    return _tokens(result)


def forgot_password(email: str) -> None:
    try:
        _idp().forgot_password(ClientId=get_settings().user_pool_client_id, Username=email)
    except ClientError:
        # 202 always: the answer must not reveal whether an address is registered.
        return


def reset_password(email: str, code: str, new_password: str) -> None:
    try:
        _idp().confirm_forgot_password(
            ClientId=get_settings().user_pool_client_id,
            Username=email,
            ConfirmationCode=code,
            Password=new_password,
        )
    except ClientError as exc:
        if _code(exc) == "InvalidPasswordException":
            raise BadRequest("password too weak", {"new_password": "too weak"}) from exc
        raise BadRequest("the code is not valid", {"code": "not valid or expired"}) from exc


def accept_invite(email: str, temporary_password: str, new_password: str) -> dict[str, Any]:
    client_id = get_settings().user_pool_client_id
    try:
        started = _idp().initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": temporary_password},
        )
    except ClientError as exc:
        raise Unauthorized("wrong email or temporary password") from exc
    if started.get("ChallengeName") != "NEW_PASSWORD_REQUIRED":
        raise Conflict("this invitation has already been accepted")
    try:
        result = _idp().respond_to_auth_challenge(
            ClientId=client_id,
            ChallengeName="NEW_PASSWORD_REQUIRED",
            Session=started["Session"],
            ChallengeResponses={"USERNAME": email, "NEW_PASSWORD": new_password},
        )
    except ClientError as exc:
        if _code(exc) == "InvalidPasswordException":
            raise BadRequest("password too weak", {"new_password": "too weak"}) from exc
        raise
    return _tokens(result)
