"""The whole browser flow in a real headless Chromium: csvhub's login page → the provider's
sign-in form → back to csvhub, signed in with the role the provider's groups give; sign-out
that also ends the provider's session; the no-access page.

The provider requires PKCE (tests/oidc/provider.mjs), so a flow without it fails here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from csvhub.accounts.models import Membership
from csvhub.sso.models import SsoIdentity
from tests.accounts.actors import World
from tests.sso.provider import PROVIDER_NAME, Idp
from tests.web.chromium import WAIT_MS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page(browser, sso: Idp, live_server) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url)
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on(
        "console",
        lambda message: "Content Security Policy" in message.text and errors.append(message.text),
    )
    yield opened
    context.close()
    assert not errors, errors


def _provider_sign_in(page, login: str) -> None:
    page.goto("/login/")
    page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "anything")
    page.click("button[type=submit]")


def test_sign_in_through_the_provider_and_out_of_both(
    page, sso: Idp, live_server, world: World
) -> None:
    from playwright.sync_api import expect

    _provider_sign_in(page, "erin")

    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator(".whoami")).to_contain_text("erin, editor")
    user = SsoIdentity.objects.get(issuer=sso.issuer, subject="erin").user
    assert list(Membership.objects.filter(user=user).values_list("organization__slug", "role")) == [
        ("acme", "editor")
    ]

    page.locator(".account-menu summary").click()
    expect(page.get_by_role("link", name="Change password")).to_have_count(0)  # no password here
    page.get_by_role("button", name="Sign out").click()
    # The provider asks, then sends the browser back to csvhub's sign-in page.
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{live_server.url}/login/?state=*")
    page.goto("/")
    page.wait_for_url(f"{live_server.url}/login/?next=/")
    # The provider's session ended too: it asks for the login again.
    page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()
    expect(page.locator("input[name=login]")).to_be_visible()


def test_user_without_a_matching_group_sees_no_access(
    page, sso: Idp, live_server, world: World
) -> None:
    from playwright.sync_api import expect

    _provider_sign_in(page, "nora")

    page.wait_for_url(f"{live_server.url}/sso/callback/**")
    expect(page.locator("h1")).to_have_text("No access to csvhub")
    expect(page.locator(".error")).to_contain_text("no role in any organization")
    assert not SsoIdentity.objects.filter(subject="nora").exists()
    page.goto("/")
    page.wait_for_url(f"{live_server.url}/login/?next=/")
