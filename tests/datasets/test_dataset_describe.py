"""Renaming a dataset and describing it and its columns: PATCH /api/v1/datasets/{slug}/ for
editors, the notes kept through appends, shown in the dataset detail."""

from __future__ import annotations

import pytest

from csvhub.datasets.models import Dataset
from tests.datasets.pipeline import api_client_for, make_org, upload

pytestmark = pytest.mark.django_db(transaction=True)

SALES = "id,amount,region\n1,10.50,north\n2,20.25,south\n"


@pytest.fixture
def sales() -> Dataset:
    created = upload(make_org(), "sales.csv", SALES)
    assert created.state == "succeeded", created.error
    return Dataset.objects.get(pk=created.dataset_id)


def _patch(client, body: dict):
    return client.patch("/api/v1/datasets/sales/", body, format="json")


def test_editor_renames_and_describes_a_dataset_and_its_columns(sales: Dataset) -> None:
    editor = api_client_for(sales.organization, "editor")
    answer = _patch(
        editor,
        {
            "name": "Sales 2024",
            "description": "Every sale of the shops.",
            "columns": {"Amount": {"description": "Paid, taxes included", "unit": "EUR"}},
        },
    )
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert (data["name"], data["slug"]) == ("Sales 2024", "sales")  # the API name stays
    assert data["description"] == "Every sale of the shops."
    amount = next(c for c in data["columns"] if c["name"] == "amount")
    assert (amount["description"], amount["unit"]) == ("Paid, taxes included", "EUR")
    region = next(c for c in data["columns"] if c["name"] == "region")
    assert (region["description"], region["unit"]) == ("", "")

    # Only what is given changes.
    assert _patch(editor, {"columns": {"amount": {"unit": "USD"}}}).status_code == 200
    amount = next(
        c for c in editor.get("/api/v1/datasets/sales/").json()["columns"] if c["name"] == "amount"
    )
    assert (amount["description"], amount["unit"]) == ("Paid, taxes included", "USD")


def test_notes_survive_an_append(sales: Dataset) -> None:
    editor = api_client_for(sales.organization, "editor")
    _patch(editor, {"columns": {"amount": {"unit": "EUR"}}})
    appended = upload(
        sales.organization, "more.csv", "id,amount,region\n3,1.5,east\n", dataset="sales"
    )
    assert appended.state == "succeeded", appended.error
    sales.refresh_from_db()
    assert sales.schema.column("amount").unit == "EUR"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"name": "  "}, "blank"),
        ({"columns": {"nosuch": {"unit": "x"}}}, "Unknown column 'nosuch'"),
        ({"columns": {"amount": {"unit": "x" * 41}}}, "unit"),
        ({"columns": {"amount": {"colour": "red"}}}, "Unknown colour"),
    ],
)
def test_bad_descriptions_are_400s_that_say_why(sales: Dataset, body: dict, words: str) -> None:
    answer = _patch(api_client_for(sales.organization, "editor"), body)
    assert answer.status_code == 400, answer.content
    assert words in answer.content.decode()


def test_viewer_cannot_describe(sales: Dataset) -> None:
    viewer = api_client_for(sales.organization, "viewer")
    assert _patch(viewer, {"name": "mine"}).status_code == 403
    sales.refresh_from_db()
    assert sales.name == "sales"
