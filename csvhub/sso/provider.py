"""The identity provider as csvhub talks to it: an Authlib client made from the issuer's
discovery document (authorization code flow with PKCE, ID token and nonce checked by Authlib),
and local validation of the provider's JWT access tokens against its published keys.

Both are built once per configuration and kept: the discovery document is fetched once per
process, the key set (JWKS) is cached and fetched again when a token names a key it does not
hold, which is how a provider's key rotation reaches csvhub.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jwt
from authlib.integrations.django_client import DjangoOAuth2App, OAuth

from csvhub.sso.config import OidcConfig

# Asymmetric algorithms only: a token signed with a shared secret (HS256) or none is refused.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
HTTP_TIMEOUT_SECONDS = 10
# A token naming an unknown kid fetches the key set again at most this often, so that a flood
# of forged kids cannot turn csvhub into a load on the provider.
KEY_REFRESH_COOLDOWN_SECONDS = 30.0


class TokenRejected(Exception):
    """A bearer JWT that csvhub does not accept; the message says why."""


@lru_cache(maxsize=4)
def web_client(config: OidcConfig) -> DjangoOAuth2App:
    client: DjangoOAuth2App = OAuth().register(
        "csvhub",
        client_id=config.client_id,
        client_secret=config.client_secret,
        server_metadata_url=config.discovery_url,
        client_kwargs={
            "scope": config.scopes,
            "code_challenge_method": "S256",
            "timeout": HTTP_TIMEOUT_SECONDS,
        },
    )
    return client


def metadata(config: OidcConfig) -> dict[str, Any]:
    """The discovery document (fetched on first use, then kept by the client)."""
    loaded: dict[str, Any] = web_client(config).load_server_metadata()
    return loaded


@lru_cache(maxsize=4)
def key_set(jwks_uri: str) -> jwt.PyJWKClient:
    # PyJWKClient keeps the key set for `lifespan` seconds and, for a kid it does not know,
    # fetches the set again (once per cooldown) before giving up.
    return jwt.PyJWKClient(
        jwks_uri,
        cache_jwk_set=True,
        lifespan=3600,
        timeout=HTTP_TIMEOUT_SECONDS,
        cooldown_duration=KEY_REFRESH_COOLDOWN_SECONDS,
    )


def access_token_claims(config: OidcConfig, token: str) -> dict[str, Any]:
    """The claims of a provider access token: signature by a key of the provider, issuer,
    audience (CSVHUB_OIDC_API_AUDIENCE) and expiry checked. TokenRejected otherwise."""
    published = metadata(config)
    try:
        key = key_set(published["jwks_uri"]).get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key.key,
            algorithms=ALGORITHMS,
            audience=config.api_audience,
            issuer=published["issuer"],
            leeway=config.leeway_seconds,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRejected("This token has expired.") from None
    except jwt.InvalidAudienceError:
        raise TokenRejected("This token is not meant for csvhub (wrong audience).") from None
    except jwt.InvalidIssuerError:
        raise TokenRejected("This token comes from another issuer.") from None
    except jwt.PyJWKClientError as exc:
        raise TokenRejected(f"This token's signing key is unknown: {exc}") from None
    except jwt.InvalidTokenError as exc:
        raise TokenRejected(f"Invalid token: {exc}") from None
    return claims
