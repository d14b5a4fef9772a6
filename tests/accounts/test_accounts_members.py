"""The members API, for admins: list, invite, change role, remove."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from csvhub.accounts.models import ApiToken, Membership, Role

from .actors import ApiAs, World

MEMBERS = "/api/v1/members/"


def _membership(world: World, username: str) -> Membership:
    return Membership.objects.get(user__username=username, organization=world.acme)


def test_admin_lists_the_members_of_their_organization(api_as: ApiAs, world: World) -> None:
    body = api_as("admin").get(MEMBERS).json()

    assert {(m["username"], m["role"]) for m in body["results"]} == {
        ("alice", "admin"),
        ("bob", "viewer"),
        ("carol", "editor"),
    }


@pytest.mark.parametrize("actor", ["viewer", "editor"])
def test_non_admins_cannot_see_or_change_members(api_as: ApiAs, world: World, actor: str) -> None:
    api = api_as(actor)
    bob = _membership(world, "bob")

    assert api.get(MEMBERS).status_code == 403
    assert api.post(MEMBERS, {"user": "mallory"}, format="json").status_code == 403
    assert api.patch(f"{MEMBERS}{bob.pk}/", {"role": "admin"}, format="json").status_code == 403
    assert api.delete(f"{MEMBERS}{bob.pk}/").status_code == 403


def test_admin_adds_an_existing_user_by_username(api_as: ApiAs, world: World) -> None:
    response = api_as("admin").post(MEMBERS, {"user": "mallory", "role": "editor"}, format="json")

    assert response.status_code == 201
    assert response.json()["username"] == "mallory"
    assert _membership(world, "mallory").role == Role.EDITOR


def test_admin_adds_an_existing_user_by_email(api_as: ApiAs, world: World) -> None:
    response = api_as("admin").post(MEMBERS, {"user": "MALLORY@example.com"}, format="json")

    assert response.status_code == 201
    assert _membership(world, "mallory").role == Role.VIEWER
    assert mail.outbox == []


def test_inviting_an_unknown_email_creates_the_user_and_mails_a_link(
    api_as: ApiAs,
    world: World,
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_as("admin").post(MEMBERS, {"user": "dave@example.com"}, format="json")

    assert response.status_code == 201
    dave = get_user_model().objects.get(email="dave@example.com")
    assert not dave.has_usable_password()
    [message] = mail.outbox
    assert message.to == ["dave@example.com"]
    assert "http://testserver/password-reset/" in message.body


def test_invited_user_sets_a_password_through_the_link(
    api_as: ApiAs,
    world: World,
    client: Client,
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        api_as("admin").post(MEMBERS, {"user": "dave@example.com"}, format="json")
    link = next(line for line in mail.outbox[0].body.splitlines() if "password-reset" in line)

    form = client.get(link.removeprefix("http://testserver"), follow=True)
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a long new passphrase", "new_password2": "a long new passphrase"},
    )

    assert done.status_code == 302
    assert client.login(username="dave@example.com", password="a long new passphrase")


def test_unknown_username_is_a_400_suggesting_email(api_as: ApiAs, world: World) -> None:
    response = api_as("admin").post(MEMBERS, {"user": "zed"}, format="json")

    assert response.status_code == 400
    assert "invite them by email" in response.json()["errors"]["user"][0]
    assert response.json()["detail"].startswith("user: ")


def test_adding_an_existing_member_is_a_400(api_as: ApiAs, world: World) -> None:
    response = api_as("admin").post(MEMBERS, {"user": "bob"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "user: bob is already a member.",
        "errors": {"user": ["bob is already a member."]},
    }


def test_admin_changes_a_members_role(api_as: ApiAs, world: World) -> None:
    bob = _membership(world, "bob")

    response = api_as("admin").patch(f"{MEMBERS}{bob.pk}/", {"role": "editor"}, format="json")

    assert response.status_code == 200
    assert response.json()["role"] == "editor"
    bob.refresh_from_db()
    assert bob.role == Role.EDITOR


def test_the_last_admin_cannot_be_demoted_or_removed(api_as: ApiAs, world: World) -> None:
    api = api_as("admin", session=True)
    alice = _membership(world, "alice")

    demote = api.patch(f"{MEMBERS}{alice.pk}/", {"role": "viewer"}, format="json")
    remove = api.delete(f"{MEMBERS}{alice.pk}/")

    assert demote.status_code == remove.status_code == 400
    assert demote.json() == {
        "detail": "An organization keeps at least one admin.",
        "errors": {"non_field_errors": ["An organization keeps at least one admin."]},
    }
    assert _membership(world, "alice").role == Role.ADMIN


def test_an_admin_may_step_down_when_another_admin_remains(api_as: ApiAs, world: World) -> None:
    Membership.objects.filter(user=world.carol).update(role=Role.ADMIN)
    alice = _membership(world, "alice")

    response = api_as("admin", session=True).patch(
        f"{MEMBERS}{alice.pk}/", {"role": "viewer"}, format="json"
    )

    assert response.status_code == 200


def test_removing_a_member_revokes_their_tokens(api_as: ApiAs, world: World) -> None:
    carol = _membership(world, "carol")

    assert api_as("admin").delete(f"{MEMBERS}{carol.pk}/").status_code == 204

    assert not Membership.objects.filter(pk=carol.pk).exists()
    assert ApiToken.objects.get(name="editor").revoked_at is not None
    assert api_as("editor").get("/probe/view/").status_code == 401


def test_other_organization_gets_404_for_a_member(api_as: ApiAs, world: World) -> None:
    bob = _membership(world, "bob")
    api = api_as("other_org")

    patch = api.patch(f"{MEMBERS}{bob.pk}/", {"role": "admin"}, format="json")
    delete = api.delete(f"{MEMBERS}{bob.pk}/")
    listing = api.get(MEMBERS).content.decode()

    assert patch.status_code == delete.status_code == 404
    assert _membership(world, "bob").role == Role.VIEWER
    assert "bob" not in listing and "alice" not in listing


def test_invalid_role_is_a_400(api_as: ApiAs, world: World) -> None:
    bob = _membership(world, "bob")

    response = api_as("admin").patch(f"{MEMBERS}{bob.pk}/", {"role": "owner"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": 'role: "owner" is not a valid choice.',
        "errors": {"role": ['"owner" is not a valid choice.']},
    }
