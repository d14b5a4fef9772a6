"""The server-rendered pages: who may open them, what they show, and that another
organization's data never appears. Browser behaviour is in test_web_e2e.py."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client

from csvhub.accounts.models import Membership, Organization, Role
from csvhub.datasets import services
from csvhub.datasets.models import Dataset, Upload, UploadState
from csvhub.grammar.page import page_table
from tests.accounts.actors import World
from tests.web.conftest import SALES

DASH = "\u2013"  # the en dash the pages put in ranges of rows
pytestmark = pytest.mark.django_db

PAGES = ["/", "/files/table/", "/files/live/", "/upload/", "/tokens/", "/members/"]


def _names_in_order(html: str) -> list[str]:
    return re.findall(r'<tbody class="dataset" data-slug="([^"]+)"', html)


@pytest.mark.parametrize("path", [*PAGES, "/datasets/sales/", "/datasets/sales/delete/"])
def test_anonymous_visitor_is_sent_to_sign_in(path: str, world: World) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/login/?next={path}")


def test_files_page_lists_datasets_and_uploads_of_the_organization(
    world: World, client_as, uploaded
) -> None:
    sales = uploaded(world.acme, "sales.csv", SALES)
    uploaded(world.globex, "globex-secret.csv", "a\n1\n")

    html = client_as("bob").get("/").content.decode()

    assert "sales.csv" in html
    assert 'href="/datasets/sales/"' in html
    assert f"/api/v1/uploads/{sales.id}/file?org=acme" in html
    assert "/api/v1/datasets/sales/rows/?format=csv&amp;safe=spreadsheet&amp;org=acme" in html
    assert "Succeeded" in html
    assert "globex" not in html.lower()


def test_other_organization_sees_nothing_of_acme(world: World, client_as, uploaded) -> None:
    sales = uploaded(world.acme, "sales.csv", SALES + "oops\n")
    mallory = client_as("mallory")

    assert "sales" not in mallory.get("/").content.decode()
    assert mallory.get("/datasets/sales/").status_code == 404
    assert mallory.post("/datasets/sales/delete/").status_code == 404
    assert mallory.get(f"/uploads/{sales.id}/rejects/").status_code == 404
    live = mallory.get(f"/files/live/?upload={sales.id}").json()
    assert live["uploads"] == []
    assert Dataset.objects.filter(slug="sales").exists()


def test_viewer_sees_no_upload_or_delete_controls(world: World, client_as, uploaded) -> None:
    uploaded(world.acme, "sales.csv", SALES)
    html = client_as("bob").get("/").content.decode()
    assert "/datasets/sales/delete/" not in html
    assert 'href="/upload/"' not in html
    editor_html = client_as("carol").get("/").content.decode()
    assert "/datasets/sales/delete/" in editor_html


def _datasets(organization: Organization, sizes: dict[str, int]) -> None:
    """Datasets with one (not ingested) upload each of the given size in bytes."""
    for name, size in sizes.items():
        dataset = services.dataset_create(organization=organization, name=name)
        Upload.objects.create(
            dataset=dataset, original_name=f"{name}.csv", size=size, state=UploadState.SUCCEEDED
        )


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("size", ["small", "medium", "large"]),
        ("-size", ["large", "medium", "small"]),
        ("name", ["large", "medium", "small"]),
        ("-name", ["small", "medium", "large"]),
        ("-created", ["large", "medium", "small"]),
        ("nonsense", ["large", "medium", "small"]),  # unknown sorts fall back to newest first
    ],
)
def test_files_table_sorts(sort: str, expected: list[str], world: World, client_as) -> None:
    _datasets(world.acme, {"small": 10, "medium": 500, "large": 90_000})
    html = client_as("bob").get("/", {"sort": sort}).content.decode()
    assert _names_in_order(html) == expected


def test_sort_header_says_how_the_table_is_sorted(world: World, client_as) -> None:
    _datasets(world.acme, {"small": 10})
    html = client_as("bob").get("/", {"sort": "-size"}).content.decode()
    header = re.search(r'<th[^>]*aria-sort="descending"[^>]*>.*?</th>', html, re.S)
    assert header and "Size" in header.group(0)
    assert 'href="/?sort=size"' in header.group(0)  # a second click reverses


def test_files_search_matches_names(world: World, client_as) -> None:
    _datasets(world.acme, {"Sales 2024": 1, "sales-2023": 1, "customers": 1})
    html = client_as("bob").get("/", {"q": "SALES"}).content.decode()
    assert sorted(_names_in_order(html)) == ["sales-2023", "sales-2024"]
    empty = client_as("bob").get("/", {"q": "nothing"}).content.decode()
    assert "No dataset matches" in empty


def test_files_table_is_paginated(world: World, client_as) -> None:
    _datasets(world.acme, {f"d{i:02}": i for i in range(60)})
    first = client_as("bob").get("/", {"sort": "name"}).content.decode()
    second = client_as("bob").get("/", {"sort": "name", "page": 2}).content.decode()
    assert len(_names_in_order(first)) == 50
    assert _names_in_order(second) == [f"d{i}" for i in range(50, 60)]
    assert 'href="/?sort=name&amp;page=2"' in first
    assert f"51{DASH}60 of 60 datasets" in second


def test_files_page_queries_do_not_grow_with_datasets(
    world: World, client_as, django_assert_max_num_queries
) -> None:
    Dataset.objects.bulk_create(
        Dataset(organization=world.acme, name=f"data {i}", slug=f"data-{i}") for i in range(1000)
    )
    client = client_as("bob")
    # session, user, membership, version (2), count, page, prefetched uploads, usage and quotas
    with django_assert_max_num_queries(11):
        response = client.get("/", {"sort": "-size"})
    assert response.status_code == 200
    assert f"1{DASH}50 of 1,000 datasets" in response.content.decode()


def test_files_table_fragment_is_the_table_alone(world: World, client_as) -> None:
    _datasets(world.acme, {"small": 10, "large": 90_000})
    response = client_as("bob").get("/files/table/", {"sort": "-size"})
    html = response.content.decode()
    assert "<html" not in html
    assert _names_in_order(html) == ["large", "small"]


def test_live_version_changes_when_datasets_appear_or_finish(world: World, client_as) -> None:
    client = client_as("bob")
    before = client.get("/files/live/").json()["version"]
    assert client.get("/files/live/").json()["version"] == before  # stable when nothing changed
    dataset = services.dataset_create(organization=world.acme, name="new")
    added = client.get("/files/live/").json()["version"]
    assert added != before
    upload = Upload.objects.create(dataset=dataset, original_name="x.csv", size=100)
    queued = client.get("/files/live/").json()
    assert queued["version"] != added
    assert [u["id"] for u in queued["uploads"]] == [str(upload.id)]
    Upload.objects.filter(pk=upload.pk).update(state=UploadState.RUNNING, bytes_read=40)
    running = client.get("/files/live/").json()
    assert running["uploads"][0] | {"state": "running", "bytes_read": 40} == running["uploads"][0]
    Upload.objects.filter(pk=upload.pk).update(state=UploadState.SUCCEEDED)
    done = client.get("/files/live/").json()
    assert done["uploads"] == []
    assert done["version"] != queued["version"]
    dataset.delete()
    assert client.get("/files/live/").json()["version"] != done["version"]


def test_live_reports_named_uploads_with_friendly_errors(world: World, client_as, uploaded) -> None:
    uploaded(world.acme, "sales.csv", SALES)
    bad = uploaded(world.acme, "other.csv", "id,colour\n1,red\n", dataset="sales")
    assert bad.state == "failed"

    answer = client_as("carol").get(f"/files/live/?upload={bad.id}&upload=not-a-uuid").json()

    (progress,) = answer["uploads"]
    assert progress["state"] == "failed"
    assert progress["error"].startswith("This file's columns are not the same as the dataset's")
    assert "Missing from the file: sold_at, amount, region." in progress["error"]
    assert "In the file but not in the dataset: colour." in progress["error"]


def test_upload_page_needs_editor(world: World, client_as, uploaded) -> None:
    uploaded(world.acme, "sales.csv", SALES)
    denied = client_as("bob").get("/upload/")
    assert denied.status_code == 403
    assert "editor role" in denied.content.decode()
    page = client_as("carol").get("/upload/?dataset=sales").content.decode()
    assert '<option value="sales" selected>' in page
    assert 'data-api-url="/api/v1/uploads/"' in page


def test_dataset_page_shows_columns_types_and_summaries(world: World, client_as, uploaded) -> None:
    uploaded(world.acme, "sales.csv", SALES)
    html = client_as("bob").get("/datasets/sales/").content.decode()
    for expected in ("amount", "decimal", "timestamp", "2024-01-01 10:00:00", "30.00"):
        assert expected in html
    assert 'data-rows-url="/api/v1/datasets/sales/rows/"' in html
    columns = re.search(
        r'<script id="dataset-columns" type="application/json">(.*?)</script>', html
    )
    assert columns and '"name": "region"' in columns.group(1)


def test_dataset_page_of_unknown_slug_is_404(world: World, client_as) -> None:
    assert client_as("bob").get("/datasets/nope/").status_code == 404


def test_delete_asks_then_deletes(world: World, client_as, uploaded) -> None:
    uploaded(world.acme, "sales.csv", SALES)
    carol = client_as("carol")
    confirm = carol.get("/datasets/sales/delete/")
    assert confirm.status_code == 200
    assert "cannot be undone" in confirm.content.decode()
    assert Dataset.objects.filter(slug="sales").exists()

    response = carol.post("/datasets/sales/delete/", {"next": "/?sort=name"})

    assert response.status_code == 302
    assert response["Location"] == "/?sort=name"
    assert not Dataset.objects.filter(slug="sales").exists()
    assert "Deleted sales." in carol.get("/").content.decode()


def test_viewer_cannot_delete(world: World, client_as, uploaded) -> None:
    uploaded(world.acme, "sales.csv", SALES)
    assert client_as("bob").post("/datasets/sales/delete/").status_code == 403
    assert Dataset.objects.filter(slug="sales").exists()


def test_delete_never_redirects_off_site(world: World, client_as, uploaded) -> None:
    uploaded(world.acme, "sales.csv", SALES)
    response = client_as("carol").post("/datasets/sales/delete/", {"next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_rejects_page_lists_rejected_rows(world: World, client_as, uploaded) -> None:
    content = SALES + "".join(f"{i},2024-02-01 00:00:00,1.0,west\n" for i in range(4, 40))
    upload = uploaded(world.acme, "sales.csv", content + "broken,row\n")
    html = client_as("bob").get(f"/uploads/{upload.id}/rejects/").content.decode()
    assert "1 row of this file could not be read" in html
    assert "broken,row" in html
    assert ">41<" in html  # the line number, header included


def test_failed_upload_shows_its_reason_in_plain_words(
    world: World, client_as, uploaded, settings
) -> None:
    settings.CSVHUB_MAX_REJECT_RATIO = 0.1
    uploaded(world.acme, "messy.csv", "a,b\n1,2\nx\ny\nz\n")
    html = client_as("bob").get("/").content.decode()
    assert "Failed" in html
    assert "Too many rows of this file are broken: 3 of 4" in html


def test_tokens_page_offers_roles_up_to_the_users_own(world: World, client_as) -> None:
    viewer = client_as("bob").get("/tokens/").content.decode()
    assert '<option value="viewer"' in viewer
    assert '<option value="editor"' not in viewer
    admin = client_as("alice").get("/tokens/").content.decode()
    assert '<option value="admin"' in admin
    assert 'data-api-url="/api/v1/tokens/"' in admin


def test_members_page_is_for_admins(world: World, client_as) -> None:
    assert client_as("carol").get("/members/").status_code == 403
    page = client_as("alice").get("/members/")
    assert page.status_code == 200
    assert 'data-api-url="/api/v1/members/"' in page.content.decode()


def test_nav_shows_members_link_to_admins_only(world: World, client_as) -> None:
    assert 'href="/members/"' in client_as("alice").get("/").content.decode()
    assert 'href="/members/"' not in client_as("carol").get("/").content.decode()


def test_user_of_several_organizations_is_asked_to_choose(world: World, client_as) -> None:
    Membership.objects.create(user=world.bob, organization=world.globex, role=Role.VIEWER)
    response = client_as("bob").get("/")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose an organization" in html
    assert 'action="/orgs/switch/"' in html
    chosen = client_as("bob")
    chosen.post("/orgs/switch/", {"organization": "globex"})
    assert chosen.get("/").status_code == 200


def test_user_without_organization_gets_a_page_not_an_error(world: World) -> None:
    loner = get_user_model().objects.create_user("loner", password="x")
    client = Client()
    client.force_login(loner)
    response = client.get("/")
    assert response.status_code == 403
    assert "not a member of any organization" in response.content.decode()


def test_naming_an_organization_not_ones_own_is_404(world: World, client_as) -> None:
    assert client_as("bob").get("/?org=globex").status_code == 404


def test_upload_list_shows_only_the_latest_uploads_of_a_dataset(world: World, client_as) -> None:
    dataset = services.dataset_create(organization=world.acme, name="busy")
    for i in range(8):
        services.upload_create(dataset=dataset, file=ContentFile(b"a\n1\n", name=f"part{i}.csv"))
    html = client_as("bob").get("/").content.decode()
    assert "part7.csv" in html
    assert "part2.csv" not in html
    assert "3 earlier files on the dataset page" in html


PEOPLE = "Name,name,Unit Price\nAda,ada,1.50\nBob,bob,2.00\n"


def _json_script(html: str, element_id: str) -> object:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html)
    assert found, element_id
    return json.loads(found.group(1))


def test_dataset_page_gets_the_grammar_table_the_api_parses_with(
    world: World, client_as, uploaded
) -> None:
    uploaded(world.acme, "sales.csv", SALES)
    html = client_as("bob").get("/datasets/sales/").content.decode()
    assert _json_script(html, "query-grammar") == json.loads(json.dumps(page_table()))


def test_dataset_page_resolves_its_query_columns_as_the_api_does(
    world: World, client_as, uploaded
) -> None:
    uploaded(world.acme, "people.csv", PEOPLE)
    query = "NAME=like:a&unit PRICE=gt:1&name=eq:ada&sort=Unit Price:desc,NAME&org=acme"
    bob = client_as("bob")
    html = bob.get("/datasets/people/?" + query.replace(" ", "%20")).content.decode()

    # NAME matches the columns name and name_2 ignoring case: the API refuses it, so the page
    # must not pick one; the others name one column each.
    assert _json_script(html, "column-spellings") == {
        "unit PRICE": "unit_price",
        "name": "name",
        "Unit Price": "unit_price",
    }
    ambiguous = bob.get("/api/v1/datasets/people/rows/", {"NAME": "like:a"})
    assert ambiguous.status_code == 400
    assert "matches several columns (name, name_2)" in ambiguous.json()["detail"]
