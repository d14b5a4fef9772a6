"""Issue 11, items 12-15 (administration and tenants), as a table: what an attacker or a careless
admin sends -> the answer csvhub owes. Each case was answered otherwise before the fix."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.management import CommandError, call_command
from django.http import HttpResponse
from django.test import Client
from pytest_django.fixtures import Settings

from csvhub.accounts import ratelimit
from csvhub.accounts.models import Invitation, Role
from csvhub.accounts.services import invitation_create
from csvhub.accounts.tokens import token_generate
from tests.accounts.actors import PASSWORD, ApiAs, World

LIMIT = 3
HOME = "10.0.0.1"


@pytest.fixture(autouse=True)
def small_limits(settings: Settings) -> None:
    settings.CSVHUB_LOGIN_FAILURE_LIMIT = LIMIT
    settings.CSVHUB_TOKEN_FAILURE_LIMIT = LIMIT
    settings.CSVHUB_PASSWORD_RESET_LIMIT = LIMIT


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """One rate-limit window for the whole case, whatever the real time (as in
    tests/accounts/test_accounts_ratelimit.py): failures never straddle two windows."""
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_000.0)


def _invitation_to_mallory(world: World) -> Invitation:
    return invitation_create(
        organization=world.acme,
        identifier="mallory",
        role=Role.ADMIN,
        invited_by=world.alice,
        base_url="http://testserver/",
    )


def _invite(api_as: ApiAs, body: dict) -> HttpResponse:
    return api_as("admin").post("/api/v1/members/", body, format="json")


def _org_admin_opens_django_admin(world: World, api_as: ApiAs) -> HttpResponse:
    admin = ("--org", "acme", "--username", "root", "--password", PASSWORD)
    call_command("createadmin", *admin, stdout=io.StringIO())
    client = Client()
    assert client.login(username="root", password=PASSWORD)
    return client.get("/admin/accounts/membership/add/")  # -> the admin's sign-in page


def _admin_login_after_failures(world: World, api_as: ApiAs) -> HttpResponse:
    world.alice.is_staff = world.alice.is_superuser = True
    world.alice.save()
    client = Client(REMOTE_ADDR=HOME)
    for _ in range(LIMIT):
        client.post("/admin/login/", {"username": "alice", "password": "wrong"})
    return client.post("/admin/login/", {"username": "alice", "password": PASSWORD})


def _look_alike_login_after_failures(world: World, api_as: ApiAs) -> HttpResponse:
    client = Client(REMOTE_ADDR=HOME)
    for _ in range(LIMIT):
        client.post("/login/", {"username": "alice", "password": "wrong"})
    # A fullwidth "a": the login form normalizes it (NFKC) to alice, so it is alice's count.
    return client.post("/login/", {"username": "\uff41lice", "password": PASSWORD})


def _resets_in_bulk(world: World, api_as: ApiAs) -> HttpResponse:
    for n in range(LIMIT):
        Client(REMOTE_ADDR=HOME).post("/password-reset/", {"email": f"x{n}@example.com"})
    return Client(REMOTE_ADDR=HOME).post("/password-reset/", {"email": "alice@example.com"})


def _resets_to_one_inbox(world: World, api_as: ApiAs) -> HttpResponse:
    for n in range(LIMIT):
        Client(REMOTE_ADDR=f"10.0.1.{n}").post("/password-reset/", {"email": "alice@example.com"})
    return Client(REMOTE_ADDR="10.0.2.1").post("/password-reset/", {"email": "alice@example.com"})


def _accept_someone_elses(world: World, api_as: ApiAs) -> HttpResponse:
    invitation = _invitation_to_mallory(world)
    return api_as("viewer", session=True).post(f"/api/v1/invitations/{invitation.id}/accept/")


def _accept_with_a_token(world: World, api_as: ApiAs) -> HttpResponse:
    invitation = _invitation_to_mallory(world)
    return api_as("other_org").post(f"/api/v1/invitations/{invitation.id}/accept/")


def _valid_token_after_others_bad_ones(world: World, api_as: ApiAs) -> HttpResponse:
    client = Client(REMOTE_ADDR=HOME)
    for _ in range(LIMIT * 3):
        client.get("/api/v1/datasets/", HTTP_AUTHORIZATION=f"Bearer {token_generate().text}")
    bearer = f"Bearer {world.token_text['viewer']}"
    return client.get("/api/v1/datasets/", HTTP_AUTHORIZATION=bearer)


def _bad_token_after_bad_ones(world: World, api_as: ApiAs) -> HttpResponse:
    client = Client(REMOTE_ADDR=HOME)
    for _ in range(LIMIT):
        client.get("/api/v1/datasets/", HTTP_AUTHORIZATION=f"Bearer {token_generate().text}")
    return client.get("/api/v1/datasets/", HTTP_AUTHORIZATION=f"Bearer {token_generate().text}")


@dataclass(frozen=True)
class Case:
    item: int
    name: str
    call: Callable[[World, ApiAs], HttpResponse]
    status: int
    says: str  # in the body ("" to check nothing)
    never_says: str = ""
    location: str = ""  # where a redirect leads (its start)


CASES = [
    Case(
        12,
        "org admin opens /admin/",
        _org_admin_opens_django_admin,
        302,
        "",
        location="/admin/login/",
    ),
    Case(13, "admin login past the limit", _admin_login_after_failures, 429, "Too many failed"),
    Case(
        13,
        "look-alike username past the limit",
        _look_alike_login_after_failures,
        429,
        "Too many failed",
    ),
    Case(13, "password resets in bulk from one address", _resets_in_bulk, 429, "Too many reset"),
    Case(13, "password resets flooding one inbox", _resets_to_one_inbox, 429, "Too many reset"),
    Case(
        14,
        "add an existing user by username",
        lambda w, a: _invite(a, {"user": "mallory"}),
        202,
        "If this names a user",
        never_says="mallory@example.com",
    ),
    Case(
        14,
        "add a username that names nobody",
        lambda w, a: _invite(a, {"user": "nobody"}),
        202,
        "If this names a user",
    ),
    Case(
        14,
        "invite an email that is no valid username",
        lambda w, a: _invite(a, {"user": "a!b@example.com"}),
        202,
        "If this names a user",
        never_says="username",
    ),
    Case(14, "empty user", lambda w, a: _invite(a, {"user": ""}), 400, "may not be blank"),
    Case(
        14,
        "malformed email",
        lambda w, a: _invite(a, {"user": "a@b@c"}),
        400,
        "Enter a valid email address",
    ),
    Case(14, "unknown role", lambda w, a: _invite(a, {"user": "x", "role": "owner"}), 400, "role"),
    Case(14, "accept someone else's invitation", _accept_someone_elses, 404, "No such invitation"),
    Case(14, "accept with an API token", _accept_with_a_token, 403, "signed in"),
    Case(15, "valid token after others' bad ones", _valid_token_after_others_bad_ones, 200, ""),
    Case(15, "bad token past the limit", _bad_token_after_bad_ones, 429, "Too many invalid"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.item}: {c.name}")
def test_administration_bad_input(case: Case, world: World, api_as: ApiAs) -> None:
    response = case.call(world, api_as)

    body = response.content.decode()
    assert response.status_code == case.status, body[:300]
    assert case.says in body
    if case.never_says:
        assert case.never_says not in body
    if case.location:
        assert response["Location"].startswith(case.location)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("command", "username", "password", "message"),
    [
        ("createadmin", "root", "31415926535897", "entirely numeric"),
        ("createadmin", "aldebaran", "aldebaran1", "too similar to the username"),
        ("createoperator", "ops", "27182818284590", "entirely numeric"),
    ],
)
def test_weak_passwords_are_refused(
    command: str, username: str, password: str, message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command(command, "--username", username, "--password", password, stdout=io.StringIO())
