"""OpenAPI pieces for drf-spectacular: the bearer scheme and the organization selectors.

Imported by AccountsConfig.ready() so the extension is registered before any schema is built.
Other apps add `ORGANIZATION_PARAMETERS` to `extend_schema(parameters=...)` of org-scoped views.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.serializers import Serializer

from csvhub.accounts.access import HEADER, QUERY_PARAM


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "csvhub.accounts.authentication.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer", bearer_format="csvhub token"
        )


# What extend_schema(parameters=...) takes: parameters, or serializers whose fields document
# query parameters. Lists of it add up with `+`.
type SchemaParameter = OpenApiParameter | type[Serializer[Any]]

ORGANIZATION_PARAMETERS: list[SchemaParameter] = [
    OpenApiParameter(
        HEADER,
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="Slug of the organization to act in, for users in several. A token acts "
        "in its own organization; naming another answers 404.",
    ),
    OpenApiParameter(
        QUERY_PARAM,
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        description=f"Same as the {HEADER} header.",
    ),
]
