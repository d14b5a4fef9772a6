"""Named actors for API tests, reusable by every test package.

The world: two organizations, acme and globex.

    alice    admin of acme          bob      viewer of acme
    carol    editor of acme         mallory  admin of globex

Actors are API clients. Each authenticates as real API clients do, with a bearer token through
BearerTokenAuthentication (or, with `session=True`, with a signed-in session):

    actor          credentials                                  on acme's objects
    anonymous      none                                         401
    bad_token      a well-formed token that does not exist      401
    revoked_token  alice's admin token for acme, revoked        401
    expired_token  alice's admin token for acme, expired        401
    other_org      mallory's admin token for globex             404; lists show only globex
    viewer         bob's viewer token for acme                  reads
    editor         carol's editor token for acme                reads and writes
    admin          alice's admin token for acme                 everything

The dead tokens belong to an admin, so an endpoint that forgot to check revocation or expiry
answers 200 instead of 401 and the matrix catches it.

Use it from another package:

    # tests/conftest.py, once for the whole suite
    pytest_plugins = ["tests.accounts.actors"]

    # tests/datasets/test_datasets_matrix.py
    import pytest
    from tests.accounts.actors import ACTORS, DENIED, World

    @pytest.mark.parametrize("actor", ACTORS)
    def test_dataset_detail(actor: str, api_as, world: World) -> None:
        dataset = dataset_create(organization=world.acme, name="sales")
        response = api_as(actor).get(f"/api/v1/datasets/{dataset.slug}/")
        expected = {**DENIED, "other_org": 404}.get(actor, 200)
        assert response.status_code == expected
        assert "globex" not in response.content.decode()

Fixtures: `world` (the data above; clears the rate-limit cache so bad-token requests of
earlier tests never turn a 401 into a 429) and `api_as(actor, *, session=False)` (a fresh
rest_framework.test.APIClient per call). `world.token_text[actor]` holds each token's secret,
`world.user_of[actor]` the user behind an actor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.cache import caches
from django.utils import timezone
from rest_framework.test import APIClient

from csvhub.accounts.models import ApiToken, FailureCount, Membership, Organization, Role
from csvhub.accounts.services import token_create, token_revoke
from csvhub.accounts.tokens import token_generate

ACTORS = (
    "anonymous",
    "bad_token",
    "revoked_token",
    "expired_token",
    "other_org",
    "viewer",
    "editor",
    "admin",
)
# Actors that can also sign in with a session (api_as(actor, session=True)).
SESSION_ACTORS = ("other_org", "viewer", "editor", "admin")
# Status every endpoint owes to callers without valid credentials.
DENIED = {"anonymous": 401, "bad_token": 401, "revoked_token": 401, "expired_token": 401}
PASSWORD = "correct horse battery staple"

ApiAs = Callable[..., APIClient]


@dataclass
class World:
    acme: Organization
    globex: Organization
    alice: User
    bob: User
    carol: User
    mallory: User
    token_text: dict[str, str] = field(default_factory=dict)
    user_of: dict[str, User] = field(default_factory=dict)


def user_make(username: str) -> User:
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD
    )


def member_make(username: str, organization: Organization, role: Role) -> User:
    user = user_make(username)
    Membership.objects.create(user=user, organization=organization, role=role)
    return user


def world_build() -> World:
    acme = Organization.objects.create(slug="acme", name="Acme")
    globex = Organization.objects.create(slug="globex", name="Globex")
    world = World(
        acme=acme,
        globex=globex,
        alice=member_make("alice", acme, Role.ADMIN),
        bob=member_make("bob", acme, Role.VIEWER),
        carol=member_make("carol", acme, Role.EDITOR),
        mallory=member_make("mallory", globex, Role.ADMIN),
    )
    _tokens_make(world)
    return world


def _tokens_make(world: World) -> None:
    live = {
        "viewer": (world.bob, Role.VIEWER),
        "editor": (world.carol, Role.EDITOR),
        "admin": (world.alice, Role.ADMIN),
        "other_org": (world.mallory, Role.ADMIN),
        "revoked_token": (world.alice, Role.ADMIN),
        "expired_token": (world.alice, Role.ADMIN),
    }
    for actor, (user, role) in live.items():
        organization = world.globex if actor == "other_org" else world.acme
        created = token_create(organization=organization, user=user, name=actor, role=role)
        world.token_text[actor] = created.text
        world.user_of[actor] = user
    _tokens_kill(world)
    world.token_text["bad_token"] = token_generate().text


def _tokens_kill(world: World) -> None:
    token_revoke(token=ApiToken.objects.get(name="revoked_token"))
    ApiToken.objects.filter(name="expired_token").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def rate_limits_clear() -> None:
    alias: str = getattr(settings, "CSVHUB_RATELIMIT_CACHE", "")
    if alias:
        caches[alias].clear()
    else:  # the embedded default's counts (csvhub.accounts.ratelimit.DatabaseCounts)
        FailureCount.objects.all().delete()


@pytest.fixture
def world(db: None) -> World:
    rate_limits_clear()
    return world_build()


@pytest.fixture
def api_as(world: World) -> ApiAs:
    def client_for(actor: str, *, session: bool = False) -> APIClient:
        if actor not in ACTORS:
            raise ValueError(f"unknown actor {actor!r}; choose from {', '.join(ACTORS)}")
        client = APIClient()
        if actor == "anonymous":
            return client
        if session:
            if actor not in SESSION_ACTORS:
                raise ValueError(f"{actor!r} has no session; choose from {SESSION_ACTORS}")
            client.force_login(world.user_of[actor])
        else:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.token_text[actor]}")
        return client

    return client_for
