"""Bad input to the job queue and the exports (issue 11, items 16 and 19), as a table.

Item 16: a message on the broker naming anything but a registered csvhub task is refused and
logged, and nothing runs (the dispatcher itself, in-process; a real worker on Redis and
RabbitMQ: tests/jobs/test_celery_worker.py), and a registered task's arguments are checked
again (an index build's columns). Item 19: export options a client gets wrong answer
400 with a message saying what to write instead; formula cells come back quoted when asked.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from csvhub.celery import run_task
from tests.accounts.actors import World
from tests.datasets.pipeline import upload

pytestmark = pytest.mark.django_db

# (name the message gives, arguments): each would run `touch MARKER` if it were called.
HOSTILE_MESSAGES = {
    "subprocess via a csvhub module (the issue's proof)": (
        "csvhub.csvread.child.subprocess",
        [["touch", "MARKER"]],
    ),
    "subprocess.run": ("subprocess.run", [["touch", "MARKER"]]),
    "subprocess.call": ("subprocess.call", [["touch", "MARKER"]]),
    "os.system": ("os.system", ["touch MARKER"]),
    "builtins.exec": ("builtins.exec", ["open('MARKER', 'w')"]),
    "Django command": ("django.core.management.call_command", ["flush", "--noinput"]),
    "csvhub service, not a task": ("csvhub.datasets.ingest.upload_ingest", []),
    "not a string": (["csvhub.datasets.tasks.ingest_upload"], []),
}


@pytest.mark.parametrize(("name", "args"), HOSTILE_MESSAGES.values(), ids=HOSTILE_MESSAGES.keys())
def test_dispatcher_refuses_and_logs_what_is_not_a_registered_task(
    name, args, tmp_path, caplog, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a relative MARKER would land here
    marker = tmp_path / "MARKER"
    args = json.loads(json.dumps(args).replace("MARKER", str(marker)))

    with caplog.at_level(logging.ERROR, logger="csvhub.celery"):
        run_task.run(name, args, {})

    assert not marker.exists()
    assert not Path("MARKER").exists()
    assert f"Refused a message naming {name!r}: not a registered csvhub task." in caplog.text


FORMULA = '=HYPERLINK("http://evil.example/","x")'
QUOTED = FORMULA.replace('"', '""')  # as a CSV cell holds it

EXPORT_OPTIONS = {
    "unknown safe value": ("format=csv&safe=excel", 400, "the only choice is safe=spreadsheet"),
    "safe on JSON": ("safe=spreadsheet", 400, "applies to CSV exports only; add format=csv"),
    "safe on NDJSON": (
        "format=ndjson&safe=spreadsheet",
        400,
        "applies to CSV exports only; add format=csv",
    ),
    "formula cell, exact by default": ("format=csv", 200, f'"{QUOTED}"'),
    "formula cell, spreadsheet-safe": (
        "format=csv&safe=spreadsheet",
        200,
        f'"\'{QUOTED}"',
    ),
}


@pytest.mark.parametrize(
    ("query", "status", "expected"), EXPORT_OPTIONS.values(), ids=EXPORT_OPTIONS.keys()
)
def test_export_options(
    query, status, expected, world: World, api_as, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        upload(world.acme, "notes.csv", f'name,note\nada,"{QUOTED}"\n')
    response = api_as("viewer").get(f"/api/v1/datasets/notes/rows/?{query}")
    assert response.status_code == status
    if status == 200:
        assert expected in b"".join(response.streaming_content).decode()
    else:
        assert expected in response.json()["detail"]


# Item 16 again: an index build whose message was written by hand is checked like the API's
# request (tests/datasets/test_rows_indexes.py), so nothing unbounded or malformed is built.
BUILD_INDEX = "csvhub.datasets.tasks.build_index"
INDEX_MESSAGES = {
    "more columns than MAX_INDEX_COLUMNS": ([*"abcdefgh", "a"], "1 to 8"),
    "a column twice": (["a", "a"], "each column once"),
    "no column": ([], "1 to 8"),
    "unknown column": (["nosuch"], "Unknown column 'nosuch'"),
    "a string, not a list": ("ab", "a list of column names"),
    "a number, not a name": ([1], "a list of column names"),
}
WIDE_CSV = "a,b,c,d,e,f,g,h\n" + "1,2,3,4,5,6,7,8\n"


@pytest.mark.parametrize(("columns", "message"), INDEX_MESSAGES.values(), ids=INDEX_MESSAGES.keys())
def test_index_build_from_the_broker_checks_the_columns_again(
    columns, message, world: World, api_as, caplog, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        created = upload(world.acme, "wide.csv", WIDE_CSV)
    viewer = api_as("viewer")

    with caplog.at_level(logging.WARNING, logger="csvhub.datasets.tasks"):
        run_task.run(BUILD_INDEX, [str(created.dataset_id), columns], {})

    assert viewer.get("/api/v1/datasets/wide/indexes/").json() == []
    assert message in caplog.text
    run_task.run(BUILD_INDEX, [str(created.dataset_id), ["a", "b"]], {})  # the same, well formed
    built = viewer.get("/api/v1/datasets/wide/indexes/").json()
    assert [index["columns"] for index in built] == [["a", "b"]]
