"""Django's browser middleware (sessions, CSRF, the lazy user, messages), skipped on API calls
that carry a Bearer token.

Such a call is authenticated by its token alone (csvhub.accounts.authentication answers it or
refuses it; session authentication is never consulted), so the session, the CSRF cookie and
the messages would only cost time: about 0.3 ms of a 1 ms page request. Everything else keeps
them: the web UI, and API calls authenticated by the session cookie, whose writes DRF's
SessionAuthentication still checks for a CSRF token.

CsrfViewMiddleware.process_view is not skipped (Django calls it apart from the middleware
chain): on a Bearer call it finds DRF's views exempt, and on any other view it fails closed.
"""

from __future__ import annotations

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware

from csvhub.api import API_PREFIXES


def bearer_api_call(request: HttpRequest) -> bool:
    """An API path with `Authorization: Bearer …`: the token authenticator decides it."""
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    return authorization[:7].lower() == "bearer " and request.path_info.startswith(API_PREFIXES)


class _BrowserOnly:
    """Pass Bearer API calls straight on; run the wrapped middleware for everything else."""

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if bearer_api_call(request):
            return self.get_response(request)  # type: ignore[attr-defined,no-any-return]
        return super().__call__(request)  # type: ignore[misc,no-any-return]


class BrowserSessionMiddleware(_BrowserOnly, SessionMiddleware):
    pass


class BrowserCsrfMiddleware(_BrowserOnly, CsrfViewMiddleware):
    pass


class BrowserAuthenticationMiddleware(_BrowserOnly, AuthenticationMiddleware):
    pass


class BrowserMessageMiddleware(_BrowserOnly, MessageMiddleware):
    pass
