"""Web sign-in through the identity provider, the no-access page, and sign-out that also ends
the provider's session when it offers RP-initiated logout (end_session_endpoint)."""

from __future__ import annotations

import logging
from typing import Any

from authlib.integrations.base_client import OAuthError
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.views import LogoutView
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET
from requests import RequestException

from csvhub.sso.config import OidcConfig
from csvhub.sso.provider import web_client
from csvhub.sso.services import NoAccess, sso_user_sign_in

logger = logging.getLogger(__name__)

ID_TOKEN_KEY = "csvhub_sso_id_token"
NEXT_KEY = "csvhub_sso_next"
_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _config() -> OidcConfig:
    config: OidcConfig = settings.CSVHUB_OIDC
    if not config.enabled:
        raise Http404("Single sign-on is not configured.")
    return config


@require_GET
def sign_in(request: HttpRequest) -> HttpResponse:
    """Send the browser to the provider (state, nonce and the PKCE verifier kept in the session)."""
    config = _config()
    request.session[NEXT_KEY] = _safe_next(request, request.GET.get("next", ""))
    callback = request.build_absolute_uri(reverse("sso-callback"))
    try:
        response: HttpResponse = web_client(config).authorize_redirect(request, callback)
    except RequestException as exc:
        return _unavailable(request, config, exc)
    return response


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """The provider's answer: exchange the code, read the claims, sign in or explain why not."""
    config = _config()
    client = web_client(config)
    try:
        token = client.authorize_access_token(request)
        claims = _claims(client, token)
        user = sso_user_sign_in(config=config, claims=claims)
    except NoAccess as exc:
        return _no_access(request, config, str(exc), status=403)
    except OAuthError as exc:
        return _no_access(request, config, f"Sign-in failed: {exc.description or exc.error}.")
    except RequestException as exc:
        return _unavailable(request, config, exc)
    login(request, user, backend=_BACKEND)
    request.session[ID_TOKEN_KEY] = token.get("id_token", "")
    return HttpResponseRedirect(request.session.pop(NEXT_KEY, "") or settings.LOGIN_REDIRECT_URL)


def _claims(client: Any, token: dict[str, Any]) -> dict[str, object]:
    """The ID token's claims over the userinfo endpoint's: many providers put groups and email
    in one or the other only. Both must be about the same subject."""
    id_claims = dict(token.get("userinfo") or {})
    if not id_claims:
        raise OAuthError(description="the provider sent no ID token")
    if not client.load_server_metadata().get("userinfo_endpoint"):
        return id_claims
    userinfo = dict(client.userinfo(token=token))
    if userinfo.get("sub") != id_claims.get("sub"):
        raise OAuthError(description="the userinfo endpoint answered for another subject")
    return {**userinfo, **id_claims}


def _safe_next(request: HttpRequest, target: str) -> str:
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else ""


def _no_access(
    request: HttpRequest, config: OidcConfig, reason: str, *, status: int = 400
) -> HttpResponse:
    context = {"reason": reason, "provider_name": config.provider_name}
    return render(request, "sso/no_access.html", context, status=status)


def _unavailable(request: HttpRequest, config: OidcConfig, exc: Exception) -> HttpResponse:
    logger.error("identity provider %s unreachable: %s", config.issuer, exc)
    reason = f"{config.provider_name} cannot be reached right now; try again in a moment."
    return render(
        request,
        "sso/no_access.html",
        {"reason": reason, "provider_name": config.provider_name},
        status=503,
    )


class SignOutView(LogoutView):
    """Django's sign-out; a session opened through the provider is then sent to the provider's
    end_session_endpoint, which signs the user out there too and returns them to /login/."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        id_token = request.session.get(ID_TOKEN_KEY, "")
        response = super().post(request, *args, **kwargs)
        end_session = _end_session_url(request, id_token) if id_token else None
        return HttpResponseRedirect(end_session) if end_session else response


def _end_session_url(request: HttpRequest, id_token: str) -> str | None:
    config: OidcConfig = settings.CSVHUB_OIDC
    if not config.enabled:
        return None
    client = web_client(config)
    try:
        if not client.load_server_metadata().get("end_session_endpoint"):
            return None
    except RequestException as exc:
        logger.warning("signed out of csvhub only, the provider is unreachable: %s", exc)
        return None
    url: str = client.create_logout_url(
        post_logout_redirect_uri=request.build_absolute_uri(settings.LOGOUT_REDIRECT_URL),
        id_token_hint=id_token,
        client_id=config.client_id,
    )["url"]
    return url
