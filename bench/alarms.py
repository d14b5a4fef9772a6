"""Alarm delay: from the commit of a row that breaks a threshold to its mail arriving at a
real SMTP server (aiosmtpd on loopback), with the thread runner (the embedded default).

    .venv/bin/python bench/alarms.py --samples 100
    .venv/bin/python bench/alarms.py --samples 100 --runner celery --broker-url redis://127.0.0.1:6379/2

Each sample is one CSV upload of one row, for a new sensor above the rule's threshold, so that
each fires one mail. The clock starts when the upload's rows commit (its `finished_at`,
written in the publishing transaction; wall clock, as the commit may happen in a worker
process) and stops when the SMTP server has the mail. The path measured:
enqueue an evaluation, read the row from the warehouse, step the state machine, write state,
event and outbox row in one transaction, enqueue the send, claim, SMTP.

Baseline, in the same run: one mail sent straight to the same server with csvhub.mail
(`mail_send`), the least an alarm mail can cost. Printed: p50 and p99 of both, and their
ratio. Runs on a fresh data directory (SQLite metadata, the warehouse given by
--warehouse-url, SQLite by default). Figures are not tests: nothing fails on a target.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class _Inbox:
    """aiosmtpd handler: when each mail arrived, by subject."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.changed = threading.Condition()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        from email import message_from_bytes

        message = message_from_bytes(envelope.content)  # type: ignore[attr-defined]
        with self.changed:
            self.arrived[str(message["Subject"])] = time.time()
            self.changed.notify_all()
        return "250 OK"

    def wait(self, subject: str, timeout: float = 60) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: subject in self.arrived, timeout):
                raise SystemExit(f"no mail {subject!r} within {timeout} s")
            return self.arrived[subject]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _setup(data_dir: str, warehouse_url: str, port: int, runner: str, broker_url: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="csvhub.settings",
        CSVHUB_DATA_DIR=data_dir,
        CSVHUB_TASK_RUNNER=runner,
        CSVHUB_BROKER_URL=broker_url,
        CSVHUB_WORKER_THREADS="2",
        CSVHUB_EMAIL_HOST="127.0.0.1",
        CSVHUB_EMAIL_PORT=str(port),
        CSVHUB_SCHEDULER_SECONDS="0",
    )
    if warehouse_url:
        os.environ["CSVHUB_WAREHOUSE_URL"] = warehouse_url
    import django
    from django.core.management import call_command

    django.setup()
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0)


def _upload(organization: object, text: str, slug: str | None) -> object:
    from django.core.files.base import ContentFile

    from csvhub.datasets.services import uploads_create

    (upload,) = uploads_create(
        organization=organization,  # type: ignore[arg-type]
        files=[ContentFile(text.encode(), name="sensors.csv")],
        dataset_slug=slug,
    )
    return upload


def _loaded(upload: object) -> object:
    from csvhub.datasets.models import Upload

    for _ in range(6000):
        found = Upload.objects.get(pk=upload.pk)  # type: ignore[attr-defined]
        if found.is_finished:
            assert found.state == "succeeded", found.error
            return found.dataset
        time.sleep(0.01)
    raise SystemExit("the first upload did not load")


def _worker() -> subprocess.Popen[bytes]:
    """One Celery worker process on this run's data directory and broker."""
    return subprocess.Popen(
        [sys.executable, "-m", "csvhub", "worker", "--concurrency=1"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its pool processes go with it (killpg below)
    )


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--warehouse-url", default="")
    parser.add_argument("--runner", choices=["thread", "celery"], default="thread")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    inbox, port = _Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    data_dir = tempfile.mkdtemp(prefix="csvhub-bench-alarms-")
    _setup(data_dir, args.warehouse_url, port, args.runner, args.broker_url)
    worker = _worker() if args.runner == "celery" else None

    from csvhub.accounts.models import Organization
    from csvhub.alarms.services import alarm_rule_create
    from csvhub.mail import mail_send

    organization = Organization.objects.create(slug="bench", name="Bench")
    header = "sensor,at,temperature\n"
    dataset = _loaded(_upload(organization, header + "s,2026-01-01 00:00:00,20\n", None))
    alarm_rule_create(
        dataset=dataset,  # type: ignore[arg-type]
        data={
            "name": "hot",
            "column": "temperature",
            "time_column": "at",
            "group_by": "sensor",
            "upper": "30",
            "recipients": ["ops@example.com"],
        },
        user=None,
    )
    baseline, delays = [], []
    for i in range(args.samples):
        started = time.time()
        mail_send(subject=f"baseline {i}", body="a mail", to=["ops@example.com"])
        baseline.append(inbox.wait(f"baseline {i}") - started)
        row = f"s{i},2026-01-01 00:01:00,40\n"
        upload = _upload(organization, header + row, dataset.slug)  # type: ignore[attr-defined]
        arrived = inbox.wait(f"[csvhub] FIRING: hot [sensor=s{i}] on sensors")
        upload.refresh_from_db()  # type: ignore[attr-defined]
        delays.append(arrived - upload.finished_at.timestamp())  # type: ignore[attr-defined]
    controller.stop()
    if worker is not None:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()

    def line(name: str, values: list[float]) -> str:
        p50, p99 = _percentile(values, 0.5), _percentile(values, 0.99)
        return f"{name:<34} p50 {p50 * 1000:8.1f} ms   p99 {p99 * 1000:8.1f} ms"

    print(f"alarm delay, {args.runner} runner, {args.samples} samples (commit → mail at SMTP)")
    print(line("baseline: mail_send straight", baseline))
    print(line("alarm: commit → mail", delays))
    ratio = statistics.median(delays) / statistics.median(baseline)
    print(f"ratio (p50 alarm / p50 baseline): {ratio:.1f}x")


if __name__ == "__main__":
    main()
