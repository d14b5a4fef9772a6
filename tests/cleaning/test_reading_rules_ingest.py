"""Reading rules at upload, end to end on every warehouse: null tokens, decimal commas,
day-first and ambiguous dates, type rules, strict appends, and widening said plainly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from csvhub.cleaning import services
from csvhub.cleaning.models import ReadingRuleSet, UploadReading
from csvhub.datasets.models import Dataset, Reject
from tests.datasets.pipeline import api_client_for, make_org, upload, warehouse_rows

pytestmark = pytest.mark.django_db(transaction=True)


def _types(dataset: Dataset) -> dict[str, str]:
    dataset.refresh_from_db()
    return {column.name: column.type.value for column in dataset.schema}


def _texts(dataset: Dataset, index: int) -> list[str]:
    """A date or timestamp column's values as ISO text, whatever the warehouse's driver gives."""
    return [str(row[index])[:19] for row in warehouse_rows(dataset)]


def _notes(job) -> list[str]:
    return UploadReading.objects.get(upload=job).notes


def test_one_na_no_longer_turns_a_number_column_into_text(warehouse):
    job = upload(make_org(), "temps.csv", "city,temperature\nOslo,3.5\nRome,n/a\nNice,NA\nBern,-\n")

    assert job.state == "succeeded", job.error
    assert _types(job.dataset) == {"city": "text", "temperature": "decimal"}
    assert [row[1] for row in warehouse_rows(job.dataset)] == [Decimal("3.5"), None, None, None]


def test_datasets_from_before_reading_rules_keep_na_as_text(warehouse):
    org = make_org()
    first = upload(org, "old.csv", "city,code\nOslo,1\n")
    ReadingRuleSet.objects.update_or_create(dataset=first.dataset, defaults={"null_tokens": []})
    job = upload(org, "old2.csv", "city,code\nRome,NA\n", dataset=first.dataset.slug)

    assert job.state == "succeeded", job.error
    assert _types(job.dataset)["code"] == "text"
    assert [row[1] for row in warehouse_rows(job.dataset)] == ["1", "NA"]


def test_widening_says_which_line_and_value_and_the_way_back(warehouse):
    org = make_org()
    first = upload(org, "t.csv", "city,temperature\nOslo,3.5\n")
    services.reading_rules_set(dataset=first.dataset, changes={"null_tokens": []})
    job = upload(org, "t2.csv", "city,temperature\nRome,n/a\nNice,4\n", dataset=first.dataset.slug)

    assert job.state == "succeeded", job.error
    (change,) = job.type_changes
    assert change == {
        "column": "temperature",
        "from": "decimal",
        "to": "text",
        "line": 2,
        "value": "n/a",
    }
    (change,) = api_client_for(org).get(f"/api/v1/uploads/{job.id}/").json()["type_changes"]
    assert change["message"].startswith(
        "temperature changed from decimal to text because of line 2: 'n/a'."
    )
    assert "take this upload back" in change["message"]


def test_semicolon_file_with_decimal_commas_reads_numbers_and_keeps_the_rule(warehouse):
    data = "item;price;qty\nA;14.816,43;1\nB;2,5;1.000\nC;-0,75;3\n"
    job = upload(make_org(), "eu.csv", data)

    assert job.state == "succeeded", job.error
    assert _types(job.dataset) == {"item": "text", "price": "decimal", "qty": "integer"}
    rows = warehouse_rows(job.dataset)
    assert [row[1] for row in rows] == [Decimal("14816.43"), Decimal("2.5"), Decimal("-0.75")]
    assert [row[2] for row in rows] == [1, 1000, 3]
    assert any("decimal comma" in note for note in _notes(job))
    assert ReadingRuleSet.objects.get(dataset=job.dataset).decimal_separator == ","


def test_comma_file_numbers_are_not_read_with_a_decimal_comma(warehouse):
    job = upload(make_org(), "us.csv", 'item,price\nA,"2,5"\n')

    assert _types(job.dataset) == {"item": "text", "price": "text"}
    assert warehouse_rows(job.dataset)[0][1] == "2,5"


def test_a_day_above_twelve_proves_day_first_dates(warehouse):
    job = upload(make_org(), "d.csv", "id,day\n1,05/01/2024\n2,13/01/2024\n")

    assert job.state == "succeeded", job.error
    assert _types(job.dataset)["day"] == "date"
    assert _texts(job.dataset, 1) == ["2024-01-05", "2024-01-13"]
    assert "day: dates were read day first, as '13/01/2024' proves." in _notes(job)


def test_ambiguous_dates_say_which_order_was_assumed(warehouse):
    job = upload(make_org(), "d.csv", "id,day\n1,05/01/2024\n2,03/02/2024\n")

    assert _texts(job.dataset, 1) == ["2024-05-01", "2024-03-02"]
    (note,) = _notes(job)
    assert "could be day or month first; they were read month first" in note


def test_day_first_rule_reads_ambiguous_dates_day_first(warehouse):
    org = make_org()
    from csvhub.datasets.services import dataset_create

    dataset = dataset_create(organization=org, name="d")
    services.reading_rules_set(dataset=dataset, changes={"day_first": True})
    job = upload(org, "d.csv", "id,day\n1,05/01/2024 9:30\n", dataset=dataset.slug)

    assert _types(job.dataset)["day"] == "timestamp"
    assert _texts(job.dataset, 1) == ["2024-01-05 09:30:00"]


def test_type_rule_holds_the_column_and_rejects_what_does_not_fit(warehouse, settings):
    settings.CSVHUB_MAX_REJECT_RATIO = 0.5  # a tiny file: one reject is a third of it
    org = make_org()
    from csvhub.datasets.services import dataset_create

    dataset = dataset_create(organization=org, name="t")
    services.reading_rules_set(
        dataset=dataset, changes={"column_types": {"temperature": "decimal", "zip": "text"}}
    )
    job = upload(org, "t.csv", "zip,temperature\n01234,3\n2000,warm\n3000,4.25\n", dataset="t")

    assert job.state == "succeeded", job.error
    assert _types(job.dataset) == {"zip": "text", "temperature": "decimal"}
    assert (job.rows_loaded, job.rows_rejected) == (2, 1)
    reject = Reject.objects.get(upload=job)
    assert reject.line == 3
    assert reject.reason == "temperature: 'warm' is not a decimal (reading rules)"
    assert reject.text == "2000,warm"


def test_strict_append_rejects_misfits_instead_of_widening(warehouse, settings):
    settings.CSVHUB_MAX_REJECT_RATIO = 0.5
    org = make_org()
    first = upload(org, "s.csv", "id,amount\n1,10\n")
    services.reading_rules_set(dataset=first.dataset, changes={"strict": True})
    data = "id,amount\n2,11\n3,eleven\nx,12\n4,13\n"
    job = upload(org, "s2.csv", data, dataset=first.dataset.slug)

    assert job.state == "succeeded", job.error
    assert job.type_changes == []
    assert _types(job.dataset) == {"id": "integer", "amount": "integer"}
    assert (job.rows_loaded, job.rows_rejected) == (2, 2)
    assert sorted(Reject.objects.filter(upload=job).values_list("line", "text")) == [
        (3, "3,eleven"),
        (4, "x,12"),
    ]
    assert [row for row in warehouse_rows(job.dataset)] == [(1, 10), (2, 11), (4, 13)]


def test_rules_apply_to_batches_read_in_the_child_process(warehouse, settings):
    settings.CSVHUB_CHILD_READER_MIN_BYTES = 0  # every file parsed in the reader child
    rows = "".join(f"{n};{n},5;{'n/a' if n % 7 == 0 else n}\n" for n in range(1, 30_001))
    job = upload(make_org(), "big-eu.csv", "id;price;qty\n" + rows)

    assert job.state == "succeeded", job.error
    assert _types(job.dataset) == {"id": "integer", "price": "decimal", "qty": "integer"}
    stored = warehouse_rows(job.dataset)
    assert stored[6] == (7, Decimal("7.5"), None) and stored[29_999][2] == 30_000


def test_a_thousands_rule_equal_to_the_detected_decimal_point_is_dropped_and_said(warehouse):
    org = make_org()
    from csvhub.datasets.services import dataset_create

    dataset = dataset_create(organization=org, name="n")
    services.reading_rules_set(dataset=dataset, changes={"thousands_separator": "."})
    job = upload(org, "n.csv", "id,amount\n1,2.5\n", dataset="n")

    assert job.state == "succeeded", job.error
    assert warehouse_rows(job.dataset) == [(1, Decimal("2.5"))]
    assert any("read without thousands separators" in note for note in _notes(job))
