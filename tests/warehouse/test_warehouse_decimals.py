"""Exact decimals on every warehouse: values keep their digits and the column's scale through
rows, exports, filters, sorts, cursors, indexes, aggregates and appends."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

from csvhub.datasets.models import Dataset
from tests.datasets.pipeline import api_client_for, make_org, upload

pytestmark = pytest.mark.django_db(transaction=True)

# Written as in the file; read back at the column's scale (the most digits after the point).
AMOUNTS = [
    ("0", "0.00"),
    ("-0.50", "-0.50"),
    ("79930.00", "79930.00"),
    ("1.5", "1.50"),
    ("12345678901234567.89", "12345678901234567.89"),
    ("-12345678901234567.89", "-12345678901234567.89"),
    ("79926.80", "79926.80"),
    ("0.01", "0.01"),
    ("-3", "-3.00"),
    ("92233720368547758.07", "92233720368547758.07"),  # the largest: 2**63 - 1 hundredths
    ("", None),
]
TINY = [("0.0000000001", "0.0000000001"), ("1e-10", "0.0000000001"), ("-2.5e-9", "-0.0000000025")]


@pytest.fixture
def org(warehouse):
    return make_org("acme")


@pytest.fixture
def api(org):
    return api_client_for(org, role="editor")


def load(org, rows: list[str], name: str = "money.csv", dataset: str | None = None) -> Dataset:
    text = "id,amount\n" + "".join(f"{i},{amount}\n" for i, amount in enumerate(rows, 1))
    created = upload(org, name, text, dataset)
    assert created.state == "succeeded", created.error
    return Dataset.objects.get(pk=created.dataset_id)


def rows(api, dataset: Dataset, query: str = "") -> list[dict]:
    response = api.get(f"/api/v1/datasets/{dataset.slug}/rows/?limit=1000&{query}")
    assert response.status_code == 200, response.content
    return response.json()["rows"]


def amounts(api, dataset: Dataset, query: str = "") -> list[str | None]:
    return [row["amount"] for row in rows(api, dataset, query)]


def aggregate(api, dataset: Dataset, query: str) -> list[dict]:
    response = api.get(f"/api/v1/datasets/{dataset.slug}/analysis/?type=aggregate&{query}")
    assert response.status_code == 200, response.content
    return response.json()["rows"]


def test_decimals_read_back_exactly_at_the_column_scale(api, org):
    dataset = load(org, [written for written, _ in AMOUNTS])
    assert [c["type"] for c in dataset.columns] == ["integer", "decimal"]
    assert dataset.columns[1]["scale"] == 2
    assert amounts(api, dataset) == [read for _, read in AMOUNTS]


def test_small_scales_and_exponents_read_back_as_plain_digits(api, org):
    dataset = load(org, [written for written, _ in TINY])
    assert dataset.columns[1]["scale"] == 10
    assert amounts(api, dataset) == [read for _, read in TINY]


def test_csv_and_ndjson_exports_keep_every_digit(api, org):
    dataset = load(org, [written for written, _ in AMOUNTS])
    expected = [read or "" for _, read in AMOUNTS]
    exported = api.get(f"/api/v1/datasets/{dataset.slug}/rows/?format=csv")
    body = b"".join(exported.streaming_content).decode()
    assert [row["amount"] for row in csv.DictReader(io.StringIO(body))] == expected
    exported = api.get(f"/api/v1/datasets/{dataset.slug}/rows/?format=ndjson")
    lines = b"".join(exported.streaming_content).decode().splitlines()
    assert [json.loads(line)["amount"] or "" for line in lines] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("amount=gt:79930.001", ["12345678901234567.89", "92233720368547758.07"]),
        ("amount=gte:79930", ["79930.00", "12345678901234567.89", "92233720368547758.07"]),
        ("amount=lt:-0.499", ["-0.50", "-12345678901234567.89", "-3.00"]),
        ("amount=lte:-0.5", ["-0.50", "-12345678901234567.89", "-3.00"]),
        ("amount=eq:1.500", ["1.50"]),
        ("amount=eq:1.505", []),
        ("amount=in:0.01,79926.8,0.015", ["79926.80", "0.01"]),
        ("amount=gt:12345678901234567.88", ["12345678901234567.89", "92233720368547758.07"]),
        ("amount=lt:-99999999999999999999999", []),
        (
            "amount=gt:-99999999999999999999999&amount=lt:0",
            ["-0.50", "-12345678901234567.89", "-3.00"],
        ),
    ],
)
def test_filters_compare_exactly(api, org, query, expected):
    dataset = load(org, [written for written, _ in AMOUNTS])
    assert amounts(api, dataset, query) == expected


def test_sort_and_cursors_walk_decimals_in_numeric_order(api, org):
    dataset = load(org, [written for written, _ in AMOUNTS])
    ordered = sorted((Decimal(read), read) for _, read in AMOUNTS if read is not None)
    expected = [read for _, read in ordered] + [None]
    assert amounts(api, dataset, "sort=amount") == expected
    seen: list[str | None] = []
    url = f"/api/v1/datasets/{dataset.slug}/rows/?sort=amount&limit=3"
    while url:
        page = api.get(url).json()
        seen += [row["amount"] for row in page["rows"]]
        url = page.get("next")
    assert seen == expected


def test_an_index_on_a_decimal_column_serves_the_same_rows(api, org):
    dataset = load(org, [written for written, _ in AMOUNTS])
    before = amounts(api, dataset, "sort=amount:desc&amount=gt:0")
    response = api.post(
        f"/api/v1/datasets/{dataset.slug}/indexes/", {"columns": ["amount"]}, format="json"
    )
    assert response.status_code in (200, 201, 202), response.content
    assert amounts(api, dataset, "sort=amount:desc&amount=gt:0") == before


def test_sums_of_money_add_up_to_the_cent(api, org):
    dataset = load(org, ["12345678901234567.89", "79926.80"])
    found = aggregate(api, dataset, "metrics=sum:amount,min:amount,max:amount,avg:amount")
    assert found == [
        {
            "sum:amount": "12345678901314494.69",
            "min:amount": "79926.80",
            "max:amount": "12345678901234567.89",
            "avg:amount": "6172839450657247.345000",
        }
    ]


def test_sums_past_64_bits_stay_exact(api, org):
    dataset = load(org, ["92233720368547758.07"] * 5 + ["0.01"])
    found = aggregate(api, dataset, "metrics=sum:amount,avg:amount")
    assert found == [
        {"sum:amount": "461168601842738790.36", "avg:amount": "76861433640456465.060000"}
    ]


@pytest.mark.parametrize(("first", "average"), [("0.01", "0.000312"), ("0.03", "0.000938")])
def test_averages_round_half_to_even_at_four_more_digits(api, org, first, average):
    # 0.01 / 32 = 0.0003125 and 0.03 / 32 = 0.0009375: ties at the scale 2 + 4.
    dataset = load(org, [first] + ["0.00"] * 31)
    assert aggregate(api, dataset, "metrics=avg:amount") == [{"avg:amount": average}]


def test_group_keys_and_sorted_sums_of_decimals(api, org):
    dataset = load(org, ["1.10", "1.1", "2", "-0.05"])
    found = aggregate(api, dataset, "group_by=amount&metrics=count,sum:amount&sort=sum:amount")
    assert found == [
        {"amount": "-0.05", "count": 1, "sum:amount": "-0.05"},
        {"amount": "2.00", "count": 1, "sum:amount": "2.00"},
        {"amount": "1.10", "count": 2, "sum:amount": "2.20"},
    ]


def test_histogram_of_a_decimal_column_counts_every_value(api, org):
    dataset = load(org, [written for written, _ in AMOUNTS])
    response = api.get(f"/api/v1/datasets/{dataset.slug}/analysis/?type=histogram&column=amount")
    assert response.status_code == 200, response.content
    found = response.json()
    assert sum(b["count"] for b in found["bins"]) == len(AMOUNTS) - 1


def test_append_widens_integers_to_decimals_exactly(api, org):
    dataset = load(org, ["9007199254740993", "-7"])
    assert dataset.columns[1]["type"] == "integer"
    dataset = load(org, ["0.5"], dataset=dataset.slug)
    assert (dataset.columns[1]["type"], dataset.columns[1]["scale"]) == ("decimal", 1)
    assert amounts(api, dataset) == ["9007199254740993.0", "-7.0", "0.5"]


def test_append_widens_the_scale_and_keeps_the_values(api, org):
    dataset = load(org, ["79930.00", "-0.50"])
    dataset = load(org, ["0.125"], dataset=dataset.slug)
    assert dataset.columns[1]["scale"] == 3
    assert amounts(api, dataset) == ["79930.000", "-0.500", "0.125"]
    assert aggregate(api, dataset, "metrics=sum:amount") == [{"sum:amount": "79929.625"}]


def test_append_of_text_makes_decimals_text_in_their_canonical_form(api, org):
    dataset = load(org, ["79930.00", "1.5"])
    # Not "n/a": new datasets read it as empty (csvhub.cleaning's default null tokens).
    dataset = load(org, ["unknown"], dataset=dataset.slug)
    assert dataset.columns[1]["type"] == "text"
    assert amounts(api, dataset) == ["79930.00", "1.50", "unknown"]


def test_append_whose_scale_the_stored_values_cannot_take_makes_text(api, org):
    dataset = load(org, ["92233720368547758.07"])
    dataset = load(org, ["0.001"], dataset=dataset.slug)
    assert dataset.columns[1]["type"] == "text"
    assert amounts(api, dataset) == ["92233720368547758.07", "0.001"]


def test_values_past_64_bits_at_their_scale_are_text_on_every_warehouse(api, org):
    dataset = load(org, ["92233720368547758.08", "1.5"])
    assert dataset.columns[1]["type"] == "text"
    assert amounts(api, dataset) == ["92233720368547758.08", "1.5"]


def test_append_to_a_decimal_column_made_before_scales_keeps_its_values(api, org, warehouse):
    if warehouse in ("mysql", "duckdb"):
        pytest.skip(f"{warehouse} warehouses start with exact decimals: no table predates them")
    from csvhub.schema import ColumnType, LoadResult
    from csvhub.warehouse.engine import get_engine
    from csvhub.warehouse.load import LoadSession
    from csvhub.warehouse.tables import table_drop

    dataset = load(org, ["1.125"])
    # The table as csvhub made it before exact decimals: REAL / unconstrained NUMERIC, and
    # no scale in the dataset's columns.
    table_drop(table_name=dataset.table_name)
    columns = [("id", ColumnType.INTEGER), ("amount", ColumnType.DECIMAL)]
    with LoadSession(get_engine(), dataset.table_name, "made-before") as session:
        session.create(columns, scales={"amount": None})
        session.set_write_order(["id", "amount"])
        session.write_columns([["1"], ["1.125"]])
        session.finish(LoadResult(rows_loaded=1, rows_rejected=0, columns=()))
    dataset.columns = [{k: v for k, v in c.items() if k != "scale"} for c in dataset.columns]
    dataset.save()
    dataset = load(org, ["0.5"], dataset=dataset.slug)
    assert dataset.columns[1]["type"] == "decimal"
    assert amounts(api, dataset) == ["1.125", "0.5"]
