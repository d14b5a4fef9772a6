"""Role rules and the provider's configuration, as read from the environment."""

from __future__ import annotations

import pytest

from csvhub.config import ConfigError
from csvhub.sso.config import RoleRule, oidc_config_from_env, rules_parse


def test_rules_read_one_per_line_or_semicolon() -> None:
    rules = rules_parse(
        "groups=csvhub-acme-editors -> acme:editor\n realm_access.roles=boss -> acme:admin ;"
    )
    assert rules == (
        RoleRule("groups", "csvhub-acme-editors", "acme", "editor"),
        RoleRule("realm_access.roles", "boss", "acme", "admin"),
    )


@pytest.mark.parametrize(
    ("claims", "matches"),
    [
        ({"groups": ["x", "csvhub-acme-editors"]}, True),
        ({"groups": "csvhub-acme-editors"}, True),
        ({"groups": ["csvhub-acme-editors-2"]}, False),
        ({"group": ["csvhub-acme-editors"]}, False),
        ({}, False),
    ],
)
def test_rule_matches_a_value_or_a_list_holding_it(claims: dict, matches: bool) -> None:
    [rule] = rules_parse("groups=csvhub-acme-editors -> acme:editor")
    assert rule.matches(claims) is matches


def test_rule_reads_nested_claims() -> None:
    [rule] = rules_parse("realm_access.roles=boss -> acme:admin")
    assert rule.matches({"realm_access": {"roles": ["boss"]}})
    assert not rule.matches({"realm_access": "boss"})


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("groups=ops -> acme:operator", "the role must be one of viewer, editor, admin"),
        ("groups=ops -> acme:superuser", "the role must be one of"),
        ("groups=ops acme:admin", "is not a rule"),
        ("groups=ops -> ac me:admin", "is not a rule"),
    ],
)
def test_bad_rules_stop_csvhub_at_start(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        rules_parse(text)


def test_issuer_without_client_credentials_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("CSVHUB_OIDC_ISSUER", "https://idp.example")
    with pytest.raises(ConfigError, match="CSVHUB_OIDC_CLIENT_ID"):
        oidc_config_from_env()


def test_plain_http_issuer_is_refused_off_loopback(monkeypatch) -> None:
    monkeypatch.setenv("CSVHUB_OIDC_ISSUER", "http://idp.example")
    monkeypatch.setenv("CSVHUB_OIDC_CLIENT_ID", "csvhub")
    monkeypatch.setenv("CSVHUB_OIDC_CLIENT_SECRET", "s")
    with pytest.raises(ConfigError, match="https"):
        oidc_config_from_env()


def test_full_configuration_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("CSVHUB_OIDC_ISSUER", "https://idp.example/realms/corp")
    monkeypatch.setenv("CSVHUB_OIDC_CLIENT_ID", "csvhub")
    monkeypatch.setenv("CSVHUB_OIDC_CLIENT_SECRET", "s")
    monkeypatch.setenv("CSVHUB_OIDC_PROVIDER_NAME", "Corp SSO")
    monkeypatch.setenv("CSVHUB_OIDC_ROLE_RULES", "groups=a -> acme:viewer")
    config = oidc_config_from_env()
    assert config.enabled
    assert (
        config.discovery_url == "https://idp.example/realms/corp/.well-known/openid-configuration"
    )
    assert config.form_action_origins == ["https://idp.example"]
    assert config.provider_name == "Corp SSO"
    assert config.api_audience == ""  # provider JWTs are refused by the API until it is set
