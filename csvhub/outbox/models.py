"""One row per mail to send: the durable half of "write in the transaction, send after"."""

from __future__ import annotations

from django.db import models


class OutboxMail(models.Model):
    """A mail waiting to be sent, sent, or given up on.

    `key` is the idempotency key of what the mail is about (an alarm event, a digest): writing
    the same key twice keeps one row, and the row is sent at most once. A sender claims the row
    (`claimed_until`) before talking to the SMTP server, so two senders never send it both; a
    sender that dies leaves the claim to expire and the mail to the next one.
    """

    key = models.CharField(max_length=200, unique=True)
    to = models.JSONField(default=list)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set when the retries are spent: the mail stays, with its last error, for people to see.
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.subject

    @property
    def status(self) -> str:
        if self.sent_at is not None:
            return "sent"
        if self.failed_at is not None:
            return "failed"
        return "retrying" if self.attempts else "waiting"
