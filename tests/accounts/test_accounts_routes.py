"""The project's urlconf mounts the accounts routes where the docs say."""

from __future__ import annotations

import pytest
from django.urls import resolve

from csvhub.accounts import apis, pages

ROUTES = [
    ("/api/v1/organizations/", apis.OrganizationListApi),
    ("/api/v1/tokens/", apis.TokenListCreateApi),
    ("/api/v1/tokens/8d7c1f0e-4c2b-4a51-9a55-0b0e6d1f2a3b/", apis.TokenRevokeApi),
    ("/api/v1/members/", apis.MemberListCreateApi),
    ("/api/v1/members/7/", apis.MemberUpdateDeleteApi),
    ("/login/", pages.LoginPage),
]


@pytest.mark.parametrize(("path", "view"), ROUTES)
def test_project_urlconf_routes_accounts_views(path: str, view: type) -> None:
    assert resolve(path, urlconf="csvhub.urls").func.view_class is view


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("logout", "/logout/"),
        ("organization-switch", "/orgs/switch/"),
        ("password_reset", "/password-reset/"),
        ("password_reset_done", "/password-reset/sent/"),
        ("password_reset_complete", "/password-reset/complete/"),
    ],
)
def test_project_urlconf_names_the_sign_in_pages(name: str, path: str) -> None:
    assert resolve(path, urlconf="csvhub.urls").url_name == name
