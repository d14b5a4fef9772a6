"""Bearer token authentication: 401 for every kind of bad token, effects on the next request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from csvhub.accounts.models import ApiToken, Membership, Role

from .actors import ApiAs, World

PROBE = "/probe/view/"


def _get(client: Client, authorization: str) -> HttpResponse:
    return client.get(PROBE, HTTP_AUTHORIZATION=authorization)


def test_anonymous_gets_401_with_a_bearer_challenge(api_as: ApiAs, world: World) -> None:
    response = api_as("anonymous").get(PROBE)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    ("actor", "detail"),
    [
        ("bad_token", "Invalid token."),
        ("revoked_token", "This token is revoked."),
        ("expired_token", "This token is expired."),
    ],
)
def test_dead_tokens_get_401_saying_why(
    api_as: ApiAs, world: World, actor: str, detail: str
) -> None:
    response = api_as(actor).get(PROBE)

    assert response.status_code == 401
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer two parts",
        "Bearer not-a-csvhub-token",
        "Bearer csvhub_zz_" + "x" * 43,
        "bearer csvhub_0123456789_short",
        "Bearer csvhub_0123456789_" + "é" * 43,
    ],
)
def test_malformed_tokens_get_401(world: World, client: Client, authorization: str) -> None:
    assert _get(client, authorization).status_code == 401


def test_other_schemes_are_left_to_other_authenticators(world: World, client: Client) -> None:
    response = _get(client, "Basic YWxpY2U6c2VjcmV0")

    assert response.status_code == 401
    assert response.json()["detail"] == "Authentication credentials were not provided."


def test_token_with_the_right_prefix_but_wrong_secret_is_invalid(
    world: World, client: Client
) -> None:
    real = world.token_text["admin"]
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")

    assert _get(client, f"Bearer {forged}").status_code == 401


def test_revocation_takes_effect_on_the_next_request(world: World, client: Client) -> None:
    authorization = f"Bearer {world.token_text['admin']}"
    assert _get(client, authorization).status_code == 200

    ApiToken.objects.filter(name="admin").update(revoked_at=timezone.now())

    assert _get(client, authorization).status_code == 401


def test_owner_removed_from_the_organization_kills_their_tokens(
    world: World, client: Client
) -> None:
    Membership.objects.filter(user=world.carol).delete()

    response = _get(client, f"Bearer {world.token_text['editor']}")

    assert response.status_code == 401
    assert "no longer has access" in response.json()["detail"]


def test_inactive_owner_kills_their_tokens(world: World, client: Client) -> None:
    world.carol.is_active = False
    world.carol.save()

    assert _get(client, f"Bearer {world.token_text['editor']}").status_code == 401


def test_demoted_owner_drags_their_tokens_role_down(world: World, client: Client) -> None:
    Membership.objects.filter(user=world.alice).update(role=Role.VIEWER)

    response = _get(client, f"Bearer {world.token_text['admin']}")

    assert response.json() == {"organization": "acme", "role": "viewer"}


def test_last_used_at_is_recorded(world: World, client: Client) -> None:
    _get(client, f"Bearer {world.token_text['viewer']}")

    assert ApiToken.objects.get(name="viewer").last_used_at is not None


def test_last_used_at_is_written_at_most_once_a_minute(world: World, client: Client) -> None:
    recent = timezone.now() - timedelta(seconds=30)
    ApiToken.objects.filter(name="viewer").update(last_used_at=recent)

    _get(client, f"Bearer {world.token_text['viewer']}")

    assert ApiToken.objects.get(name="viewer").last_used_at == recent


def test_last_used_at_moves_on_after_a_minute(world: World, client: Client) -> None:
    stale = timezone.now() - timedelta(seconds=61)
    ApiToken.objects.filter(name="viewer").update(last_used_at=stale)

    _get(client, f"Bearer {world.token_text['viewer']}")

    assert ApiToken.objects.get(name="viewer").last_used_at > stale


def test_token_requests_need_no_csrf_token(world: World) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/probe/read-or-edit/", HTTP_AUTHORIZATION=f"Bearer {world.token_text['editor']}"
    )

    assert response.status_code == 200
