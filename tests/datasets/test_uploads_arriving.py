"""Loads that start while their upload still arrives (csvhub.datasets.arrivals), on a real
server over a real socket: the body is sent in two halves, and the second half only once the
load has read part of the first. They load what the usual path loads; a body cut short or
too large leaves nothing, whenever it happens."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.files.storage import default_storage

from csvhub.datasets.models import Dataset, Upload, UploadState
from tests.datasets.pipeline import make_org, warehouse_rows

pytestmark = pytest.mark.django_db(transaction=True)

BOUNDARY = "arrivingboundary"
THREAD_TASKS = {
    "default": {"BACKEND": "csvhub.jobs.backends.ThreadBackend", "OPTIONS": {"threads": 2}}
}
WAIT_SECONDS = 60


def _content(rows: int = 150_000) -> bytes:
    lines = ["id,when,amount,name"]
    for n in range(rows):
        lines.append(f'{n},2024-01-{n % 28 + 1:02d}T10:{n % 60:02d}:00Z,{n}.25,"Smith, {n}"')
        if n % 25_000 == 4_500:
            lines.append(f"{n},broken")  # one field short: a reject, with its line
    return ("\n".join(lines) + "\n").encode()


def _body(name: str, content: bytes, fields: dict[str, str] | None = None) -> bytes:
    """A multipart body: the file part first, then any fields (as `curl -F file=@.. -F ..`)."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + content
        + b"\r\n"
    ]
    for field, value in (fields or {}).items():
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


@pytest.fixture
def arriving(settings, tmp_path: Path) -> Path:
    """The thread runner (production's), which lets loads start while uploads arrive; returns
    where bodies are spooled."""
    settings.TASKS = THREAD_TASKS
    settings.CSVHUB_TASK_RUNNER = "thread"
    settings.CSVHUB_LOAD_WHILE_ARRIVING = True
    spool = tmp_path / "spool"
    spool.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    return spool


@pytest.fixture
def token() -> str:
    from django.contrib.auth import get_user_model

    from csvhub.accounts.models import Membership, Role
    from csvhub.accounts.services import token_create

    org = make_org()
    user = get_user_model().objects.create_user("carol", password="x")
    Membership.objects.create(user=user, organization=org, role="editor")
    return token_create(organization=org, user=user, name="t", role=Role.EDITOR).text


class _Post:
    """A POST of `body` over a socket, sent in pieces the test decides."""

    def __init__(self, url: str, token: str, body: bytes, length: int | None = None) -> None:
        parts = urlsplit(url)
        self.body = body
        self.sent = 0
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=WAIT_SECONDS)
        head = (
            f"POST /api/v1/uploads/ HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {length or len(body)}\r\n\r\n"
        )
        self.sock.sendall(head.encode())

    def send(self, until: int | None = None) -> None:
        end = len(self.body) if until is None else until
        self.sock.sendall(self.body[self.sent : end])
        self.sent = max(self.sent, end)

    def answer(self) -> tuple[int, object]:
        response = http.client.HTTPResponse(self.sock)
        response.begin()
        status, body = response.status, json.loads(response.read())
        self.sock.close()
        return status, body


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT_SECONDS} s for {what}"
        time.sleep(0.05)


def _loading_before_the_body_is_complete() -> None:
    """The load has started and written its progress (after its first batches): the upload's
    row exists and is running while the test still holds back the rest of the body."""
    _wait(
        lambda: Upload.objects.filter(state=UploadState.RUNNING, bytes_read__gt=0).exists(),
        "the load to start before the body was complete",
    )


def _finished(upload_id: str) -> Upload:
    _wait(
        lambda: (
            Upload.objects.get(pk=upload_id).state in (UploadState.SUCCEEDED, UploadState.FAILED)
        ),
        "the load to finish",
    )
    return Upload.objects.select_related("dataset").get(pk=upload_id)


def _loaded(upload: Upload) -> tuple:
    """What an upload loaded: its outcome, rejects, columns and every row."""
    rejects = list(upload.rejects.order_by("line").values_list("line", "reason", "text"))
    with upload.file.open("rb") as stored:
        original = stored.read()
    dataset = Dataset.objects.get(pk=upload.dataset_id)
    return (
        upload.state,
        upload.size,
        upload.bytes_read,
        upload.rows_loaded,
        upload.rows_rejected,
        upload.encoding,
        rejects,
        dataset.columns,
        dataset.row_count,
        warehouse_rows(dataset),
        original,
    )


def _live_upload(live_server, token: str, name: str, content: bytes) -> Upload:
    """Upload in two halves, the second once the load started."""
    post = _Post(live_server.url, token, _body(name, content))
    post.send(len(post.body) // 2)
    _loading_before_the_body_is_complete()
    post.send()
    status, answer = post.answer()
    assert status == 202, answer
    (made,) = answer  # type: ignore[misc]
    return _finished(made["id"])


@pytest.mark.parametrize("warehouse", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize("name", ["seed.csv", "seed.csv.gz"])
def test_a_load_started_while_the_file_arrives_loads_what_the_usual_path_loads(
    warehouse, arriving, live_server, token, settings, name
) -> None:
    content = _content()
    sent = gzip.compress(content) if name.endswith(".gz") else content
    early = _live_upload(live_server, token, name, sent)
    assert early.state == UploadState.SUCCEEDED, early.error
    assert _loaded(early)[-1] == sent  # the original, byte for byte

    settings.CSVHUB_LOAD_WHILE_ARRIVING = False
    post = _Post(live_server.url, token, _body(name, sent))
    post.send()
    status, answer = post.answer()
    assert status == 202, answer
    usual = _finished(answer[0]["id"])  # type: ignore[index]
    assert usual.dataset.slug == early.dataset.slug + "-2"
    assert _loaded(early) == _loaded(usual)
    assert early.rows_rejected == 6
    _wait(lambda: not list(arriving.iterdir()), "the spool to be deleted")


def _nothing_left(spool: Path) -> None:
    _wait(
        lambda: not Upload.objects.exists() and not Dataset.objects.exists(),
        "the upload and its dataset to be deleted",
    )
    stored = Path(default_storage.location)  # type: ignore[attr-defined]
    assert not [path for path in stored.rglob("*") if path.is_file()]
    _wait(lambda: not list(spool.iterdir()), "the spool to be deleted")


@pytest.mark.parametrize("warehouse", ["sqlite", "postgres"], indirect=True)
def test_a_body_cut_short_while_it_loads_leaves_nothing(
    warehouse, arriving, live_server, token
) -> None:
    from csvhub.warehouse.engine import get_engine

    post = _Post(live_server.url, token, _body("cut.csv", _content()))
    post.send(len(post.body) // 2)
    _loading_before_the_body_is_complete()
    table = Dataset.objects.get().table_name
    post.sock.close()  # the client goes away
    _nothing_left(arriving)
    from sqlalchemy import inspect

    assert table not in inspect(get_engine()).get_table_names()


@pytest.mark.parametrize("warehouse", ["sqlite", "postgres"], indirect=True)
def test_a_body_found_too_large_while_it_loads_is_413_and_leaves_nothing(
    warehouse, arriving, live_server, token, settings
) -> None:
    content = _content()
    # Declared within the limit plus the multipart envelope: only counting the file's bytes
    # as they arrive finds it too large, once the load has started.
    settings.CSVHUB_MAX_UPLOAD_BYTES = len(content) - 20_000
    post = _Post(live_server.url, token, _body("big.csv", content))
    post.send(len(post.body) // 2)
    _loading_before_the_body_is_complete()
    post.send()
    status, answer = post.answer()
    assert status == 413, answer
    _nothing_left(arriving)


def test_a_field_after_the_file_takes_the_usual_path(arriving, live_server, token) -> None:
    """The load started for a new dataset is given up once the form turns out to name one."""
    first = _live_upload(live_server, token, "t.csv", _content())
    post = _Post(live_server.url, token, _body("more.csv", _content(), {"dataset": "t"}))
    post.send(len(post.body) // 2)
    _loading_before_the_body_is_complete()
    post.send()
    status, answer = post.answer()
    assert status == 202, answer
    appended = _finished(answer[0]["id"])  # type: ignore[index]
    assert appended.dataset_id == first.dataset_id
    assert list(Dataset.objects.values_list("slug", flat=True)) == ["t"]
    assert Upload.objects.count() == 2


def test_an_upload_whose_process_died_while_it_arrived_is_deleted_not_loaded(settings) -> None:
    """Its row has no stored file: no other worker can load it, and it was never kept."""
    from datetime import timedelta

    from django.utils import timezone

    from csvhub.datasets import services

    settings.CSVHUB_JOB_STALE_SECONDS = 60
    org = make_org()
    long_ago = timezone.now() - timedelta(seconds=600)
    died = services.dataset_create(organization=org, name="died")
    for state in (UploadState.QUEUED, UploadState.RUNNING, UploadState.FAILED):
        Upload.objects.create(dataset=died, state=state, heartbeat_at=long_ago)
    alive = services.dataset_create(organization=org, name="alive")
    arriving_now = Upload.objects.create(
        dataset=alive, state=UploadState.RUNNING, heartbeat_at=timezone.now()
    )
    assert services.uploads_resume() == 0
    assert list(Dataset.objects.values_list("slug", flat=True)) == ["alive"]
    assert list(Upload.objects.values_list("id", "state")) == [
        (arriving_now.id, UploadState.RUNNING)
    ]
