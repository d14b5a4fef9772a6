"""Every page of the UI, and the API docs, refer to csvhub's own origin only: no script, style,
font, image, link or form target elsewhere, and a Content-Security-Policy that allows nothing
else. So csvhub works offline, behind an air gap, and leaks nothing about its users.

Pages are found from the URL patterns (every GET route of the project that answers HTML), so a
new page is checked without being listed here.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from csvhub.accounts.models import Role
from csvhub.accounts.services import invitation_create
from tests.accounts.actors import World
from tests.web.conftest import SALES

pytestmark = pytest.mark.django_db

STATIC = Path(__file__).resolve().parents[2] / "csvhub" / "web" / "static"
# Not pages: the API, the operators' Django admin, health probes.
NOT_PAGES = ("api/", "admin/", "healthz", "readyz")
_REFERENCE = re.compile(
    r"""\b(?:src|href|action|formaction|poster|srcset|content)\s*=\s*["']([^"']*)["']"""
    r"""|url\(\s*["']?([^"')]+)""",
    re.IGNORECASE,
)
CSP_OWN = {"'self'", "'none'", "data:", "'unsafe-inline'"}


def _routes(patterns: list[URLPattern | URLResolver], prefix: str = "") -> list[str]:
    routes: list[str] = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes += _routes(pattern.url_patterns, route)
        else:
            routes.append(route)
    return routes


def _page_urls(values: dict[str, str]) -> list[str]:
    urls = []
    for route in _routes(get_resolver().url_patterns):
        if route.startswith(NOT_PAGES) or route.startswith("^"):
            continue
        urls.append("/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route))
    return urls


def _foreign(text: str) -> list[str]:
    found = []
    for match in _REFERENCE.finditer(text):
        for ref in filter(None, match.group(1, 2)):
            for part in ref.split(","):  # srcset
                url = part.strip().split(" ")[0]
                parts = urlsplit(url)
                absolute = parts.scheme in ("http", "https") or url.startswith("//")
                if absolute and parts.netloc != "testserver":
                    found.append(url)
    return found


def _csp_foreign(policy: str) -> list[str]:
    sources = [source for directive in policy.split(";") for source in directive.split()[1:]]
    return [source for source in sources if source not in CSP_OWN]


@pytest.fixture
def values(world: World, uploaded) -> dict[str, str]:
    dataset_upload = uploaded(world.acme, "sales.csv", SALES + "oops\n")
    invitation = invitation_create(
        organization=world.globex,
        identifier="alice",
        role=Role.VIEWER,
        invited_by=world.mallory,
        base_url="http://testserver",
    )
    return {
        "slug": dataset_upload.dataset.slug,
        "upload_id": str(dataset_upload.id),
        "invitation_id": str(invitation.id),
        "answer": "accept",
        "uidb64": urlsafe_base64_encode(force_bytes(world.bob.pk)),
        "token": default_token_generator.make_token(world.bob),
    }


def test_every_page_refers_to_its_own_origin_only(world: World, values: dict[str, str]) -> None:
    signed_in, anonymous = Client(), Client()
    signed_in.force_login(world.alice)
    checked = []
    for url in _page_urls(values):
        for client in (signed_in, anonymous):
            answer = client.get(url, follow=True)
            if "text/html" not in answer.get("Content-Type", ""):
                continue
            checked.append(url)
            assert _foreign(answer.content.decode()) == [], url
            assert _csp_foreign(answer["Content-Security-Policy"]) == [], url
    assert {"/", "/login/", "/tokens/", "/members/", "/account/password/"} <= set(checked)
    assert any(url.startswith("/datasets/") for url in checked)


def test_api_docs_load_everything_from_csvhub(world: World) -> None:
    client = Client()
    client.force_login(world.alice)

    page = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")
    schema = client.get("/api/schema/")

    assert page.status_code == script.status_code == schema.status_code == 200
    assert _foreign(page.content.decode()) == []
    assert _csp_foreign(page["Content-Security-Policy"]) == []
    assert '"validatorUrl": null' in script.content.decode()  # no badge from swagger.io
    # No server or example names a host: "Try it out" calls the install serving the page.
    assert re.findall(r"https?://", schema.content.decode()) == []
    # Swagger UI itself ships with csvhub (drf-spectacular-sidecar), served as static files.
    assets = re.findall(r'(?:src|href)="(/static/[^"?]+)', page.content.decode())
    assert assets and all(a.startswith("/static/drf_spectacular_sidecar/") for a in assets)


def test_csvhubs_own_static_files_fetch_nothing_from_elsewhere() -> None:
    for path in STATIC.rglob("*"):
        if path.suffix in (".js", ".css", ".svg"):
            urls = re.findall(r"https?://[^\s\"')]+", path.read_text())
            assert [u for u in urls if not u.startswith("http://www.w3.org/")] == [], path
