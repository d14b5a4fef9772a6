"""Datasets for the rows tests, loaded through the real upload pipeline on each warehouse.

Import the fixtures into a test module (`from tests.datasets.rows_fixtures import ...`); tests
using them need `pytest.mark.django_db(transaction=True)`, since ingestion runs on commit.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.http import HttpResponse
from rest_framework.test import APIClient

from csvhub.accounts.models import Organization
from csvhub.datasets.models import Dataset
from tests.datasets.pipeline import api_client_for, make_org, upload

# Titanic's first rows, plus invented Braunds so that the example has three matches:
# male, "braund" in the name, an "a" in the ticket, fare above 7.
TITANIC_CSV = """\
PassengerId,Survived,Pclass,Name,Sex,Age,SibSp,Parch,Ticket,Fare,Cabin,Embarked
1,0,3,"Braund, Mr. Owen Harris",male,22,1,0,A/5 21171,7.25,,S
2,1,1,"Cumings, Mrs. John Bradley (Florence Briggs Thayer)",female,38,1,0,PC 17599,71.2833,C85,C
3,1,3,"Heikkinen, Miss. Laina",female,26,0,0,STON/O2. 3101282,7.925,,S
4,1,1,"Futrelle, Mrs. Jacques Heath (Lily May Peel)",female,35,1,0,113803,53.1,C123,S
5,0,3,"Allen, Mr. William Henry",male,35,0,0,373450,8.05,,S
6,0,3,"Moran, Mr. James",male,,0,0,330877,8.4583,,Q
7,0,1,"McCarthy, Mr. Timothy J",male,54,0,0,17463,51.8625,E46,S
8,0,3,"Palsson, Master. Gosta Leonard",male,2,3,1,349909,21.075,,S
9,1,3,"Johnson, Mrs. Oscar W (Elisabeth Vilhelmina Berg)",female,27,0,2,347742,11.1333,,S
10,1,2,"Nasser, Mrs. Nicholas (Adele Achem)",female,14,1,0,237736,30.0708,,C
11,0,3,"Braund, Mr. Lewis Richard",male,28.5,1,0,3460,7.0458,,S
12,0,3,"Braund, Mr. Zacharias",male,30,0,0,A/4 48871,24.15,,S
13,1,2,"Braund, Mrs. Anna",female,40,0,0,SC/AH 3085,26,,S
14,0,3,"Braund, Mr. Adam",male,19,0,0,CA 2343,7.05,,S
15,0,3,"Braund, Mr. Cheap",male,40,0,0,A/5 1,6.5,,S
"""
TITANIC_EXAMPLE = (
    "limit=0,2&sex=male&Name=like:Braund&Ticket=like:A&Fare=gt:7&sort=name:desc,Sex:asc"
)

# One column of each type, NULLs in each, and text that tests escaping and formulas.
# `at` in UTC: 1 and 6 at 12:30:00, 4 half a second later, 5 at 2019-12-31 22:59:59.
TYPED_CSV = """\
id,amount,active,day,at,note,clock
1,7.25,true,2020-06-01,2020-06-01T12:30:00Z,alpha,12:30
2,-3.5,false,2021-01-15,2021-01-15 08:00:00,Beta 50%,eq:odd
3,,true,,,,
4,100,false,2020-06-15,2020-06-01T12:30:00.500Z,gamma_ray,
5,0.125,,2019-12-31,2019-12-31T23:59:59+01:00,-minus,
6,7.25,false,2020-06-01,2020-06-01 12:30:00,alphabet,
"""

# Columns named like the reserved words (and `org`, which chooses the organization).
RESERVED_CSV = """\
sort,count,limit,org,format
3,10,a,acme,x
1,20,b,globex,y
2,30,c,initech,z
"""


@pytest.fixture
def org(warehouse: str) -> Organization:
    return make_org()


@pytest.fixture
def api(org: Organization) -> APIClient:
    return api_client_for(org, role="editor")


def dataset_load(organization: Organization, filename: str, content: str) -> Dataset:
    created = upload(organization, filename, content)
    assert created.state == "succeeded", created.error
    return Dataset.objects.get(pk=created.dataset_id)


@pytest.fixture
def titanic(org: Organization) -> Dataset:
    return dataset_load(org, "titanic.csv", TITANIC_CSV)


@pytest.fixture
def typed(org: Organization) -> Dataset:
    return dataset_load(org, "typed.csv", TYPED_CSV)


def rows_get(api: APIClient, dataset: Dataset | str, query: str = "", **headers) -> HttpResponse:
    slug = dataset if isinstance(dataset, str) else dataset.slug
    return api.get(f"/api/v1/datasets/{slug}/rows/?{query}", **headers)


def rows_json(api: APIClient, dataset: Dataset | str, query: str = "") -> dict:
    response = rows_get(api, dataset, query)
    assert response.status_code == 200, (query, response.content)
    return response.json()


def ids(api: APIClient, dataset: Dataset, query: str, key: str = "id") -> list:
    """The `key` column of the matching rows, in order (one page of up to 1000)."""
    joined = f"{query}&limit=1000" if query else "limit=1000"
    return [row[key] for row in rows_json(api, dataset, joined)["rows"]]


def streamed(response: HttpResponse) -> str:
    assert response.status_code == 200, response.content
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def q(value: str) -> str:
    """A value escaped for a query string (`+` would otherwise arrive as a space)."""
    return quote(value, safe=":,")


__all__ = [
    "RESERVED_CSV",
    "TITANIC_CSV",
    "TITANIC_EXAMPLE",
    "TYPED_CSV",
    "api",
    "dataset_load",
    "ids",
    "org",
    "q",
    "rows_get",
    "rows_json",
    "streamed",
    "titanic",
    "typed",
]
