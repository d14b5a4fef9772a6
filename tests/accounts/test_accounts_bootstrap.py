"""`csvhub createadmin` (organization admins), `csvhub createoperator` (operators of the
installation, the only users of /admin/) and the first-run bootstrap."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.checks import WARNING, CheckMessage, run_checks
from django.core.management import CommandError, call_command
from django.core.management.base import OutputWrapper
from django.test import Client

from csvhub.accounts.models import Membership, Organization, Role
from csvhub.accounts.services import ensure_first_admin
from csvhub.jobs.management.commands.serve import Command as Serve

from .actors import PASSWORD, World


def _createadmin(*args: str) -> str:
    out = io.StringIO()
    call_command("createadmin", *args, stdout=out)
    return out.getvalue()


def _createoperator(*args: str) -> str:
    out = io.StringIO()
    call_command("createoperator", *args, stdout=out)
    return out.getvalue()


def _signed_in(username: str, password: str) -> Client:
    client = Client()
    assert client.login(username=username, password=password)
    return client


def _printed_password(output: str) -> str:
    match = re.search(r"[Pp]assword[^:]*: (\S+)", output)
    assert match, output
    return match.group(1)


@pytest.mark.django_db
def test_createadmin_creates_organization_and_admin_with_a_printed_password() -> None:
    output = _createadmin("--org", "acme", "--username", "root", "--email", "root@example.com")

    password = _printed_password(output)
    root = get_user_model().objects.get(username="root")
    assert not root.is_superuser and not root.is_staff
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
    assert not world.bob.is_superuser and not world.bob.is_staff
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
@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("root", "31415926535897", "entirely numeric"),
        ("aldebaran", "aldebaran1", "too similar to the username"),
    ],
)
def test_createadmin_rejects_numeric_and_username_like_passwords(
    username: str, password: str, message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        _createadmin("--username", username, "--password", password)

    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_createadmin_rejects_a_bad_slug() -> None:
    with pytest.raises(CommandError, match="slug"):
        _createadmin("--org", "not a slug")


def test_an_organization_admin_cannot_open_the_django_admin(world: World) -> None:
    """The issue's scenario: acme's admin must not reach /admin/ and join globex there."""
    password = _printed_password(_createadmin("--org", "acme", "--username", "root"))
    root = _signed_in("root", password)

    assert root.get("/admin/")["Location"].startswith("/admin/login/")
    add = root.post(
        "/admin/accounts/membership/add/",
        {"user": root.session["_auth_user_id"], "organization": world.globex.pk, "role": "admin"},
    )
    assert add.status_code == 302 and add["Location"].startswith("/admin/login/")
    assert not Membership.objects.filter(user__username="root", organization=world.globex)


def test_createadmin_keeps_an_operator_an_operator(world: World) -> None:
    _createoperator("--username", "mallory")

    _createadmin("--org", "initech", "--username", "mallory")

    world.mallory.refresh_from_db()
    assert world.mallory.is_superuser and world.mallory.is_staff


@pytest.mark.django_db
def test_createoperator_creates_a_superuser_who_opens_the_django_admin() -> None:
    output = _createoperator("--username", "ops", "--email", "ops@example.com")

    ops = get_user_model().objects.get(username="ops")
    assert ops.is_superuser and ops.is_staff
    assert "Created operator 'ops'." in output
    assert not Membership.objects.filter(user=ops).exists()
    assert _signed_in("ops", _printed_password(output)).get("/admin/").status_code == 200


def test_createoperator_promotes_an_existing_user_without_touching_the_password(
    world: World,
) -> None:
    output = _createoperator("--username", "bob", "--password", "ignored pass 123")

    assert "'bob' is now an operator; password unchanged." in output
    world.bob.refresh_from_db()
    assert world.bob.is_superuser
    assert _signed_in("bob", PASSWORD).get("/admin/").status_code == 200


@pytest.mark.django_db
def test_createoperator_rejects_a_numeric_password() -> None:
    with pytest.raises(CommandError, match="entirely numeric"):
        _createoperator("--username", "ops", "--password", "27182818284590")


@pytest.mark.django_db
def test_first_run_creates_an_organization_admin_who_is_not_an_operator() -> None:
    """Operators are created explicitly (createoperator); the bootstrap says how."""
    out = io.StringIO()

    ensure_first_admin(stdout=out)

    password = _printed_password(out.getvalue())
    assert "/login/" in out.getvalue()
    assert "csvhub createoperator --username" in out.getvalue()
    assert Membership.objects.get(user__username="admin", organization__slug="default").role == (
        Role.ADMIN
    )
    admin = get_user_model().objects.get(username="admin")
    assert not admin.is_superuser and not admin.is_staff
    assert _signed_in("admin", password).get("/admin/").status_code == 302  # to its sign-in
    assert _check_warnings() == []


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


# --- upgrades: organization admins made superusers by the old createadmin -----------------------


def _check_warnings() -> list[CheckMessage]:
    return [m for m in run_checks(databases=["default"]) if m.id == "csvhub.W001"]


def _old_createadmin(user: User) -> None:
    """What createadmin did before issue 11: the organization admin became a superuser."""
    user.is_staff = user.is_superuser = True
    user.save()


def test_the_check_names_organization_admins_who_are_operators(world: World) -> None:
    _old_createadmin(world.alice)  # admin of acme
    _createoperator("--username", "ops")  # an operator who is no organization's admin
    world.bob.is_staff = True  # staff, and an editor of acme
    world.bob.save()

    [warning] = _check_warnings()

    assert warning.level == WARNING
    assert "'alice'" in warning.msg
    assert "ops" not in warning.msg and "bob" not in warning.msg
    assert "csvhub demoteoperator --username" in warning.hint


def test_the_check_is_silent_when_no_organization_admin_is_an_operator(world: World) -> None:
    _createoperator("--username", "ops")

    assert _check_warnings() == []


def test_the_check_runs_with_csvhub_check_database(world: World) -> None:
    _old_createadmin(world.alice)
    err = io.StringIO()

    call_command("check", "--database", "default", stdout=io.StringIO(), stderr=err)

    assert "csvhub.W001" in err.getvalue() and "'alice'" in err.getvalue()


def test_demoteoperator_clears_the_flags_and_keeps_the_membership(world: World) -> None:
    _old_createadmin(world.alice)
    out = io.StringIO()

    call_command("demoteoperator", "--username", "alice", stdout=out)

    assert "'alice' is no longer an operator" in out.getvalue()
    world.alice.refresh_from_db()
    assert not world.alice.is_superuser and not world.alice.is_staff
    assert Membership.objects.get(user=world.alice, organization=world.acme).role == Role.ADMIN
    assert _signed_in("alice", PASSWORD).get("/admin/").status_code == 302
    assert _check_warnings() == []


def test_demoteoperator_refuses_an_unknown_user(world: World) -> None:
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("demoteoperator", "--username", "nobody", stdout=io.StringIO())


def test_serve_prints_the_warning_at_start(world: World) -> None:
    """`csvhub serve` runs migrate from code, which skips checks; it shows this one itself."""
    _old_createadmin(world.alice)
    serve, err = Serve(), io.StringIO()
    serve.stderr = OutputWrapper(err)

    serve._warn_about_accounts()

    assert "csvhub.W001" in err.getvalue() and "demoteoperator" in err.getvalue()
