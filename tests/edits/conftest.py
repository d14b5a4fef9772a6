"""Fixtures of the bulk edit tests: an organization, its editor and viewer, a typed dataset."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from csvhub.accounts.models import Organization
from csvhub.datasets.models import Dataset
from tests.datasets.pipeline import api_client_for, make_org, upload

# One column of each type, with empty cells.
TYPED_CSV = """\
id,price,active,day,at,name
1,10.50,true,2020-06-01,2020-06-01 12:30:00,alpha
2,20.00,false,2021-01-15,2021-01-15 08:00:00,Beta
3,,true,,,
4,5.25,false,2020-06-15,2020-06-01 12:30:00.5,gamma
5,7.75,,2019-12-31,2019-12-31 22:59:59," delta "
"""


@pytest.fixture
def org(warehouse: str) -> Organization:
    return make_org()


@pytest.fixture
def editor(org: Organization) -> APIClient:
    return api_client_for(org, role="editor")


@pytest.fixture
def viewer(org: Organization) -> APIClient:
    return api_client_for(org, role="viewer")


@pytest.fixture
def typed(org: Organization) -> Dataset:
    created = upload(org, "typed.csv", TYPED_CSV)
    assert created.state == "succeeded", created.error
    return Dataset.objects.get(pk=created.dataset_id)


# The browser fixtures of the web UI tests, for the edit panel's (test_edits_panel_e2e.py).
from tests.web.chromium import server, signed_in  # noqa: E402, F401  (fixtures)
