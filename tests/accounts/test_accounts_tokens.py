"""The token API: create, list, revoke; secrets shown once and stored hashed; role ceiling."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from csvhub.accounts.models import ApiToken, Membership, Role

from .actors import ApiAs, World

TOKENS = "/api/v1/tokens/"


def _create(api: APIClient, **body: object) -> dict:
    response = api.post(TOKENS, {"name": "ci", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_created_token_shows_its_secret_once_and_stores_only_its_hash(
    api_as: ApiAs, world: World
) -> None:
    created = _create(api_as("editor"), role="editor")

    secret = created["token"]
    assert secret.startswith(f"csvhub_{created['prefix']}_")
    stored = ApiToken.objects.get(pk=created["id"])
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {getattr(stored, f.attname) for f in ApiToken._meta.concrete_fields}
    listed = api_as("editor").get(TOKENS).content.decode()
    assert created["prefix"] in listed
    assert secret not in listed
    assert '"token"' not in listed


def test_new_token_authenticates_with_its_role_and_organization(
    api_as: ApiAs, world: World, client: Client
) -> None:
    created = _create(api_as("admin"), role="editor")

    response = client.get("/probe/view/", HTTP_AUTHORIZATION=f"Bearer {created['token']}")

    assert response.json() == {"organization": "acme", "role": "editor"}


def test_token_role_defaults_to_viewer(api_as: ApiAs, world: World) -> None:
    assert _create(api_as("admin"))["role"] == "viewer"


def test_token_role_may_not_exceed_the_creators_role(api_as: ApiAs, world: World) -> None:
    response = api_as("viewer", session=True).post(
        TOKENS, {"name": "sneaky", "role": "editor"}, format="json"
    )

    assert response.status_code == 400
    assert "at most your own role here (viewer)" in response.json()["errors"]["role"][0]
    assert not ApiToken.objects.filter(name="sneaky").exists()


def test_a_token_cannot_mint_a_token_above_its_own_role(
    api_as: ApiAs, world: World, client: Client
) -> None:
    # alice is an admin, but this request acts through her viewer token.
    viewer_token = _create(api_as("admin"), role="viewer")["token"]
    response = client.post(
        TOKENS,
        {"name": "escalate", "role": "admin"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {viewer_token}",
    )

    assert response.status_code == 400
    assert "(viewer)" in response.json()["errors"]["role"][0]


def test_expiry_must_lie_in_the_future(api_as: ApiAs, world: World) -> None:
    past = (timezone.now() - timedelta(minutes=1)).isoformat()

    response = api_as("admin").post(TOKENS, {"name": "x", "expires_at": past}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["expires_at"]
    assert response.json()["detail"].startswith("expires_at: ")


def test_token_with_expiry_works_until_it_expires(
    api_as: ApiAs, world: World, client: Client
) -> None:
    future = (timezone.now() + timedelta(days=1)).isoformat()
    created = _create(api_as("admin"), expires_at=future)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {created['token']}"}
    assert client.get("/probe/view/", **headers).status_code == 200

    ApiToken.objects.filter(pk=created["id"]).update(expires_at=timezone.now())

    response = client.get("/probe/view/", **headers)
    assert response.status_code == 401
    assert response.json()["detail"] == "This token is expired."


def test_admin_lists_every_token_of_the_organization(api_as: ApiAs, world: World) -> None:
    names = {t["name"] for t in api_as("admin").get(TOKENS).json()["results"]}

    assert names == {"viewer", "editor", "admin", "revoked_token", "expired_token"}


def test_non_admin_lists_only_their_own_tokens(api_as: ApiAs, world: World) -> None:
    results = api_as("viewer").get(TOKENS).json()["results"]

    assert [(t["name"], t["user"], t["state"]) for t in results] == [("viewer", "bob", "active")]


def test_token_list_never_shows_another_organizations_tokens(api_as: ApiAs, world: World) -> None:
    body = api_as("other_org").get(TOKENS).json()

    assert [t["name"] for t in body["results"]] == ["other_org"]


def test_listing_shows_state_of_revoked_and_expired_tokens(api_as: ApiAs, world: World) -> None:
    states = {t["name"]: t["state"] for t in api_as("admin").get(TOKENS).json()["results"]}

    assert states["revoked_token"] == "revoked"
    assert states["expired_token"] == "expired"


def test_user_revokes_own_token_and_it_stops_working_on_the_next_request(
    api_as: ApiAs, world: World
) -> None:
    api = api_as("editor")
    own = ApiToken.objects.get(name="editor")

    assert api.delete(f"{TOKENS}{own.pk}/").status_code == 204

    own.refresh_from_db()
    assert own.revoked_at is not None
    response = api.get(TOKENS)
    assert response.status_code == 401
    assert response.json()["detail"] == "This token is revoked."


def test_revoking_twice_keeps_the_first_revocation_time(api_as: ApiAs, world: World) -> None:
    api = api_as("admin", session=True)
    token = ApiToken.objects.get(name="revoked_token")
    first = token.revoked_at

    assert api.delete(f"{TOKENS}{token.pk}/").status_code == 204

    token.refresh_from_db()
    assert token.revoked_at == first


def test_non_admin_cannot_revoke_someone_elses_token(api_as: ApiAs, world: World) -> None:
    alices = ApiToken.objects.get(name="admin")

    response = api_as("editor").delete(f"{TOKENS}{alices.pk}/")

    assert response.status_code == 404
    alices.refresh_from_db()
    assert alices.revoked_at is None


def test_admin_revokes_a_members_token(api_as: ApiAs, world: World) -> None:
    bobs = ApiToken.objects.get(name="viewer")

    assert api_as("admin").delete(f"{TOKENS}{bobs.pk}/").status_code == 204

    bobs.refresh_from_db()
    assert bobs.revoked_at is not None


def test_other_organization_gets_404_for_a_token(api_as: ApiAs, world: World) -> None:
    alices = ApiToken.objects.get(name="admin")

    response = api_as("other_org").delete(f"{TOKENS}{alices.pk}/")

    assert response.status_code == 404
    assert "acme" not in response.content.decode()


def test_user_in_two_organizations_creates_a_token_for_the_chosen_one(
    api_as: ApiAs, world: World
) -> None:
    Membership.objects.create(user=world.bob, organization=world.globex, role=Role.EDITOR)
    api = api_as("viewer", session=True)

    created = api.post(
        TOKENS,
        {"name": "globex-ci", "role": "editor"},
        format="json",
        HTTP_X_CSVHUB_ORGANIZATION="globex",
    )

    assert created.status_code == 201
    assert ApiToken.objects.get(pk=created.json()["id"]).organization == world.globex


def test_token_name_is_required(api_as: ApiAs, world: World) -> None:
    response = api_as("admin").post(TOKENS, {}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "name: This field is required.",
        "errors": {"name": ["This field is required."]},
    }


def test_token_list_pages_with_a_cursor(api_as: ApiAs, world: World) -> None:
    api = api_as("admin")

    first = api.get(f"{TOKENS}?page_size=2").json()
    second = api.get(first["next"]).json()

    assert len(first["results"]) == len(second["results"]) == 2
    assert not {t["id"] for t in first["results"]} & {t["id"] for t in second["results"]}


def test_session_writes_need_a_csrf_token(world: World) -> None:
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(world.alice)

    response = api.post(TOKENS, {"name": "no-csrf"}, format="json")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
