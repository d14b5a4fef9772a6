"""Issue 11, item 10: bad API requests, each answered with the one documented error shape.

Every case: request in, status and body out. Every body has `detail` (a sentence naming what to
fix); 400s about fields add `errors` keyed by the field's path. No case answers HTML or a 5xx.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from rest_framework.test import APIClient

from csvhub.accounts.models import Membership
from tests.accounts.actors import ApiAs, World
from tests.datasets.pipeline import upload


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    status: int
    detail: str  # contained in the body's detail
    errors: dict[str, list[str]] | None = None  # the whole `errors` object, when there is one
    body: object = None
    content_type: str = "application/json"
    extra: dict[str, str] = field(default_factory=dict)


SALES_CSV = "id,amount\n" + "".join(f"{n},{n * 2}\n" for n in range(20)) + "20,1,extra\n"
REQUIRED = "This field is required."
CASES = {
    "a missing field names the field": Case(
        "post", "/api/v1/datasets/", 400, "name: This field is required.", {"name": [REQUIRED]}, {}
    ),
    "the issue's example: an index without columns": Case(
        "post",
        "/api/v1/datasets/sales/indexes/",
        400,
        "columns: This field is required.",
        {"columns": [REQUIRED]},
        {},
    ),
    "limit=offset,count with an offset (a shorthand the schema leaves out)": Case(
        "get", "/api/v1/datasets/sales/rows/?limit=0,2&offset=0", 400, "already gives an offset"
    ),
    "an analysis parameter of another type": Case(
        "get",
        "/api/v1/datasets/sales/analysis/?type=aggregate&bins=3",
        400,
        "bins does not apply to type=aggregate",
    ),
    "a number where the schema says string": Case(
        "post",
        "/api/v1/datasets/",
        400,
        "name: Not a valid string.",
        {"name": ["Not a valid string."]},
        {"name": 0},
    ),
    "a nested field error names its path": Case(
        "post",
        "/api/v1/datasets/sales/indexes/",
        400,
        "columns.0: Not a valid string.",
        {"columns.0": ["Not a valid string."]},
        {"columns": [{}]},
    ),
    "an empty PATCH of a member": Case(
        "patch",
        "/api/v1/members/{bob}/",
        400,
        "role: This field is required.",
        {"role": [REQUIRED]},
        {},
    ),
    "a form body where the API takes JSON": Case(
        "post",
        "/api/v1/tokens/",
        415,
        'Unsupported media type "application/x-www-form-urlencoded"',
        body="name=ci",
        content_type="application/x-www-form-urlencoded",
    ),
    "malformed JSON": Case("post", "/api/v1/tokens/", 400, "JSON parse error", body="{"),
    "page_size=null": Case(
        "get",
        "/api/v1/organizations/?page_size=null",
        400,
        "page_size: A valid integer is required.",
        {"page_size": ["A valid integer is required."]},
    ),
    "page_size=0": Case(
        "get",
        "/api/v1/tokens/?page_size=0",
        400,
        "page_size: Ensure this value is greater than or equal to 1.",
        {"page_size": ["Ensure this value is greater than or equal to 1."]},
    ),
    "page_size above the maximum": Case(
        "get",
        "/api/v1/members/?page_size=501",
        400,
        "page_size: Ensure this value is less than or equal to 500.",
        {"page_size": ["Ensure this value is less than or equal to 500."]},
    ),
    "a negative offset on rejects": Case(
        "get",
        "/api/v1/uploads/{upload}/rejects?offset=-1",
        400,
        "offset: Ensure this value is greater than or equal to 0.",
        {"offset": ["Ensure this value is greater than or equal to 0."]},
    ),
    "an offset on rejects past any table": Case(
        "get",
        "/api/v1/uploads/{upload}/rejects?offset=99999999999999999999",
        400,
        "offset: Ensure this value is less than or equal to 1000000000000.",
        {"offset": ["Ensure this value is less than or equal to 1000000000000."]},
    ),
    "a dataset slug the URL pattern rejects": Case(
        "get", "/api/v1/datasets/a%20b/", 404, "no API object or path matches this URL"
    ),
    "rows of a slug the URL pattern rejects": Case(
        "get", "/api/v1/datasets/%C2%BF/rows/", 404, "no API object or path matches this URL"
    ),
    "an unknown API path": Case("get", "/api/v1/nothing-here/", 404, "(the API is described at"),
    "an upload with no file": Case(
        "post",
        "/api/v1/uploads/",
        400,
        "file",
        body={"dataset": "sales"},
        content_type="multipart/form-data",
    ),
}


@pytest.mark.django_db(transaction=True)  # ingestion runs on commit
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_api_request_answers_the_error_shape(case: Case, api_as: ApiAs, world: World) -> None:
    response = _send(api_as("admin"), case, world)

    assert response.status_code == case.status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == ({"detail", "errors"} if case.errors else {"detail"}), body
    assert case.detail in body["detail"]
    assert body.get("errors") == case.errors


@pytest.mark.parametrize("path", ["/api/no-such/path/", "/etl/no-such/"])
def test_unknown_api_paths_answer_json_404(client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_pages_outside_the_api_keep_djangos_html_404(client) -> None:
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def _send(api: APIClient, case: Case, world: World):
    # 20 rows and one reject, so that the rejects endpoint has something to page through.
    uploaded = upload(world.acme, "sales.csv", SALES_CSV)
    assert uploaded.state == "succeeded", uploaded.error
    bob = Membership.objects.get(user=world.bob, organization=world.acme)
    path = case.path.format(upload=uploaded.id, bob=bob.pk)
    send = getattr(api, case.method)
    if case.content_type == "multipart/form-data":
        return send(path, case.body, format="multipart")
    if isinstance(case.body, str):
        return send(path, case.body, content_type=case.content_type)
    if case.body is None:
        return send(path)
    return send(path, case.body, format="json")


def test_a_body_over_the_limit_is_a_json_413(api_as: ApiAs, world: World, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"name": "%s"}' % ("x" * 5000)

    response = api_as("admin").post("/api/v1/datasets/", body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large."}


def test_a_crash_on_an_api_path_answers_json(rf) -> None:
    from csvhub.api import server_error

    response = server_error(rf.get("/api/v1/datasets/"))

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"detail": "Internal error: it has been logged."}
