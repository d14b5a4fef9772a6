"""drf-spectacular documents the accounts API without a warning."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command


@pytest.fixture
def schema(tmp_path: Path) -> dict:
    path = tmp_path / "schema.yaml"
    call_command(
        "spectacular",
        "--fail-on-warn",
        "--validate",
        "--urlconf",
        f"{__package__}.urls",
        "--file",
        str(path),
        skip_checks=True,  # checks would import the whole project's urlconf
    )
    return yaml.safe_load(path.read_text())


def test_schema_has_no_warnings_and_documents_every_operation(schema: dict) -> None:
    operations = {
        (path, method): spec["operationId"]
        for path, methods in schema["paths"].items()
        for method, spec in methods.items()
    }

    assert operations == {
        ("/api/v1/organizations/", "get"): "organizations_list",
        ("/api/v1/tokens/", "get"): "tokens_list",
        ("/api/v1/tokens/", "post"): "tokens_create",
        ("/api/v1/tokens/{token_id}/", "delete"): "tokens_revoke",
        ("/api/v1/members/", "get"): "members_list",
        ("/api/v1/members/", "post"): "members_create",
        ("/api/v1/members/{member_id}/", "patch"): "members_update",
        ("/api/v1/members/{member_id}/", "delete"): "members_remove",
        ("/api/v1/members/invitations/", "get"): "invitations_list",
        ("/api/v1/members/invitations/", "post"): "invitations_create",
        ("/api/v1/members/invitations/{invitation_id}/", "delete"): "invitations_revoke",
        ("/api/v1/invitations/", "get"): "my_invitations_list",
        ("/api/v1/invitations/{invitation_id}/accept/", "post"): "my_invitations_accept",
        ("/api/v1/invitations/{invitation_id}/decline/", "post"): "my_invitations_decline",
    }


def test_schema_declares_the_bearer_scheme(schema: dict) -> None:
    assert schema["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"


def test_token_creation_documents_the_secret(schema: dict) -> None:
    created = schema["components"]["schemas"]["TokenCreated"]

    assert "token" in created["properties"]
    assert "token" not in schema["components"]["schemas"]["TokenOutput"]["properties"]
