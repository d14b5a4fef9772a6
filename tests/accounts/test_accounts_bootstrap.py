"""`csvhub createadmin` and the first-run bootstrap."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from csvhub.accounts.models import Membership, Organization, Role
from csvhub.accounts.services import ensure_first_admin

from .actors import World


def _createadmin(*args: str) -> str:
    out = io.StringIO()
    call_command("createadmin", *args, stdout=out)
    return out.getvalue()


def _printed_password(output: str) -> str:
    match = re.search(r"[Pp]assword[^:]*: (\S+)", output)
    assert match, output
    return match.group(1)


@pytest.mark.django_db
def test_createadmin_creates_organization_and_admin_with_a_printed_password() -> None:
    output = _createadmin("--org", "acme", "--username", "root", "--email", "root@example.com")

    password = _printed_password(output)
    root = get_user_model().objects.get(username="root")
    assert root.is_superuser and root.is_staff
    assert root.check_password(password)
    assert Membership.objects.get(user=root, organization__slug="acme").role == Role.ADMIN
    assert "Created organization 'acme'." in output
    assert "Sign in at /login/ as 'root'." in output
    assert Client().login(username="root", password=password)


@pytest.mark.django_db
def test_createadmin_uses_the_given_password_without_printing_it() -> None:
    output = _createadmin("--username", "root", "--password", "a long given passphrase")

    assert "a long given passphrase" not in output
    assert Client().login(username="root", password="a long given passphrase")
    assert Organization.objects.filter(slug="default").exists()


@pytest.mark.django_db
def test_createadmin_run_twice_keeps_everything_and_says_so() -> None:
    first = _printed_password(_createadmin("--org", "acme", "--username", "root"))

    output = _createadmin("--org", "acme", "--username", "root", "--password", "ignored pass 123")

    assert "Organization 'acme' already exists; kept." in output
    assert "password unchanged" in output
    assert "'root' was already an admin of 'acme'." in output
    assert Client().login(username="root", password=first)
    assert get_user_model().objects.filter(username="root").count() == 1


def test_createadmin_promotes_an_existing_member(world: World) -> None:
    output = _createadmin("--org", "acme", "--username", "bob")

    assert "'bob' was viewer of 'acme'; now admin." in output
    world.bob.refresh_from_db()
    assert world.bob.is_superuser
    assert Membership.objects.get(user=world.bob, organization=world.acme).role == Role.ADMIN


def test_createadmin_adds_an_existing_user_to_a_new_organization(world: World) -> None:
    output = _createadmin("--org", "initech", "--username", "mallory")

    assert "Created organization 'initech'." in output
    assert "'mallory' is now an admin of 'initech'." in output


@pytest.mark.django_db
def test_createadmin_rejects_a_weak_password_and_creates_nothing() -> None:
    with pytest.raises(CommandError, match="too short"):
        _createadmin("--username", "root", "--password", "abc")

    assert not get_user_model().objects.exists()
    assert not Organization.objects.exists()


@pytest.mark.django_db
def test_createadmin_rejects_a_bad_slug() -> None:
    with pytest.raises(CommandError, match="slug"):
        _createadmin("--org", "not a slug")


@pytest.mark.django_db
def test_first_run_creates_default_admin_and_prints_how_to_sign_in() -> None:
    out = io.StringIO()

    ensure_first_admin(stdout=out)

    password = _printed_password(out.getvalue())
    assert "/login/" in out.getvalue()
    assert Membership.objects.get(user__username="admin", organization__slug="default").role == (
        Role.ADMIN
    )
    assert Client().login(username="admin", password=password)


def test_first_run_does_nothing_once_a_user_exists(world: World) -> None:
    out = io.StringIO()

    ensure_first_admin(stdout=out)

    assert out.getvalue() == ""
    assert not Organization.objects.filter(slug="default").exists()


@pytest.mark.django_db
def test_first_run_is_quiet_the_second_time() -> None:
    ensure_first_admin(stdout=io.StringIO())
    out = io.StringIO()

    ensure_first_admin(stdout=out)

    assert out.getvalue() == ""
    assert get_user_model().objects.count() == 1
