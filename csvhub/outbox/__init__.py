"""The mail outbox: mails written in the transaction that decides them, sent after it commits
by a background job that claims each one, retries with backoff and records failures.

Shared by every app that mails from the background: alarms (csvhub.alarms) and stale-source
alarms (csvhub.sources).
"""
