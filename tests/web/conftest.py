"""Fixtures of the web UI tests: the accounts world (alice admin, carol editor, bob viewer of
acme; mallory admin of globex) and datasets made through the real upload service."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from tests.accounts.actors import World, world  # noqa: F401  (fixture)
from tests.datasets.pipeline import upload
from tests.web.chromium import server, signed_in  # noqa: F401  (fixtures, once)

SALES = (
    "id,sold_at,amount,region\n"
    "1,2024-01-01 10:00:00,10.50,north\n"
    "2,2024-01-02 11:00:00,20.25,south\n"
    "3,2024-01-03 12:00:00,30.00,\n"
)


@pytest.fixture
def client_as(world: World) -> Callable[[str], Client]:  # noqa: F811
    """A browser-like client signed in as one of the world's users (by name)."""

    def client_for(name: str) -> Client:
        client = Client()
        client.force_login(getattr(world, name))
        return client

    return client_for


@pytest.fixture
def uploaded(django_capture_on_commit_callbacks):
    """upload(organization, name, content, dataset=None): ingested before it returns."""

    def make(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            created = upload(*args, **kwargs)
        created.refresh_from_db()
        return created

    return make
