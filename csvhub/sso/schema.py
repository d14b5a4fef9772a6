"""The provider's access tokens in the OpenAPI document (imported by SsoConfig.ready())."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class ProviderTokenScheme(OpenApiAuthenticationExtension):
    target_class = "csvhub.sso.authentication.ProviderTokenAuthentication"
    name = "providerToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer", bearer_format="JWT"
        )
