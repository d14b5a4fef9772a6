"""Changing one's own password from the account menu."""

from __future__ import annotations

import pytest
from django.test import Client

from .actors import PASSWORD, World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def project_urls(settings) -> None:
    # The pages around the menu (/, /tokens/) are the web app's: the project's routes.
    settings.ROOT_URLCONF = "csvhub.urls"


NEW = "a fresh long passphrase 7"


def _signed_in(world: World, name: str) -> Client:
    client = Client()
    client.force_login(getattr(world, name))
    return client


def test_account_menu_links_to_change_password(world: World) -> None:
    page = _signed_in(world, "bob").get("/").content.decode()

    assert 'class="account-menu"' in page
    assert 'href="/account/password/"' in page
    assert "Sign out" in page


def test_change_password_keeps_the_session_and_the_new_password_works(world: World) -> None:
    client = _signed_in(world, "bob")

    answer = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
        follow=True,
    )

    assert "Your password was changed." in answer.content.decode()
    assert client.get("/tokens/").status_code == 200  # still signed in
    assert Client().login(username="bob", password=NEW)
    assert not Client().login(username="bob", password=PASSWORD)


def test_change_password_needs_the_old_one_and_a_good_new_one(world: World) -> None:
    client = _signed_in(world, "bob")

    wrong_old = client.post(
        "/account/password/",
        {"old_password": "nope", "new_password1": NEW, "new_password2": NEW},
    )
    weak = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )

    assert "Your old password was entered incorrectly" in wrong_old.content.decode()
    assert "This password is entirely numeric." in weak.content.decode()
    assert Client().login(username="bob", password=PASSWORD)


def test_change_password_needs_a_signed_in_user() -> None:
    answer = Client().get("/account/password/")

    assert answer.status_code == 302
    assert answer["Location"].startswith("/login/")


def test_account_without_a_password_is_sent_to_its_provider(world: World) -> None:
    world.bob.set_unusable_password()
    world.bob.save()
    client = _signed_in(world, "bob")

    assert 'href="/account/password/"' not in client.get("/").content.decode()
    answer = client.get("/account/password/", follow=True)
    assert "change your password there" in answer.content.decode()
