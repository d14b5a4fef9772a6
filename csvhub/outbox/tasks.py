"""The outbox's background task: send what is due (after a commit that wrote mails)."""

from csvhub.jobs.registry import task


@task
def outbox_send() -> None:
    from csvhub.outbox.sending import outbox_send_due

    outbox_send_due()
