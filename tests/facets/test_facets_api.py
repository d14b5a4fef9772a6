"""GET /api/v1/datasets/{slug}/facets/ on every warehouse: counts among the filtered rows, the
time limit and the fallback to the top values kept at ingestion."""

from __future__ import annotations

import time

import pytest

from tests.datasets.pipeline import api_client_for, make_org, upload

pytestmark = pytest.mark.django_db(transaction=True)

CSV = (
    "city,kind,amount\n"
    + "Paris,a,1\n" * 5
    + "Lyon,a,2\n" * 3
    + "Lyon,b,3\n" * 2
    + "Nice,b,4\n"
    + ",b,5\n"
)


@pytest.fixture
def alice(warehouse):
    return make_org("alice")


@pytest.fixture
def api(alice):
    return api_client_for(alice, role="viewer")


@pytest.fixture
def towns(alice) -> str:
    created = upload(alice, "towns.csv", CSV)
    assert created.state == "succeeded", created.error
    return created.dataset.slug


def facets(api, slug: str, query: str, status: int = 200) -> dict:
    response = api.get(f"/api/v1/datasets/{slug}/facets/?{query}")
    assert response.status_code == status, response.content
    return response.json()


def test_counts_most_frequent_first_with_empty_cells_as_null(api, towns):
    (city,) = facets(api, towns, "columns=city&kind=b")["facets"]
    assert city["values"] == [
        {"value": "Lyon", "count": 2},
        {"value": None, "count": 1},
        {"value": "Nice", "count": 1},
    ] or city["values"] == [
        {"value": "Lyon", "count": 2},
        {"value": "Nice", "count": 1},
        {"value": None, "count": 1},
    ]
    assert (city["source"], city["approximate"], city["filtered"]) == ("warehouse", False, True)


def test_counts_respect_filters_and_search(api, towns):
    found = facets(api, towns, "columns=kind,amount&q=LYO&size=1")["facets"]
    kind, amount = found
    assert kind["values"] == [{"value": "a", "count": 3}]
    assert kind["more"] is True
    assert amount["values"] == [{"value": 2, "count": 3}]


def test_unfiltered_text_column_answers_from_the_exact_summary(api, towns):
    (city,) = facets(api, towns, "columns=city&size=2")["facets"]
    assert city["source"] == "summary"
    assert city["approximate"] is False
    # Ties in the summary: by value.
    assert city["values"] == [{"value": "Lyon", "count": 5}, {"value": "Paris", "count": 5}]
    assert city["more"] is True


def test_large_unfiltered_tables_answer_from_the_summary_marked_approximate(api, alice, settings):
    # 40 rare values besides two frequent ones: more than the summary keeps exactly.
    text = "city\n" + "Paris\n" * 50 + "Lyon\n" * 30 + "".join(f"t{i}\n" for i in range(40))
    created = upload(alice, "many.csv", text)
    settings.CSVHUB_FACET_SCAN_MAX_ROWS = 10
    (city,) = facets(api, created.dataset.slug, "columns=city&size=2")["facets"]
    assert (city["source"], city["approximate"], city["filtered"]) == ("summary", True, True)
    assert [v["value"] for v in city["values"]] == ["Paris", "Lyon"]
    assert city["error"] > 0
    assert 50 - city["error"] <= city["values"][0]["count"] <= 50
    settings.CSVHUB_FACET_SCAN_MAX_ROWS = 1000
    (city,) = facets(api, created.dataset.slug, "columns=city&size=2")["facets"]
    assert city["source"] == "warehouse"
    assert city["values"] == [{"value": "Paris", "count": 50}, {"value": "Lyon", "count": 30}]


SLOW_ROWS = 20_000


def test_counting_past_the_time_limit_answers_from_the_summary(api, alice, settings):
    # Rows of 1 KB that every `t=like:end` scans in full: 300 of them take seconds.
    filler = "abcdefghij" * 100
    cities = ("Paris", "Lyon", "Nice")
    text = "city,t\n" + "".join(f"{cities[i % 3]},{filler}END\n" for i in range(SLOW_ROWS))
    slug = upload(alice, "slow.csv", text).dataset.slug
    settings.CSVHUB_MAX_FILTERS = 300
    settings.CSVHUB_FACET_TIMEOUT_SECONDS = 0.2
    likes = "&".join(["t=like:end"] * 300)
    started = time.monotonic()
    city, t = facets(api, slug, f"columns=city,t&{likes}")["facets"]
    assert time.monotonic() - started < 5
    assert (city["source"], city["approximate"], city["filtered"]) == ("summary", True, False)
    assert {v["value"] for v in city["values"]} == set(cities)
    assert "longer than 0.2 s" in city["note"]
    # The next column does not try again: straight to its summary (t: one distinct value).
    assert t["source"] == "summary"


def test_no_summary_and_no_time_says_so(api, towns, settings):
    settings.CSVHUB_FACET_SCAN_MAX_ROWS = 5
    (amount,) = facets(api, towns, "columns=amount")["facets"]
    assert amount["source"] == "none"
    assert amount["values"] == []
    assert "no top values are kept" in amount["note"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "columns=col1,col2"),
        ("columns=city,", "empty item"),
        ("columns=nope", "nope"),
        ("columns=city&size=0", "size"),
        ("columns=city&size=51", "size"),
        ("columns=city&sort=city", "rows endpoint"),
        ("columns=city&amount=gt:x", "amount"),
        ("columns=a,b,c,d,e,f", "at most 5"),
    ],
)
def test_bad_requests_say_what_to_fix(api, towns, query, message):
    found = facets(api, towns, query, status=400)
    assert message in str(found)
