"""Which organization a request acts in (request_organization) and with which role."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from csvhub.accounts.access import SESSION_KEY
from csvhub.accounts.models import Membership, Organization, Role

from .actors import ApiAs, World, user_make

PROBE = "/probe/view/"


def _join(world: World, user: User, organization: Organization, role: Role) -> None:
    Membership.objects.create(user=user, organization=organization, role=role)


def test_token_acts_in_its_own_organization(api_as: ApiAs, world: World) -> None:
    assert api_as("other_org").get(PROBE).json() == {"organization": "globex", "role": "admin"}


def test_token_naming_another_organization_gets_404(api_as: ApiAs, world: World) -> None:
    response = api_as("other_org").get(PROBE, HTTP_X_CSVHUB_ORGANIZATION="acme")

    assert response.status_code == 404
    assert "acme" not in response.content.decode()


def test_token_may_name_its_own_organization(api_as: ApiAs, world: World) -> None:
    assert api_as("admin").get(f"{PROBE}?org=acme").status_code == 200


def test_user_with_one_membership_needs_not_choose(api_as: ApiAs, world: World) -> None:
    response = api_as("viewer", session=True).get(PROBE)

    assert response.json() == {"organization": "acme", "role": "viewer"}


def test_user_in_several_organizations_must_choose(api_as: ApiAs, world: World) -> None:
    _join(world, world.bob, world.globex, Role.EDITOR)

    response = api_as("viewer", session=True).get(PROBE)

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "acme, globex" in detail
    assert "X-Csvhub-Organization" in detail
    assert "?org=" in detail


def test_header_chooses_the_organization(api_as: ApiAs, world: World) -> None:
    _join(world, world.bob, world.globex, Role.EDITOR)

    response = api_as("viewer", session=True).get(PROBE, HTTP_X_CSVHUB_ORGANIZATION="globex")

    assert response.json() == {"organization": "globex", "role": "editor"}


def test_query_parameter_chooses_the_organization(api_as: ApiAs, world: World) -> None:
    _join(world, world.bob, world.globex, Role.EDITOR)

    response = api_as("viewer", session=True).get(f"{PROBE}?org=globex")

    assert response.json() == {"organization": "globex", "role": "editor"}


def test_header_wins_over_query_parameter(api_as: ApiAs, world: World) -> None:
    _join(world, world.bob, world.globex, Role.EDITOR)

    response = api_as("viewer", session=True).get(
        f"{PROBE}?org=globex", HTTP_X_CSVHUB_ORGANIZATION="acme"
    )

    assert response.json()["organization"] == "acme"


def test_session_choice_is_used_when_nothing_is_named(world: World, client: Client) -> None:
    _join(world, world.bob, world.globex, Role.EDITOR)
    client.force_login(world.bob)
    client.post("/orgs/switch/", {"organization": "globex"})

    assert client.get(PROBE).json()["organization"] == "globex"
    assert client.get(PROBE, HTTP_X_CSVHUB_ORGANIZATION="acme").json()["organization"] == "acme"


def test_stale_session_choice_falls_back_to_the_only_membership(
    world: World, client: Client
) -> None:
    client.force_login(world.bob)
    session = client.session
    session[SESSION_KEY] = "globex"  # bob was never (or is no longer) a member
    session.save()

    assert client.get(PROBE).json()["organization"] == "acme"


def test_other_organization_gets_404_like_one_that_does_not_exist(
    api_as: ApiAs, world: World
) -> None:
    api = api_as("viewer", session=True)

    foreign = api.get(PROBE, HTTP_X_CSVHUB_ORGANIZATION="globex")
    missing = api.get(PROBE, HTTP_X_CSVHUB_ORGANIZATION="no-such-org")

    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content


def test_user_without_organizations_gets_403(world: World, client: Client) -> None:
    client.force_login(user_make("nobody"))

    response = client.get(PROBE)

    assert response.status_code == 403
    assert "not a member of any organization" in response.json()["detail"]


def test_organization_list_shows_the_callers_organizations_with_roles(
    api_as: ApiAs, world: World
) -> None:
    _join(world, world.bob, world.globex, Role.EDITOR)

    body = api_as("viewer", session=True).get("/api/v1/organizations/").json()

    assert [(o["slug"], o["role"]) for o in body["results"]] == [
        ("acme", "viewer"),
        ("globex", "editor"),
    ]


def test_organization_list_for_a_token_shows_only_its_organization(
    api_as: ApiAs, world: World
) -> None:
    _join(world, world.mallory, world.acme, Role.VIEWER)

    body = api_as("other_org").get("/api/v1/organizations/").json()

    assert [o["slug"] for o in body["results"]] == ["globex"]


def test_organization_list_needs_authentication(api_as: ApiAs, world: World) -> None:
    assert api_as("anonymous").get("/api/v1/organizations/").status_code == 401
