"""Commands for headless installs: `csvhub token create`, `csvhub changepassword`."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from csvhub.accounts.models import ApiToken, Membership, Role

from .actors import World

pytestmark = pytest.mark.django_db


def _token(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("token", "create", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_token_create_prints_a_working_token_once(world: World) -> None:
    text, said = _token("--user", "carol", "--role", "editor", "--days", "30")

    assert "for 'carol' in 'acme' as editor" in said
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")
    assert client.get("/api/v1/organizations/").json()["results"][0]["slug"] == "acme"
    token = ApiToken.objects.get(user=world.carol, name="created with csvhub token create")
    assert token.expires_at is not None
    assert text not in {token.secret_hash, token.prefix}


def test_token_create_refuses_a_role_above_the_users(world: World) -> None:
    with pytest.raises(CommandError, match="at most your own role here"):
        _token("--user", "bob", "--role", "admin")


def test_token_create_asks_which_organization(world: World) -> None:
    Membership.objects.create(user=world.carol, organization=world.globex, role=Role.VIEWER)

    with pytest.raises(CommandError, match=r"several organizations \(acme, globex\); add --org"):
        _token("--user", "carol")
    text, said = _token("--user", "carol", "--org", "globex")
    assert "in 'globex' as viewer" in said and text.startswith("csvhub_")


def test_token_create_for_someone_who_is_no_member(world: World) -> None:
    with pytest.raises(CommandError, match="'nobody' is not a member of any organization"):
        _token("--user", "nobody")


def test_changepassword_sets_a_password_the_login_accepts(world: World, monkeypatch) -> None:
    answers = iter(["a new long passphrase 42"] * 2)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    call_command("changepassword", "bob", stdout=io.StringIO())

    world.bob.refresh_from_db()
    assert world.bob.check_password("a new long passphrase 42")
