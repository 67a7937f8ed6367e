"""Who a request is from, as Nexudus decides it: a bearer token from `POST /api/token`, or Basic
credentials; and that token endpoint itself, with its password and refresh-token grants
(form-encoded, OAuth's error names)."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

from .responder import Responder
from .state import SandboxState


def caller(state: SandboxState, authorization: str) -> str | None:
    """The account an `Authorization` header proves, None when it proves none."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return state.token_user(value)
    if scheme.lower() == "basic":
        try:
            email, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None
        return state.account_user(email, password)
    return None


def token_account(state: SandboxState, body: bytes) -> str | None:
    """The account a token request names, to count it against: the password grant's username,
    or the user of the refresh token it redeems (left unspent); None when it names none."""
    try:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    except UnicodeDecodeError:
        return None
    if form.get("grant_type") == "refresh_token":
        return state.refresh_token_user(form.get("refresh_token", ""))
    username = form.get("username", "")
    return username if username in state.accounts else None


def token(responder: Responder, state: SandboxState, content_type: str, body: bytes) -> int:
    """Answer a token request: a new access and refresh token, or OAuth's error."""
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return responder.send(400, {"error": "unsupported_grant_type"})
    try:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    except UnicodeDecodeError:
        return responder.send(400, {"error": "invalid_request"})
    grant = form.get("grant_type")
    if grant == "password":
        user = state.account_user(form.get("username", ""), form.get("password", ""))
        if user is None:
            return responder.send(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "The user name or password is incorrect.",
                },
            )
        return responder.send(200, state.issue_token(user))
    if grant == "refresh_token":
        renewed = state.redeem(form.get("refresh_token", ""))
        if renewed is None:
            return responder.send(400, {"error": "invalid_grant"})
        return responder.send(200, state.issue_token(renewed))
    return responder.send(400, {"error": "unsupported_grant_type"})
