"""The outbox against a real SMTP server: retries while it is down, sends once it is back,
and never sends twice, even when a sender dies holding a mail."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from csvhub.alarms.models import AlarmEvent
from csvhub.outbox.models import OutboxMail
from csvhub.outbox.sending import outbox_send_due
from tests.alarms.helpers import rule_add, sensors_append, sensors_dataset
from tests.datasets.pipeline import make_org

pytestmark = pytest.mark.django_db(transaction=True)


def _fire(smtp_down) -> OutboxMail:
    dataset = sensors_dataset(make_org())
    rule_add(dataset)
    sensors_append(dataset, "a,2026-01-01 00:01:00,40\n")
    (mail,) = OutboxMail.objects.all()
    return mail


def test_smtp_down_retries_with_backoff_and_sends_once_back(smtp_down) -> None:
    mail = _fire(smtp_down)
    mail.refresh_from_db()
    # The send after commit failed: recorded on the mail, and on the event in the API.
    assert (mail.attempts, mail.sent_at) == (1, None)
    assert "ConnectionRefusedError" in mail.last_error
    event = AlarmEvent.objects.get(mail=mail)
    retry_at = mail.next_attempt_at
    assert outbox_send_due(now=retry_at - timedelta(seconds=1)) == 0  # backoff not over
    assert outbox_send_due(now=retry_at) == 0  # still down: a second attempt, a longer wait
    mail.refresh_from_db()
    assert mail.attempts == 2
    assert mail.next_attempt_at - retry_at >= timedelta(seconds=59)
    smtp_down.start()
    assert outbox_send_due(now=mail.next_attempt_at) == 1
    assert outbox_send_due(now=mail.next_attempt_at + timedelta(hours=1)) == 0
    assert len(smtp_down.inbox.wait_for(1)) == 1
    mail.refresh_from_db()
    assert mail.sent_at is not None and mail.last_error == ""
    assert event.mail_id == mail.pk


def test_mails_are_given_up_after_the_attempts(smtp_down, settings) -> None:
    settings.CSVHUB_MAIL_ATTEMPTS = 2
    mail = _fire(smtp_down)
    mail.refresh_from_db()
    outbox_send_due(now=mail.next_attempt_at)
    mail.refresh_from_db()
    assert mail.failed_at is not None and mail.status == "failed"
    assert outbox_send_due(now=timezone.now() + timedelta(days=1)) == 0


def _claim_and_die(mail_id: int) -> int:
    """A sender process that claims the mail and is killed before it talks to the server."""
    script = (
        "import os, signal, django; django.setup()\n"
        "from django.utils import timezone\n"
        "from csvhub.outbox.sending import outbox_claim\n"
        f"assert outbox_claim(mail_id={mail_id}, now=timezone.now())\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csvhub.settings",
        "CSVHUB_DATA_DIR": str(django_settings.DATA_DIR),
        "CSVHUB_DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
    }
    return subprocess.run([sys.executable, "-c", script], env=env, timeout=60).returncode


def test_a_sender_killed_holding_a_mail_leaves_it_to_the_next_once(smtp_down) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the sender process reaches the test database through its SQLite file")
    mail = _fire(smtp_down)  # committed with its event; the send after commit failed
    smtp_down.start()
    assert _claim_and_die(mail.pk) == -9
    mail.refresh_from_db()
    assert mail.claimed_until is not None and mail.attempts == 2
    # Due by its backoff, but held by the dead sender until the claim expires.
    assert outbox_send_due(now=mail.next_attempt_at) == 0
    assert outbox_send_due(now=mail.claimed_until) == 1
    assert outbox_send_due(now=mail.claimed_until + timedelta(hours=2)) == 0
    (received,) = smtp_down.inbox.wait_for(1)
    assert received["Message-ID"] == f"<alarm-event.{AlarmEvent.objects.get().pk}@csvhub>"


def test_the_periodic_job_sends_what_a_process_left_behind(smtp_down) -> None:
    from csvhub.scheduling.ticks import tick

    mail = _fire(smtp_down)  # committed; its send after commit failed (the server was down)
    smtp_down.start()
    mail.refresh_from_db()
    later = max(mail.next_attempt_at, timezone.now()) + timedelta(minutes=5)
    tick(now=later, names=["outbox.send"])  # plans the job at its first sight
    assert tick(now=later + timedelta(minutes=1), names=["outbox.send"]) == ["outbox.send"]
    assert len(smtp_down.inbox.wait_for(1)) == 1
    mail.refresh_from_db()
    assert mail.sent_at is not None


def test_a_mail_that_cannot_be_sent_as_written_is_recorded_not_raised(smtp) -> None:
    from csvhub.outbox.services import outbox_write

    mail = outbox_write(key="bad-header", to=["ops@example.com"], subject="a\nb", body="x")
    good = outbox_write(key="good", to=["ops@example.com"], subject="fine", body="x")
    outbox_send_due(now=timezone.now() + timedelta(hours=1))  # the bad one stops nothing

    mail.refresh_from_db()
    assert mail.sent_at is None and "ValueError" in mail.last_error
    good.refresh_from_db()
    assert good.sent_at is not None


def test_mails_of_one_transaction_ask_for_one_send_and_all_go(smtp) -> None:
    """A send job sends every mail due: a transaction writing three asks for one job, not
    three (an evaluation of many rules writes many mails in one transaction)."""
    from django.db import transaction

    from csvhub.outbox.services import outbox_enqueue, outbox_write

    with transaction.atomic():
        for key in ("one", "two", "three"):
            outbox_write(key=key, to=["ops@example.com"], subject=key, body="x")
        hooks = [hook for _, hook, _ in connection.run_on_commit if hook is outbox_enqueue]
        assert len(hooks) == 1

    assert len(smtp.inbox.wait_for(3)) == 3
    assert OutboxMail.objects.filter(sent_at__isnull=False).count() == 3


def test_a_mail_after_a_rolled_back_one_still_asks_for_its_send(smtp) -> None:
    from django.db import transaction

    from csvhub.outbox.services import outbox_write

    class Undone(Exception):
        pass

    with transaction.atomic():
        with pytest.raises(Undone), transaction.atomic():
            outbox_write(key="undone", to=["ops@example.com"], subject="undone", body="x")
            raise Undone
        outbox_write(key="kept", to=["ops@example.com"], subject="kept", body="x")

    assert len(smtp.inbox.wait_for(1)) == 1
    assert OutboxMail.objects.get().key == "kept"
    assert OutboxMail.objects.get().sent_at is not None
