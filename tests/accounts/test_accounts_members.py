"""The members API, for admins: list, change role, remove. Inviting: test_accounts_invitations."""

from __future__ import annotations

import pytest

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
