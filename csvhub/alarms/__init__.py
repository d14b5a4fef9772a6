"""Threshold alarms on a dataset's rows: rules, their state per group, the transitions they
made, and the mails those send (through csvhub.outbox). See docs/alarms.md."""
