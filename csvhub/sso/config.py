"""Single sign-on configuration, read from the environment by settings.py (docs/configuration.md,
"Single sign-on"). Kept free of Django, like csvhub.config: a bad value stops csvhub at start.

Role rules map claim values to a role in an organization, one rule a line (or `;`-separated):

    groups=csvhub-acme-editors -> acme:editor
    realm_access.roles=acme-admin -> acme:admin

The claim is a top-level claim or a dotted path into nested objects; it matches when its value
is the rule's value or a list holding it. A user gets, in each organization, the highest role of
the rules that match, and nothing where none matches. Roles are viewer, editor or admin: a rule
can never make anyone an operator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from csvhub.config import ConfigError, env_int, env_str

ROLES = ("viewer", "editor", "admin")
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_RULE = re.compile(
    r"^(?P<claim>[^=\s]+)=(?P<value>.+?)\s*->\s*(?P<organization>\S+):(?P<role>\S+)$"
)


@dataclass(frozen=True)
class RoleRule:
    claim: str
    value: str
    organization: str
    role: str

    def matches(self, claims: dict[str, object]) -> bool:
        found = claim_value(claims, self.claim)
        if isinstance(found, list):
            return self.value in found
        return found == self.value


@dataclass(frozen=True)
class OidcConfig:
    """The provider csvhub trusts. `issuer` empty: single sign-on is off."""

    issuer: str = ""
    client_id: str = ""
    client_secret: str = ""
    scopes: str = "openid email profile"
    provider_name: str = "single sign-on"
    rules: tuple[RoleRule, ...] = ()
    # Bearer JWTs must name this audience; empty: the API accepts no provider tokens.
    api_audience: str = ""
    # Clock skew allowed on exp/nbf/iat of provider tokens.
    leeway_seconds: int = 30

    @property
    def enabled(self) -> bool:
        return bool(self.issuer)

    @property
    def form_action_origins(self) -> list[str]:
        """The provider's origin, for the Content-Security-Policy's form-action: signing out
        (a form) ends at the provider's end_session_endpoint."""
        if not self.enabled:
            return []
        parts = urlsplit(self.issuer)
        return [f"{parts.scheme}://{parts.netloc}"]

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"


def claim_value(claims: dict[str, object], path: str) -> object:
    """The value at a dotted path (`realm_access.roles`), or None."""
    value: object = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def rules_parse(text: str, *, variable: str = "CSVHUB_OIDC_ROLE_RULES") -> tuple[RoleRule, ...]:
    entries = [entry.strip() for entry in re.split(r"[;\n]", text) if entry.strip()]
    return tuple(_rule_parse(entry, variable) for entry in entries)


def _rule_parse(entry: str, variable: str) -> RoleRule:
    match = _RULE.match(entry)
    if match is None:
        raise ConfigError(
            f"{variable}: {entry!r} is not a rule; write CLAIM=VALUE -> ORGANIZATION:ROLE, "
            "e.g. groups=csvhub-acme-editors -> acme:editor."
        )
    rule = RoleRule(**match.groupdict())
    if rule.role not in ROLES:
        raise ConfigError(f"{variable}: {entry!r}: the role must be one of {', '.join(ROLES)}.")
    if not _SLUG.match(rule.organization):
        raise ConfigError(
            f"{variable}: {entry!r}: {rule.organization!r} is not an organization slug."
        )
    return rule


def oidc_config_from_env() -> OidcConfig:
    config = OidcConfig(
        issuer=env_str("CSVHUB_OIDC_ISSUER", "").strip(),
        client_id=env_str("CSVHUB_OIDC_CLIENT_ID", ""),
        client_secret=env_str("CSVHUB_OIDC_CLIENT_SECRET", ""),
        scopes=env_str("CSVHUB_OIDC_SCOPES", OidcConfig.scopes),
        provider_name=env_str("CSVHUB_OIDC_PROVIDER_NAME", OidcConfig.provider_name),
        rules=rules_parse(env_str("CSVHUB_OIDC_ROLE_RULES", "")),
        api_audience=env_str("CSVHUB_OIDC_API_AUDIENCE", ""),
        leeway_seconds=env_int("CSVHUB_OIDC_LEEWAY_SECONDS", 30, minimum=0),
    )
    if config.enabled and not (config.client_id and config.client_secret):
        raise ConfigError(
            "CSVHUB_OIDC_ISSUER is set: CSVHUB_OIDC_CLIENT_ID and CSVHUB_OIDC_CLIENT_SECRET "
            "are needed too."
        )
    if config.enabled and "openid" not in config.scopes.split():
        raise ConfigError("CSVHUB_OIDC_SCOPES must include openid.")
    if config.enabled and not config.issuer.startswith(
        ("https://", "http://127.", "http://localhost")
    ):
        raise ConfigError("CSVHUB_OIDC_ISSUER must be an https:// URL (http only on loopback).")
    return config
