"""In Chromium: with the console mailer, the members page shows each invitation's link with a
Copy button, and the copied link is the one the API gives."""

from __future__ import annotations

import re

import pytest

from csvhub.mail import CONSOLE_BACKEND
from tests.web.chromium import _expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_members_page_shows_the_invitation_link_with_a_copy_button(
    signed_in,
    settings,
) -> None:
    settings.MAILERS = {"default": {"BACKEND": CONSOLE_BACKEND}}
    expect = _expect()
    page = signed_in("alice")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/members/")
    expect(page.locator("#invite-help")).to_contain_text("copy each invitation's link")

    page.fill("#invite-user", "newcomer@example.com")
    page.click("#invite-form button[type=submit]")

    link = page.locator("#invitation-table .invitation-link")
    expect(link).to_have_count(1)
    expect(link).to_have_value(
        re.compile(r"^http://localhost:\d+/invitations/[0-9a-f-]{36}/join/[\w-]+/$")
    )
    page.get_by_role("button", name="Copy link").click()
    expect(page.locator("#member-status")).to_contain_text("Copied the invitation link")
    assert page.evaluate("navigator.clipboard.readText()") == link.input_value()
