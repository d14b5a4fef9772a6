"""The provider's JWT access tokens as API bearer tokens, validated locally against its key set
and mapped to organizations and roles by the same rules as the web sign-in."""

from __future__ import annotations

import time

import jwt
import pytest
from rest_framework.test import APIClient

from csvhub.accounts.models import Membership, Role
from csvhub.sso.models import SsoIdentity
from tests.accounts.actors import World
from tests.sso.provider import OTHER_AUDIENCE, SHORT_AUDIENCE, Idp

pytestmark = pytest.mark.django_db(transaction=True)


def _api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_provider_token_acts_with_the_role_its_groups_give(sso: Idp, world: World) -> None:
    token = sso.token("erin")
    assert jwt.get_unverified_header(token)["kid"] == sso.kid

    answer = _api(token).get("/api/v1/organizations/")

    assert answer.status_code == 200, answer.content
    assert [(o["slug"], o["role"]) for o in answer.json()["results"]] == [("acme", "editor")]
    identity = SsoIdentity.objects.get(subject="erin")
    assert identity.user.username == "erin"
    assert not identity.user.has_usable_password()
    assert not (identity.user.is_staff or identity.user.is_superuser)


def test_token_of_someone_in_two_organizations_names_one(sso: Idp, world: World) -> None:
    client = _api(sso.token("olga"))

    assert client.get("/api/v1/members/", HTTP_X_CSVHUB_ORGANIZATION="acme").status_code == 200
    # Viewer of globex: members are for admins only.
    assert client.get("/api/v1/members/", HTTP_X_CSVHUB_ORGANIZATION="globex").status_code == 403
    assert client.get("/api/v1/members/").status_code == 400  # which one?


def test_expired_token_is_refused(sso: Idp, world: World) -> None:
    token = sso.token("erin", resource=SHORT_AUDIENCE)  # lives one second
    time.sleep(2.1)

    answer = _api(token).get("/api/v1/organizations/")

    assert answer.status_code == 401
    assert answer.json()["detail"] == "This token has expired."


def test_token_for_another_audience_is_refused(sso: Idp, world: World) -> None:
    token = sso.token("erin", resource=OTHER_AUDIENCE)
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == OTHER_AUDIENCE

    answer = _api(token).get("/api/v1/organizations/")

    assert answer.status_code == 401
    assert "wrong audience" in answer.json()["detail"]


def test_rotated_key_is_fetched_and_the_old_one_no_longer_works(sso: Idp, world: World) -> None:
    old_token = sso.token("erin")
    assert _api(old_token).get("/api/v1/organizations/").status_code == 200  # key set cached

    sso.rotate()
    new_token = sso.token("erin")
    assert (
        jwt.get_unverified_header(new_token)["kid"] != jwt.get_unverified_header(old_token)["kid"]
    )

    assert _api(new_token).get("/api/v1/organizations/").status_code == 200
    refused = _api(old_token).get("/api/v1/organizations/")
    assert refused.status_code == 401
    assert "signing key is unknown" in refused.json()["detail"]


def test_forged_token_signed_by_another_key_is_refused(sso: Idp, world: World) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    claims = jwt.decode(sso.token("olga"), options={"verify_signature": False})
    header = {"kid": sso.kid}
    forged = jwt.encode(
        {**claims, "groups": ["csvhub-acme-admins"]},
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers=header,
    )

    answer = _api(forged).get("/api/v1/organizations/")

    assert answer.status_code == 401
    assert "Signature verification failed" in answer.json()["detail"]


def test_token_without_a_matching_group_is_forbidden_and_makes_no_account(
    sso: Idp, world: World
) -> None:
    answer = _api(sso.token("nora")).get("/api/v1/organizations/")

    assert answer.status_code == 403
    assert "no role in any organization" in answer.json()["detail"]
    assert not SsoIdentity.objects.filter(subject="nora").exists()


def test_losing_the_group_at_the_provider_removes_the_membership(
    sso: Idp, world: World, settings
) -> None:
    assert _api(sso.token("olga")).get("/api/v1/organizations/").status_code == 200
    user = SsoIdentity.objects.get(subject="olga").user
    assert set(Membership.objects.filter(user=user).values_list("organization__slug", "role")) == {
        ("acme", Role.ADMIN),
        ("globex", Role.VIEWER),
    }
    # The operator drops globex from the rules: the next token no longer reaches it.
    settings.CSVHUB_OIDC = sso.config(rules=sso.config().rules[:2])

    assert _api(sso.token("olga")).get("/api/v1/organizations/").status_code == 200
    assert list(
        Membership.objects.filter(user=user).values_list("organization__slug", flat=True)
    ) == ["acme"]


def test_csvhub_tokens_keep_working_next_to_provider_tokens(sso: Idp, world: World) -> None:
    client = _api(world.token_text["editor"])

    assert client.get("/api/v1/organizations/").status_code == 200
    assert _api("csvhub_nope_nope").get("/api/v1/organizations/").status_code == 401


def test_provider_tokens_are_refused_when_no_api_audience_is_configured(
    sso: Idp, world: World, settings
) -> None:
    settings.CSVHUB_OIDC = sso.config(api_audience="")

    answer = _api(sso.token("erin")).get("/api/v1/organizations/")

    assert answer.status_code == 401
    assert answer.json()["detail"] == "Invalid token."  # csvhub's own authentication said no
