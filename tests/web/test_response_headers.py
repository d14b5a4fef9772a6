"""Every answer that carries data is never cached, and pages run csvhub's own scripts only.

API JSON, CSV and NDJSON exports, original files, error answers and HTML pages all carry
`Cache-Control: no-store`, a Content-Security-Policy and a Permissions-Policy.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from django.utils.http import parse_http_date

from csvhub.datasets.models import Upload
from tests.accounts.actors import World
from tests.web.conftest import SALES

pytestmark = pytest.mark.django_db

STATIC = Path(__file__).resolve().parents[2] / "csvhub" / "web" / "static" / "csvhub"


@pytest.fixture
def sales(world: World, uploaded) -> Upload:
    return uploaded(world.acme, "sales.csv", SALES)


def _api(path: str) -> Callable[..., object]:
    return lambda api_as, client_as, upload: api_as("viewer").get(path.format(upload=upload))


def _page(path: str) -> Callable[..., object]:
    return lambda api_as, client_as, upload: client_as("bob").get(path.format(upload=upload))


ANSWERS = {
    "api json": _api("/api/v1/datasets/"),
    "api rows": _api("/api/v1/datasets/sales/rows/"),
    "api upload": _api("/api/v1/uploads/{upload.id}/"),
    "api rejects": _api("/api/v1/uploads/{upload.id}/rejects/"),
    "csv export": _api("/api/v1/datasets/sales/rows/?format=csv"),
    "ndjson export": _api("/api/v1/datasets/sales/rows/?format=ndjson"),
    "original file": _api("/api/v1/uploads/{upload.id}/file"),
    "api error": _api("/api/v1/datasets/sales/rows/?nope=eq:1"),
    "api not found": _api("/api/v1/datasets/missing/"),
    "schema": _api("/api/schema/"),
    "files page": _page("/"),
    "dataset page": _page("/datasets/sales/"),
    "session export": _page("/api/v1/datasets/sales/rows/?format=csv&org=acme"),
    "session original": _page("/api/v1/uploads/{upload.id}/file?org=acme"),
    "live progress": _page("/files/live/"),
    "sign-in page": lambda api_as, client_as, upload: Client().get("/login/"),
}


@pytest.mark.parametrize("answer", ANSWERS.values(), ids=ANSWERS.keys())
def test_answers_with_data_are_never_cached(answer, api_as, client_as, sales) -> None:
    response = answer(api_as, client_as, sales)
    assert "no-store" in response["Cache-Control"]
    assert "public" not in response["Cache-Control"]


@pytest.mark.parametrize("answer", ANSWERS.values(), ids=ANSWERS.keys())
def test_answers_carry_a_content_security_and_permissions_policy(
    answer, api_as, client_as, sales
) -> None:
    response = answer(api_as, client_as, sales)
    policy = _directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    features = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in features


def test_api_docs_load_swagger_ui_from_our_own_static_files(client_as, world, settings) -> None:
    response = client_as("bob").get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    header = response["Content-Security-Policy"]
    assert not re.search(r"(https?:)?//", page + header), "nothing may come from another origin"
    policy = _directives(header)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]  # its one inline <style>
    assert policy["form-action"] == ["'self'"]  # the rest of the site's policy holds
    assert policy["frame-ancestors"] == ["'none'"]
    assert "<script>" not in page  # the UI's own script is a file
    script = client_as("bob").get("/api/docs/?script=")
    assert b"SwaggerUIBundle" in script.content
    bundle = re.search(r'<script src="(/static/[^"]+/swagger-ui-bundle\.[0-9a-f]{12}\.js)"', page)
    assert bundle, page
    served = Client().get(bundle[1])
    assert served.status_code == 200
    assert b"SwaggerUIBundle" in b"".join(served.streaming_content)


def _directives(header: str) -> dict[str, list[str]]:
    parts = (directive.split() for directive in header.split(";") if directive.strip())
    return {name: values for name, *values in parts}


def test_never_cache_headers_are_django_s_own(api_as, sales) -> None:
    from django.http import HttpResponse
    from django.utils.cache import add_never_cache_headers

    django_s = HttpResponse()
    add_never_cache_headers(django_s)
    response = api_as("viewer").get("/api/v1/datasets/sales/rows/")

    assert response["Cache-Control"] == django_s["Cache-Control"]
    assert abs(parse_http_date(response["Expires"]) - parse_http_date(django_s["Expires"])) <= 2


def test_pages_name_each_static_file_by_its_content_which_is_cached_for_good(client_as) -> None:
    """A deploy changes a script's name with its content: a browser holding the old page (or an
    old script in its cache) never pairs it with the new version of another script, and the
    old names are still served while the old pages are open (collectstatic keeps them)."""
    page = client_as("bob").get("/").content.decode()
    assets = re.findall(r'(?:src|href)="/static/(csvhub/[^"]+)"', page)
    assert any(asset.endswith(".js") for asset in assets), page
    for asset in assets:
        named = re.fullmatch(r"(csvhub/[\w-]+)\.([0-9a-f]{12})\.(js|css|svg)", asset)
        assert named, f"{asset} is not named by its content"
        served = Client().get(f"/static/{asset}")
        assert served.status_code == 200
        if named[3] == "js":  # served as written (a stylesheet's url()s are renamed too)
            source = (STATIC / f"{named[1].removeprefix('csvhub/')}.js").read_bytes()
            assert hashlib.md5(source).hexdigest()[:12] == named[2]
            assert b"".join(served.streaming_content) == source
        assert "immutable" in served["Cache-Control"]
        assert int(re.search(r"max-age=(\d+)", served["Cache-Control"])[1]) >= 365 * 86400
