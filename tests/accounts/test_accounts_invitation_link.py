"""With the console mailer csvhub sends no mail, so an invitation comes with a link for the
admin to pass on: one shape for everyone (it tells nothing about who has an account); a
newcomer following it chooses a password, anyone else signs in and answers."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from csvhub.mail import CONSOLE_BACKEND

from .actors import World

pytestmark = pytest.mark.django_db
LINK = re.compile(r"^http://testserver/invitations/[0-9a-f-]{36}/join/[\w-]+/$")


@pytest.fixture
def console_mailer(settings) -> None:
    settings.MAILERS = {"default": {"BACKEND": CONSOLE_BACKEND}}


def _invite(api_as, who: str) -> dict:
    answer = api_as("admin").post(
        "/api/v1/members/invitations/", {"user": who, "role": "editor"}, format="json"
    )
    assert answer.status_code == 202, answer.content
    return answer.json()


def test_newcomer_follows_the_link_chooses_a_password_and_joins(
    world: World, api_as, console_mailer
) -> None:
    link = _invite(api_as, "newcomer@example.com")["link"]
    assert LINK.match(link)
    listed = api_as("admin").get("/api/v1/members/invitations/").json()["results"]
    assert LINK.match(listed[0]["link"])

    browser = Client()
    choose = browser.get(link.removeprefix("http://testserver"), follow=True)
    assert "Choose a new password" in choose.content.decode()
    password = "a brand new passphrase 9"
    browser.post(
        choose.redirect_chain[-1][0],
        {"new_password1": password, "new_password2": password},
    )
    assert browser.login(username="newcomer@example.com", password=password)
    assert browser.get("/api/v1/invitations/").json()["results"][0]["organization_slug"] == "acme"
    # Used: the link now only leads to sign-in.
    again = Client().get(link.removeprefix("http://testserver"))
    assert again["Location"] == "/login/?next=/invitations/"


def test_existing_user_is_sent_to_sign_in_then_the_invitations(
    world: World, api_as, console_mailer
) -> None:
    link = _invite(api_as, "mallory")["link"]
    assert LINK.match(link)

    answer = Client().get(link.removeprefix("http://testserver"))

    assert answer.status_code == 302
    assert answer["Location"] == "/login/?next=/invitations/"


def test_no_link_when_mail_is_sent(world: World, api_as, settings) -> None:
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

    assert _invite(api_as, "mallory")["link"] is None
    assert api_as("admin").get("/api/v1/members/invitations/").json()["results"][0]["link"] is None
