"""A real OpenID provider for the tests: tests/oidc/provider.mjs (the certified `oidc-provider`
package from npm, installed by `make test` with `npm ci`) on Node.js, on a loopback port.

`Idp.token(login)` signs a user in at the provider without a browser (its development login
form takes any password) and returns the access token the provider issues to an API client: a
real JWT signed by the provider's current key. `Idp.rotate()` restarts the provider with a new
signing key under a new kid, as a key rotation looks to csvhub.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from csvhub.sso.config import OidcConfig, rules_parse
from tests.services import IN_CI

OIDC_DIR = Path(__file__).resolve().parents[1] / "oidc"
API_AUDIENCE = "urn:csvhub:api"
OTHER_AUDIENCE = "urn:other:api"
SHORT_AUDIENCE = "urn:csvhub:short-lived"
PROVIDER_NAME = "Test IdP"
RULES = (
    "groups=csvhub-acme-editors -> acme:editor; "
    "groups=csvhub-acme-admins -> acme:admin; "
    "groups=csvhub-globex-viewers -> globex:viewer"
)
ACCOUNTS = {
    "erin": {"groups": ["csvhub-acme-editors"], "email": "erin@corp.example"},
    "olga": {"groups": ["csvhub-acme-admins", "csvhub-globex-viewers"]},
    "nora": {"groups": ["marketing"]},
}
API_CLIENT_REDIRECT = "http://127.0.0.1:9/callback"  # never reached: the code is read from it


def missing(message: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Idp:
    site_url: str  # csvhub's live server, where the provider sends browsers back
    port: int = field(default_factory=_free_port)
    generation: int = 0
    process: subprocess.Popen[str] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self, **changes: Any) -> OidcConfig:
        values: dict[str, Any] = {
            "issuer": self.issuer,
            "client_id": "csvhub-web",
            "client_secret": "web-secret",
            "scopes": "openid email profile groups",
            "provider_name": PROVIDER_NAME,
            "rules": rules_parse(RULES),
            "api_audience": API_AUDIENCE,
            "leeway_seconds": 0,
        }
        return OidcConfig(**{**values, **changes})

    def start(self) -> None:
        self.generation += 1
        options = {
            "port": self.port,
            "kid": f"key-{self.generation}",
            "webClient": {
                "id": "csvhub-web",
                "secret": "web-secret",
                "redirectUri": f"{self.site_url}/sso/callback/",
                "postLogoutRedirectUri": f"{self.site_url}/login/",
            },
            "apiClient": {
                "id": "csvhub-cli",
                "secret": "cli-secret",
                "redirectUri": API_CLIENT_REDIRECT,
            },
            "apiAudience": API_AUDIENCE,
            "otherAudience": OTHER_AUDIENCE,
            "shortAudience": SHORT_AUDIENCE,
            "accounts": ACCOUNTS,
        }
        self.process = subprocess.Popen(
            ["node", str(OIDC_DIR / "provider.mjs"), json.dumps(options)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("ready "):
            self.stop()
            pytest.fail(f"the OpenID provider did not start: {line!r}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def rotate(self) -> None:
        """A new signing key under a new kid; the old key is no longer published."""
        self.stop()
        self.start()

    @property
    def kid(self) -> str:
        return f"key-{self.generation}"

    def token(self, login: str, *, resource: str | None = None) -> str:
        """The access token the provider gives csvhub-cli for `login` (code flow with PKCE)."""
        session = requests.Session()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        params = {
            "client_id": "csvhub-cli",
            "response_type": "code",
            "redirect_uri": API_CLIENT_REDIRECT,
            "scope": "openid api",
            "state": secrets.token_urlsafe(8),
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
        extra = {"resource": resource} if resource else {}
        location = _redirect(
            session.get(f"{self.issuer}/auth", params={**params, **extra}, allow_redirects=False)
        )
        form = session.get(urljoin(self.issuer, location)).text
        action = re.search(r'<form[^>]*action="([^"]+)"', form)
        assert action, form
        answer = session.post(
            urljoin(self.issuer, action.group(1)),
            data={"prompt": "login", "login": login, "password": "any"},
            allow_redirects=False,
        )
        code = self._code(session, _redirect(answer))
        tokens = session.post(
            f"{self.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": API_CLIENT_REDIRECT,
                "code_verifier": verifier,
                **extra,
            },
            auth=("csvhub-cli", "cli-secret"),
        )
        assert tokens.status_code == 200, tokens.text
        return str(tokens.json()["access_token"])

    def _code(self, session: requests.Session, location: str) -> str:
        while not location.startswith(API_CLIENT_REDIRECT):
            location = _redirect(session.get(urljoin(self.issuer, location), allow_redirects=False))
        query = parse_qs(urlsplit(location).query)
        assert "code" in query, query
        return query["code"][0]


def _redirect(response: requests.Response) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    return response.headers["Location"]


def idp_started(site_url: str) -> Idp:
    if shutil.which("node") is None:
        missing(
            "Node.js is not installed; `apt-get install nodejs` to run the single sign-on tests"
        )
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        missing("oidc-provider is not installed; run `npm ci` in tests/oidc (make test does)")
    idp = Idp(site_url=site_url)
    idp.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            requests.get(f"{idp.issuer}/.well-known/openid-configuration", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    return idp
