"""Fixtures for retention and quota tests: an organization and its admin's API client, and
the storage the originals go to (the per-test disk of tests/conftest.py, or moto's S3)."""

from __future__ import annotations

import pytest

from tests.datasets.pipeline import api_client_for, make_org


@pytest.fixture
def acme():
    return make_org("acme")


@pytest.fixture
def acme_admin(acme):
    return api_client_for(acme, role="admin")


@pytest.fixture(params=["disk", "s3"])
def storage(request) -> str:
    """Run the test with originals on the local disk, then in an S3 bucket (moto server)."""
    if request.param == "s3":
        request.getfixturevalue("s3_storage")
    return request.param


# The live server and signed-in Chromium pages of the web UI's end-to-end tests.
from tests.web.chromium import server, signed_in  # noqa: E402, F401  (fixtures)
