"""Many files at once from the files page: one streamed ZIP of the originals, one confirmed
delete of several datasets. The browser side is in test_dataset_page_e2e.py."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from contextlib import closing
from datetime import UTC, datetime

import pytest

from csvhub.datasets.models import Dataset
from csvhub.web.zips import unique_names, zip_stream
from tests.accounts.actors import World
from tests.web.conftest import SALES

pytestmark = pytest.mark.django_db


def _zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.content
    assert response.streaming and response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_zip_holds_the_originals_of_chosen_datasets_and_files(
    world: World, client_as, uploaded
) -> None:
    first = uploaded(world.acme, "sales.csv", SALES)
    again = uploaded(world.acme, "sales.csv", SALES, dataset="sales")
    other = uploaded(world.acme, "clients.csv", "client\nacme\n")
    uploaded(world.acme, "left-out.csv", "a\n1\n")

    response = client_as("bob").get(f"/files/zip/?dataset=sales&upload={other.id}")
    archive = _zip(response)
    assert archive.namelist() == ["clients/clients.csv", "sales/sales.csv", "sales/sales (2).csv"]
    assert archive.read("sales/sales.csv").decode() == SALES
    assert archive.read("clients/clients.csv") == b"client\nacme\n"
    assert archive.testzip() is None
    assert first.id != again.id


def test_zip_never_holds_another_organizations_files(world: World, client_as, uploaded) -> None:
    secret = uploaded(world.globex, "secret.csv", "a\n1\n")
    uploaded(world.acme, "sales.csv", SALES)
    bob = client_as("bob")
    assert bob.get(f"/files/zip/?upload={secret.id}&dataset=secret").status_code == 404
    archive = _zip(bob.get(f"/files/zip/?dataset=sales&upload={secret.id}&upload=nonsense"))
    assert archive.namelist() == ["sales/sales.csv"]


def test_zip_streams_with_flat_memory() -> None:
    """Forty megabytes through the stream; Python's peak stays a few blocks, not the files."""
    size = 10 * 1024 * 1024
    block = (b"2024-01-01,12345.67,north,some text\n" * 30_000)[: 1024 * 1024]

    class Source(io.RawIOBase):
        def __init__(self) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            n = min(len(buffer), self.left, len(block))
            buffer[:n] = block[:n]
            self.left -= n
            return n

    when = datetime(2024, 1, 1, tzinfo=UTC)
    members = [(f"f{i}.csv", when, lambda: closing(io.BufferedReader(Source()))) for i in range(4)]
    tracemalloc.start()
    total = sum(len(chunk) for chunk in zip_stream(members))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert total > 0
    assert peak < 8 * 1024 * 1024, f"peak {peak:,} bytes for {4 * size:,} bytes of files"


def test_unique_names_number_the_repeats() -> None:
    assert unique_names(["a.csv", "a.csv", "b", "b", "a.csv"]) == [
        "a.csv",
        "a (2).csv",
        "b",
        "b (2)",
        "a (3).csv",
    ]


def test_editor_deletes_several_datasets_at_once(world: World, client_as, uploaded) -> None:
    for name in ("one", "two", "keep"):
        uploaded(world.acme, f"{name}.csv", "a\n1\n")
    secret = uploaded(world.globex, "secret.csv", "a\n1\n")

    response = client_as("carol").post(
        "/files/delete/", {"dataset": ["one", "two", "secret"], "next": "/?sort=name"}
    )
    assert response.status_code == 302 and response["Location"] == "/?sort=name"
    assert set(Dataset.objects.filter(organization=world.acme).values_list("slug", flat=True)) == {
        "keep"
    }
    assert Dataset.objects.filter(pk=secret.dataset_id).exists()


def test_viewer_cannot_delete_several(world: World, client_as, uploaded) -> None:
    uploaded(world.acme, "one.csv", "a\n1\n")
    assert client_as("bob").post("/files/delete/", {"dataset": ["one"]}).status_code == 403
    assert Dataset.objects.filter(slug="one").exists()
