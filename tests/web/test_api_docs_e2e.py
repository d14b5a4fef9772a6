"""In Chromium, with every request to another origin refused (as offline, or behind an air gap):
Swagger UI at /api/docs/ renders csvhub's API and asks nothing of any other origin."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.web.test_web_e2e import _expect, browser, server, signed_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def test_api_docs_render_offline(signed_in, server: str) -> None:  # noqa: F811
    expect = _expect()
    page = signed_in("alice")
    own = urlsplit(server).netloc
    elsewhere: list[str] = []

    def offline(route) -> None:
        if urlsplit(route.request.url).netloc == own or route.request.url.startswith("data:"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    page.goto("/api/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("csvhub API")
    expect(page.locator(".opblock-tag-section").first).to_be_visible()
    page.get_by_role("button", name="Authorize").click()
    expect(page.locator(".auth-container").first).to_be_visible()
    assert elsewhere == []
