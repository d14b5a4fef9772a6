"""`csvhub ingest PATH`: the same pipeline from the command line."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from csvhub.datasets.models import Dataset
from tests.datasets.pipeline import make_org

pytestmark = pytest.mark.django_db(transaction=True)


def test_ingest_loads_a_file_and_appends_to_a_dataset(tmp_path, capsys):
    make_org()
    first = tmp_path / "orders.csv"
    first.write_text("id,total\n1,2.5\n2,3\n")
    call_command("ingest", str(first))
    more = tmp_path / "more.csv"
    more.write_text("total,id\n4,3\n")
    call_command("ingest", str(more), "--dataset", "orders")

    assert "1 rows loaded into orders" in capsys.readouterr().out
    assert Dataset.objects.get(slug="orders").row_count == 3


def test_ingest_says_which_encoding_it_read_and_why(tmp_path, capsys):
    make_org()
    path = tmp_path / "cafes.csv"
    path.write_bytes("name\nCafé\n".encode("cp1252"))
    call_command("ingest", str(path))
    out = capsys.readouterr().out
    assert "Read as cp1252: 0 valid UTF-8 multi-byte characters, 1 invalid UTF-8" in out


def test_ingest_reports_a_failed_upload(tmp_path):
    make_org()
    (tmp_path / "a.csv").write_text("id\n1\n")
    call_command("ingest", str(tmp_path / "a.csv"))
    (tmp_path / "b.csv").write_text("other\n1\n")
    with pytest.raises(CommandError, match="missing columns: id"):
        call_command("ingest", str(tmp_path / "b.csv"), "--dataset", "a")


def test_ingest_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="is not a file"):
        call_command("ingest", str(tmp_path / "nope.csv"))
