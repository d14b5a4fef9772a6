"""The login page with single sign-on, password sign-in switched off, and what single sign-on
never does: make an operator, or reuse a local account."""

from __future__ import annotations

import pytest
from django.test import Client

from csvhub.accounts.models import Membership
from csvhub.sso.models import SsoIdentity
from csvhub.sso.services import NoAccess, sso_user_sign_in
from tests.accounts.actors import PASSWORD, World
from tests.sso.provider import PROVIDER_NAME, Idp

pytestmark = pytest.mark.django_db


def test_login_page_offers_the_provider_next_to_the_password_form(sso: Idp) -> None:
    page = Client().get("/login/?next=/members/").content.decode()

    assert f"Sign in with {PROVIDER_NAME}" in page
    assert 'href="/sso/login/?next=/members/"' in page
    assert 'name="password"' in page


def test_password_sign_in_can_be_switched_off(sso: Idp, world: World, settings) -> None:
    settings.CSVHUB_PASSWORD_LOGIN = False
    client = Client()

    page = client.get("/login/").content.decode()
    answer = client.post("/login/", {"username": "alice", "password": PASSWORD})

    assert f"Sign in with {PROVIDER_NAME}" in page
    assert 'name="password"' not in page
    assert answer.status_code == 403
    assert "_auth_user_id" not in client.session


def test_without_single_sign_on_the_login_page_is_the_password_form(world: World) -> None:
    page = Client().get("/login/").content.decode()

    assert "Sign in with" not in page
    assert Client().get("/sso/login/").status_code == 404


def test_operator_is_never_signed_in_through_the_provider(sso: Idp, world: World) -> None:
    claims = {"sub": "olga", "groups": ["csvhub-acme-admins"]}
    user = sso_user_sign_in(config=sso.config(), claims=claims)
    user.is_superuser = user.is_staff = True  # made an operator in /admin/ later
    user.save()

    with pytest.raises(NoAccess, match="Operators sign in with their password"):
        sso_user_sign_in(config=sso.config(), claims=claims)


def test_provider_user_never_takes_over_a_local_account_of_the_same_name(
    sso: Idp, world: World
) -> None:
    claims = {
        "sub": "alice-at-idp",
        "preferred_username": "alice",
        "groups": ["csvhub-acme-editors"],
    }

    user = sso_user_sign_in(config=sso.config(), claims=claims)

    assert user != world.alice
    assert user.username == "alice-2"
    assert Membership.objects.get(user=world.alice).role == "admin"  # untouched


def test_accounts_of_the_provider_get_no_password_reset_mail(
    sso: Idp, world: World, mailoutbox
) -> None:
    sso_user_sign_in(
        config=sso.config(),
        claims={"sub": "erin", "email": "erin@corp.example", "groups": ["csvhub-acme-editors"]},
    )
    user = SsoIdentity.objects.get(subject="erin").user

    Client().post("/password-reset/", {"email": "erin@corp.example"})

    assert mailoutbox == []
    user.refresh_from_db()
    assert user.has_usable_password() is False
