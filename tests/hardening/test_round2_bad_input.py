"""Bad input to the endpoints of the second round (appends, alarms, edits, cleaning, lifecycle,
sources, facets), as a table: each request answers a 4xx whose `detail` says what to fix, and
changes nothing: the rows, the rules, the edits, the holds and the sources read the same after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from tests.accounts.actors import ApiAs, World
from tests.datasets.pipeline import upload


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # relative to /api/v1/, {m} the dataset's slug
    body: object
    status: int
    detail: str  # contained in the body's detail


CSV = "sensor,temperature,at,price,note\n" + "".join(
    f"s{n % 3},{20 + n}.5,2024-01-{n + 1:02d}T10:00:00Z,{n}.25,n{n}\n" for n in range(10)
)
MAIL = ["ops@example.com"]
NO_UUID = "00000000-0000-0000-0000-000000000000"

CASES = {
    # csvhub.appends
    "append: an unknown key": Case(
        "post", "datasets/{m}/rows/", {"nope": 1}, 400, "Unknown keys: 'nope'"
    ),
    "append: a number for a body": Case(
        "post", "datasets/{m}/rows/", 5, 400, "must be a JSON object or a list"
    ),
    "append: no rows": Case("post", "datasets/{m}/rows/", [], 400, "holds no rows"),
    "append: an object for a cell": Case(
        "post", "datasets/{m}/rows/", [{"note": {"a": 1}}], 400, "an object is not a cell value"
    ),
    "append: a bad second row keeps the first out": Case(
        "post", "datasets/{m}/rows/", [{"note": "ok"}, 7], 400, "Row 2 is not a JSON object"
    ),
    "append: two keys for one column": Case(
        "post",
        "datasets/{m}/rows/",
        [{"NOTE": "x", "note": "y"}],
        400,
        "both name column 'note'",
    ),
    # csvhub.edits
    "edit: an unknown column": Case(
        "post", "datasets/{m}/edits/", {"set": {"nope": 1}}, 400, "Unknown column 'nope'"
    ),
    "edit: text into a decimal": Case(
        "post", "datasets/{m}/edits/", {"set": {"price": "abc"}}, 400, "not a valid value"
    ),
    "edit: NaN into a decimal": Case(
        "post", "datasets/{m}/edits/", {"set": {"price": "NaN"}}, 400, "not a valid value"
    ),
    "edit: arithmetic on text": Case(
        "post",
        "datasets/{m}/edits/",
        {"action": {"set": {"note": {"multiply": 2}}}},
        400,
        "work on integer and decimal columns",
    ),
    "edit: set and delete at once": Case(
        "post", "datasets/{m}/edits/", {"set": {"price": 1}, "delete": True}, 400, "exactly one"
    ),
    "edit: no action": Case("post", "datasets/{m}/edits/", {}, 400, "action is an object"),
    "edit: a filter on an unknown column": Case(
        "post",
        "datasets/{m}/edits/",
        {"filter": "nope=1", "delete": True},
        400,
        "Unknown column 'nope' in filter",
    ),
    "edit: a count that changed": Case(
        "post",
        "datasets/{m}/edits/",
        {"delete": True, "expected_count": 3},
        409,
        "matches 10 rows, not the 3 expected",
    ),
    "edit: round past the digits kept": Case(
        "post",
        "datasets/{m}/edits/",
        {"set": {"price": {"multiply": "1", "round": 99}}},
        400,
        '"round" takes a whole number of digits',
    ),
    "undo: an edit that does not exist": Case(
        "post", f"datasets/{{m}}/edits/{NO_UUID}/undo", {}, 404, "No edit"
    ),
    "take back: an upload that does not exist": Case(
        "delete", f"uploads/{NO_UUID}/rows", None, 404, "No upload with id"
    ),
    # csvhub.alarms
    "alarm: a text column": Case(
        "post",
        "datasets/{m}/alarms/",
        {"column": "note", "upper": 5, "recipients": MAIL},
        400,
        "is text: an alarm watches a numeric or temporal column",
    ),
    "alarm: lower above upper": Case(
        "post",
        "datasets/{m}/alarms/",
        {"column": "temperature", "lower": 9, "upper": 5, "recipients": MAIL},
        400,
        "lower is above upper",
    ),
    "alarm: no threshold": Case(
        "post",
        "datasets/{m}/alarms/",
        {"column": "temperature", "recipients": MAIL},
        400,
        "Give a lower or an upper threshold",
    ),
    "alarm: NaN threshold": Case(
        "post",
        "datasets/{m}/alarms/",
        {"column": "temperature", "upper": "NaN", "recipients": MAIL},
        400,
        "is not a finite number",
    ),
    "alarm: a misspelt field": Case(
        "post",
        "datasets/{m}/alarms/",
        {"column": "temperature", "upper": 5, "for_second": 60, "recipients": MAIL},
        400,
        "for_second: Unknown field",
    ),
    "alarm: a duration in no unit": Case(
        "post",
        "datasets/{m}/alarms/",
        {"column": "temperature", "upper": 5, "for": "5 parsecs", "recipients": MAIL},
        400,
        "for: Seconds (a whole number)",
    ),
    "alarm: a group column that does not exist": Case(
        "post",
        "datasets/{m}/alarms/",
        {"column": "temperature", "upper": 5, "group_by": "nope", "recipients": MAIL},
        400,
        "Unknown column 'nope' in group_by",
    ),
    "alarm: a timestamp threshold that is no time": Case(
        "post",
        "datasets/{m}/alarms/",
        {"column": "at", "upper": "soon", "recipients": MAIL},
        400,
        "'soon' is not a timestamp value",
    ),
    "alarm events: an unknown state": Case(
        "get", "alarms/events/?state=nope", None, 400, '"nope" is not a valid choice'
    ),
    # csvhub.cleaning
    "reading rules: an unknown rule": Case(
        "put",
        "datasets/{m}/reading-rules/",
        {"type_overrides": {}},
        400,
        "Unknown reading rules 'type_overrides': the rules are",
    ),
    "reading rules: a type that does not exist": Case(
        "put",
        "datasets/{m}/reading-rules/",
        {"column_types": {"price": "banana"}},
        400,
        "is not a type",
    ),
    "reading rules: one separator for both": Case(
        "put",
        "datasets/{m}/reading-rules/",
        {"decimal_separator": ",", "thousands_separator": ","},
        400,
        "must differ from the decimal one",
    ),
    "recipe: an unknown step": Case(
        "put", "datasets/{m}/recipe/", {"steps": [{"op": "nope"}]}, 400, "Unknown op 'nope'"
    ),
    "recipe: a step on a column that does not exist": Case(
        "put",
        "datasets/{m}/recipe/",
        {"steps": [{"op": "trim", "column": "nope"}]},
        400,
        "'nope' is not a column of this dataset",
    ),
    "clusters: an unknown method": Case(
        "get",
        "datasets/{m}/columns/note/clusters/?method=nope",
        None,
        400,
        '"nope" is not a valid choice',
    ),
    "clusters: accepting one value": Case(
        "post",
        "datasets/{m}/columns/note/clusters/accept",
        {"values": ["a"]},
        400,
        "at least two texts",
    ),
    # csvhub.lifecycle
    "retention: negative days": Case(
        "patch", "retention/", {"keep_files_days": -1}, 400, "From 1 to 36,500 days"
    ),
    "retention: rows by a text column": Case(
        "patch",
        "datasets/{m}/retention/",
        {"keep_rows_days": 5, "rows_column": "note"},
        400,
        "is not a date or timestamp column",
    ),
    "retention: rows with no column": Case(
        "patch", "datasets/{m}/retention/", {"keep_rows_days": 5}, 400, "needs rows_column"
    ),
    "hold: on nothing": Case("post", "holds/", {"reason": "audit"}, 400, "one dataset or one"),
    "hold: on a dataset that does not exist": Case(
        "post", "holds/", {"reason": "audit", "dataset": "nope"}, 404, "No dataset with slug"
    ),
    # csvhub.sources
    "source: a file URL": Case(
        "post",
        "datasets/{m}/sources/",
        {"kind": "url", "url": "file:///etc/passwd", "every_seconds": 3600},
        400,
        "needs an http:// or https:// URL",
    ),
    "source: a private address": Case(
        "post",
        "datasets/{m}/sources/",
        {"kind": "url", "url": "http://127.0.0.1:1/a.csv", "every_seconds": 3600},
        400,
        "an address inside a private network",
    ),
    "source: S3 without a bucket": Case(
        "post",
        "datasets/{m}/sources/",
        {"kind": "s3", "every_seconds": 3600},
        400,
        "needs a `bucket`",
    ),
    # csvhub.facets
    "facets: no columns": Case("get", "datasets/{m}/facets/", None, 400, "Say which columns"),
    "facets: size past the cap": Case(
        "get", "datasets/{m}/facets/?columns=note&size=99999", None, 400, "from 1 to 50"
    ),
}


@pytest.mark.django_db(transaction=True)  # ingestion runs on commit
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_request_says_what_to_fix_and_changes_nothing(
    case: Case, api_as: ApiAs, world: World
) -> None:
    made = upload(world.acme, "m.csv", CSV)
    assert made.state == "succeeded", made.error
    api = api_as("admin")
    before = _everything(api, made.dataset.slug)

    response = _send(api, case, made.dataset.slug)

    assert response.status_code == case.status, response.content
    assert response["Content-Type"] == "application/json"
    assert case.detail in response.json()["detail"]
    assert _everything(api, made.dataset.slug) == before


def _send(api: APIClient, case: Case, slug: str):
    path = "/api/v1/" + case.path.format(m=slug)
    send = getattr(api, case.method)
    return send(path) if case.body is None else send(path, case.body, format="json")


def _everything(api: APIClient, slug: str) -> str:
    """What a bad request must leave as it was, read through the API."""
    reads = [
        f"datasets/{slug}/rows/?limit=100",
        f"datasets/{slug}/",
        f"datasets/{slug}/alarms/",
        f"datasets/{slug}/edits/",
        f"datasets/{slug}/reading-rules/",
        f"datasets/{slug}/recipe/",
        f"datasets/{slug}/retention/",
        f"datasets/{slug}/sources/",
        "retention/",
        "holds/",
    ]
    answers = {}
    for read in reads:
        response = api.get("/api/v1/" + read)
        assert response.status_code == 200, (read, response.content)
        answers[read] = response.json()
    return json.dumps(answers, sort_keys=True)
