"""`Authorization: Bearer <JWT>` with the identity provider's access tokens, for API clients
that sign their users in at the provider (a CLI, another service).

Listed before csvhub's own token authentication: a value shaped like a JWT is ours, anything
else (csvhub_<prefix>_<secret>) is left to csvhub.accounts.authentication. The token's claims
go through the same role rules as the web sign-in; the request then acts as the provider
user's csvhub account, with the memberships those rules give (csvhub.accounts.access).
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from csvhub.accounts import ratelimit
from csvhub.accounts.authentication import failure_count
from csvhub.sso.provider import TokenRejected, access_token_claims
from csvhub.sso.services import NoAccess, sso_user_sign_in

# Three base64url parts, the first a JSON object ("{" encodes as "ey").
_JWT = re.compile(rb"^ey[\w-]*\.[\w-]+\.[\w-]+$")


class ProviderTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, dict[str, Any]] | None:
        config = settings.CSVHUB_OIDC
        parts = get_authorization_header(request).split()
        if not config.api_audience or len(parts) != 2 or parts[0].lower() != b"bearer":
            return None
        if not _JWT.match(parts[1]):
            return None  # not a JWT: csvhub's own token authentication decides
        try:
            claims = access_token_claims(config, parts[1].decode("ascii"))
            user = sso_user_sign_in(config=config, claims=claims)
        except TokenRejected as exc:
            failure_count(ratelimit.client_ip(request._request))
            raise exceptions.AuthenticationFailed(str(exc)) from None
        except NoAccess as exc:
            # A genuine token of someone the rules give no role: known, but not allowed in.
            raise exceptions.PermissionDenied(str(exc)) from None
        return user, claims

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
