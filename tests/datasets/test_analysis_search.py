"""`q=` in the analysis API: every analysis sees the rows the rows endpoint's search selects."""

from __future__ import annotations

import pytest

from tests.datasets.pipeline import api_client_for, make_org, upload

pytestmark = pytest.mark.django_db(transaction=True)

CSV = (
    "at,city,amount\n"
    "2024-01-01 10:00:00,Paris,1.50\n"
    "2024-01-02 10:00:00,paris nord,2.50\n"
    "2024-01-09 10:00:00,Lyon,4.00\n"
    "2024-01-20 10:00:00,Nice,8.00\n"
)


@pytest.fixture
def api(warehouse):
    organization = make_org("alice")
    created = upload(organization, "sales.csv", CSV)
    assert created.state == "succeeded", created.error
    return api_client_for(organization, role="viewer")


def analysis(api, query: str, status: int = 200) -> dict:
    response = api.get(f"/api/v1/datasets/sales/analysis/?{query}")
    assert response.status_code == status, response.content
    return response.json()


def test_row_count_and_time_span_search_like_the_rows_endpoint(api):
    rows = api.get("/api/v1/datasets/sales/rows/?q=PARIS").json()
    found = analysis(api, "type=row_count&q=PARIS")
    assert found == {"type": "row_count", "row_count": len(rows["rows"]), "source": "warehouse"}
    assert found["row_count"] == 2
    span = analysis(api, "type=time_span&_q=paris")
    assert (span["earliest"], span["latest"]) == ("2024-01-01T10:00:00Z", "2024-01-02T10:00:00Z")


def test_aggregate_timeseries_and_histogram_take_the_search_with_filters(api):
    found = analysis(api, "type=aggregate&metrics=sum:amount&q=paris&amount=gt:2")
    assert found["rows"] == [{"sum:amount": "2.50"}]
    series = analysis(api, "type=timeseries&column=at&bucket=week&q=paris")
    assert [p["value"] for p in series["points"]] == [2]
    histogram = analysis(api, "type=histogram&column=amount&q=ly")
    assert histogram["source"] == "warehouse"
    assert sum(b["count"] for b in histogram["bins"]) == 1


def test_a_rows_only_parameter_is_still_refused(api):
    found = analysis(api, "type=row_count&fields=city", status=400)
    assert "rows endpoint" in found["detail"]
