"""`Authorization: Bearer csvhub_<prefix>_<secret>` for the API."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from csvhub.accounts import ratelimit
from csvhub.accounts.models import ApiToken
from csvhub.accounts.selectors import token_find
from csvhub.accounts.services import token_touch
from csvhub.accounts.tokens import token_looks_valid

KEYWORD = b"bearer"


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticates API tokens; the request then acts as the token's user, in the token's
    organization, with the token's role (see csvhub.accounts.access).

    Revocation, expiry and removal of the owner from the organization take effect on the next
    request: every request reads the token afresh. Bad tokens count against the client address
    (csvhub.accounts.ratelimit); past the limit a bad token from that address answers 429 instead
    of 401 until the window ends. A valid token is always accepted: many clients can share one
    address (NAT, a proxy), and one of them sending bad tokens must not lock the others out.
    Guessing gains nothing from that, since a token's secret has 256 random bits.
    """

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD:
            return None  # not ours: let session authentication try
        try:
            token = _token_verified(parts)
        except exceptions.AuthenticationFailed:
            failure_count(ratelimit.client_ip(request._request))
            raise
        token_touch(token=token, now=timezone.now())
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def failure_count(ip: str) -> None:
    """Count one bad token from `ip` (csvhub's or a provider's); past the limit answer 429
    rather than 401."""
    limit = ratelimit.token_limit()
    wait = ratelimit.retry_after(limit, ip)
    if wait is not None:
        raise exceptions.Throttled(wait=wait, detail="Too many invalid tokens from this address.")
    ratelimit.failure_record(limit, ip)


def _token_verified(parts: list[bytes]) -> ApiToken:
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed(
            "Malformed Authorization header; send 'Authorization: Bearer <token>'."
        )
    text = parts[1].decode("latin-1")
    token = token_find(text=text) if token_looks_valid(text) else None
    if token is None:
        raise exceptions.AuthenticationFailed("Invalid token.")
    state = token.state(now=timezone.now())
    if state != "active":
        raise exceptions.AuthenticationFailed(f"This token is {state}.")
    if getattr(token, "owner_role", None) is None or not token.user.is_active:
        raise exceptions.AuthenticationFailed(
            "This token's owner no longer has access to its organization."
        )
    return token
