"""The fixed cost of an API request: what the rows endpoint asks of the metadata database and
of Django's browser machinery, and that the shortcuts keep every guarantee (revocation on the
next request, CSRF on session-cookie writes)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from csvhub.accounts.models import ApiToken, Membership, Role
from csvhub.accounts.services import token_revoke
from csvhub.datasets.models import Dataset
from tests.accounts.actors import World
from tests.datasets.pipeline import upload

pytestmark = pytest.mark.django_db(transaction=True)

CSV = "id,name\n1,alpha\n2,beta\n3,gamma\n"


@pytest.fixture
def sales(world: World) -> Dataset:
    created = upload(world.acme, "sales.csv", CSV)
    assert created.state == "succeeded", created.error
    # Used a moment ago: this request does not write last_used_at (once a minute at most).
    ApiToken.objects.update(last_used_at=timezone.now() - timedelta(seconds=5))
    return Dataset.objects.get(pk=created.dataset_id)


def _bearer(world: World, actor: str = "viewer") -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {world.token_text[actor]}")


def _rows_url(dataset: Dataset, query: str = "") -> str:
    return f"/api/v1/datasets/{dataset.slug}/rows/?{query}"


@pytest.mark.parametrize("query", ["", "id=gte:2&sort=id:desc", "count=exact"])
def test_a_rows_request_reads_the_token_and_the_dataset_and_nothing_else(
    world: World, sales: Dataset, django_assert_max_num_queries, query: str
) -> None:
    client = _bearer(world)
    client.get(_rows_url(sales))  # the first request opens the connection, loads the URLconf

    with django_assert_max_num_queries(2):
        response = client.get(_rows_url(sales, query))

    assert response.status_code == 200


def test_analysis_requests_read_the_token_and_the_dataset_and_nothing_else(
    world: World, sales: Dataset, django_assert_max_num_queries
) -> None:
    client = _bearer(world)

    with django_assert_max_num_queries(2):
        response = client.get(f"/api/v1/datasets/{sales.slug}/analysis/?type=row_count")

    assert response.status_code == 200, response.content


def test_revocation_stops_the_very_next_rows_request(world: World, sales: Dataset) -> None:
    client = _bearer(world)
    assert client.get(_rows_url(sales)).status_code == 200

    token_revoke(token=ApiToken.objects.get(name="viewer"))

    response = client.get(_rows_url(sales))
    assert response.status_code == 401
    assert response.json() == {"detail": "This token is revoked."}


def test_a_demoted_owner_cannot_write_with_an_editor_token_on_the_next_request(
    world: World, sales: Dataset
) -> None:
    client = _bearer(world, "editor")
    indexes = f"/api/v1/datasets/{sales.slug}/indexes/"
    Membership.objects.filter(user=world.carol).update(role=Role.VIEWER)

    response = client.post(indexes, {"columns": ["id"]}, content_type="application/json")

    assert response.status_code == 403


def test_the_token_lookup_gives_the_orm_s_own_values(world: World) -> None:
    from csvhub.accounts.selectors import token_find

    found = token_find(text=world.token_text["admin"])
    stored = ApiToken.objects.select_related("user", "organization").get(name="admin")

    assert found is not None
    assert [getattr(found, f.attname) for f in ApiToken._meta.concrete_fields] == [
        getattr(stored, f.attname) for f in ApiToken._meta.concrete_fields
    ]
    assert found.user.date_joined == stored.user.date_joined and found.user.is_active
    assert found.organization.slug == "acme" and found.organization.created_at is not None
    assert found.owner_role == "admin"  # type: ignore[attr-defined]
    assert found.created_at.tzinfo is not None


def test_the_token_lookup_still_sends_init_signals_to_their_listeners(world: World) -> None:
    from django.db.models.signals import post_init

    from csvhub.accounts.selectors import token_find

    seen: list[object] = []

    def listener(sender: type, instance: object, **kwargs: object) -> None:
        seen.append(instance)

    post_init.connect(listener, sender=ApiToken)
    try:
        found = token_find(text=world.token_text["admin"])
    finally:
        post_init.disconnect(listener, sender=ApiToken)

    assert seen == [found]


def test_the_token_lookup_knows_when_the_owner_left(world: World) -> None:
    from csvhub.accounts.selectors import token_find

    Membership.objects.filter(user=world.alice).delete()

    found = token_find(text=world.token_text["admin"])

    assert found is not None and found.owner_role is None  # type: ignore[attr-defined]


@pytest.fixture
def broken_sessions(settings) -> None:
    """A session store that fails the request as soon as anything builds a session."""
    settings.SESSION_ENGINE = "tests.datasets.sessions_that_fail"


def test_bearer_api_calls_never_build_a_session(
    world: World, sales: Dataset, broken_sessions: None
) -> None:
    assert _bearer(world).get(_rows_url(sales)).status_code == 200


def test_web_pages_still_build_their_session(world: World, broken_sessions: None) -> None:
    from tests.datasets.sessions_that_fail import SessionUsed

    with pytest.raises(SessionUsed):
        Client().get("/login/")


def test_session_api_calls_still_build_their_session(world: World, broken_sessions: None) -> None:
    from tests.datasets.sessions_that_fail import SessionUsed

    with pytest.raises(SessionUsed):
        Client().get("/api/v1/datasets/")


def test_session_cookie_writes_to_the_api_still_need_the_csrf_token(world: World) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.carol)

    refused = client.post("/api/v1/datasets/", {"name": "sales"}, format="json")
    client.cookies["csrftoken"] = "c" * 32
    accepted = client.post(
        "/api/v1/datasets/", {"name": "sales"}, format="json", HTTP_X_CSRFTOKEN="c" * 32
    )

    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert accepted.status_code == 201


def test_bearer_writes_need_no_csrf_token(world: World) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.token_text['editor']}")

    response = client.post("/api/v1/datasets/", {"name": "sales"}, format="json")

    assert response.status_code == 201


def _served(path: str, authorization: str) -> int:
    """One request the way gunicorn hands it to Django: through the WSGI handler, which closes
    or keeps the database connection at the end as CONN_MAX_AGE says (the test client never
    closes it)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.client import RequestFactory

    environ = RequestFactory()._base_environ(PATH_INFO=path, HTTP_AUTHORIZATION=authorization)
    statuses: list[str] = []
    response = WSGIHandler()(environ, lambda status, headers: statuses.append(status))
    b"".join(response)
    response.close()  # sends request_finished
    return int(statuses[0].split()[0])


def test_the_metadata_connection_outlives_the_request(world: World, sales: Dataset) -> None:
    from django.db import connection

    authorization = f"Bearer {world.token_text['viewer']}"
    path = f"/api/v1/datasets/{sales.slug}/rows/"
    assert _served(path, authorization) == 200
    opened = connection.connection

    assert _served(path, authorization) == 200
    assert opened is not None and connection.connection is opened


def test_the_dataset_lookup_gives_the_orm_s_own_values(world: World, sales: Dataset) -> None:
    from csvhub.datasets.selectors import dataset_find

    found = dataset_find(organization=world.acme, slug=sales.slug)

    fields = Dataset._meta.concrete_fields
    assert [getattr(found, f.attname) for f in fields] == [
        getattr(sales, f.attname) for f in fields
    ]
    assert found.columns and found.columns == sales.columns


def test_the_dataset_lookup_keeps_to_the_organization(world: World, sales: Dataset) -> None:
    from csvhub.datasets.errors import DatasetNotFound
    from csvhub.datasets.selectors import dataset_find

    with pytest.raises(DatasetNotFound):
        dataset_find(organization=world.globex, slug=sales.slug)


def _page_statements(client: Client, urls: list[str]) -> list[object]:
    """The statement objects the warehouse ran for each page request (its rows query only)."""
    from sqlalchemy import event

    from csvhub.warehouse.engine import get_engine

    ran: list[object] = []

    def caught(conn, cursor, statement, parameters, context, executemany) -> None:
        if context is not None and context.invoked_statement is not None:
            ran.append(context.invoked_statement)

    engine = get_engine()
    event.listen(engine, "after_cursor_execute", caught)
    try:
        for url in urls:
            assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "after_cursor_execute", caught)
    return ran


def test_pages_of_one_shape_run_one_statement_built_once(world: World, sales: Dataset) -> None:
    client = _bearer(world)
    first = _rows_url(sales, "id=gte:1&sort=id&limit=1&count=none")
    second = client.get(first).json()["next"]
    third = client.get(second).json()["next"]

    ran = _page_statements(client, [first, first, second, third])

    # Page 1 twice: the same statement; the two cursor pages (other cursor values, same
    # shape): one statement, which binds the values when it runs.
    assert len(ran) == 4
    assert ran[0] is ran[1]
    assert ran[2] is ran[3] and ran[2] is not ran[0]


def test_cursor_pages_of_one_shape_still_give_their_own_rows(world: World, sales: Dataset) -> None:
    client = _bearer(world)
    url = _rows_url(sales, "id=gte:1&sort=id:desc&limit=1&count=none")
    seen = []
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["rows"]]
        url = page["next"]

    assert seen == [3, 2, 1]


def test_a_rows_page_reads_no_statistics(world: World, sales: Dataset) -> None:
    # Statistics no reader of a page needs: one a parse would refuse proves none was made.
    Dataset.objects.filter(pk=sales.pk).update(stats={"id": {"day_counts": "not counts"}})

    response = _bearer(world).get(_rows_url(sales, "sort=name"))

    assert response.status_code == 200
    assert [row["name"] for row in response.json()["rows"]] == ["alpha", "beta", "gamma"]


def test_statistics_read_on_use_are_the_stored_ones(world: World, sales: Dataset) -> None:
    from csvhub.schema import ColumnStats

    schema = Dataset.objects.get(pk=sales.pk).schema

    assert schema.stats_of("id") == ColumnStats.from_json(sales.stats["id"])
    assert dict(schema.stats) == {
        name: ColumnStats.from_json(data) for name, data in sales.stats.items()
    }


def test_a_rows_page_leaves_the_dataset_statistics_undecoded(
    world: World, sales: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    from csvhub import prepared
    from csvhub.datasets.selectors import dataset_find

    decoded: list[object] = []
    original = prepared._Pending.converted

    def counted(pending: prepared._Pending) -> object:
        decoded.append(pending)
        return original(pending)

    monkeypatch.setattr(prepared._Pending, "converted", counted)
    assert _bearer(world).get(_rows_url(sales)).status_code == 200
    assert decoded == []  # the request's own dataset: its statistics never decoded

    found = dataset_find(organization=world.acme, slug=sales.slug)
    found.schema.column("id")  # what a page reads of the schema
    assert "stats" not in found.__dict__
    assert found.schema.stats_of("id").non_null == 3  # read when asked for
    assert found.stats == sales.stats and "stats" in found.__dict__


def test_statistics_read_late_are_the_dataset_s_current_ones_after_a_refresh(
    world: World, sales: Dataset
) -> None:
    from csvhub.datasets.selectors import dataset_find

    found = dataset_find(organization=world.acme, slug=sales.slug)
    Dataset.objects.filter(pk=sales.pk).update(stats={"id": {"nulls": 7}})

    found.refresh_from_db()

    assert found.stats == {"id": {"nulls": 7}}


def test_a_dataset_saved_without_reading_its_statistics_keeps_them(
    world: World, sales: Dataset
) -> None:
    from csvhub.datasets.selectors import dataset_find

    found = dataset_find(organization=world.acme, slug=sales.slug)
    found.description = "Sales by day"
    found.save()

    stored = Dataset.objects.get(pk=sales.pk)
    assert stored.description == "Sales by day" and stored.stats == sales.stats
