"""What an alarm mail says, and when one mail per event becomes a digest.

Mails are written to the outbox (csvhub.outbox) in the transaction that records the events,
each under the idempotency key of its event (or of the digest's first event), and sent after
commit by a background job.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings

from csvhub.alarms.machine import Notice
from csvhub.alarms.models import AlarmEvent, AlarmRule
from csvhub.outbox.services import outbox_write
from csvhub.schema import values

MAILED = frozenset(
    {Notice.FIRE.value, Notice.REPEAT.value, Notice.RESOLVE.value, Notice.NO_DATA.value}
)
# How much of the dataset around the moment a mail links to, each side.
LINK_WINDOW = timedelta(hours=1)

_HEADLINES = {
    Notice.FIRE.value: "FIRING",
    Notice.REPEAT.value: "STILL FIRING",
    Notice.RESOLVE.value: "RESOLVED",
    Notice.NO_DATA.value: "NO DATA",
}


def events_notify(rule: AlarmRule, events: list[AlarmEvent]) -> None:
    """Write the mails of these events (one transaction's) to the outbox: one per event, or
    one digest when CSVHUB_ALARM_DIGEST_GROUPS or more groups are to be told at once."""
    mailed = [event for event in events if event.notice in MAILED]
    if not mailed or not rule.recipients:
        return
    groups = {event.group for event in mailed}
    if len(groups) >= settings.CSVHUB_ALARM_DIGEST_GROUPS:
        _digest(rule, mailed)
        return
    for event in mailed:
        mail = outbox_write(
            key=f"alarm-event:{event.pk}",
            to=rule.recipients,
            subject=event_subject(rule, event),
            body=event_body(rule, event),
        )
        AlarmEvent.objects.filter(pk=event.pk).update(mail=mail)


def _digest(rule: AlarmRule, events: list[AlarmEvent]) -> None:
    groups = len({event.group for event in events})
    subject = one_line(
        f"[csvhub] {rule.name}: {groups} groups changed state on {rule.dataset.name}"
    )
    lines = [f"{len(events)} alarm transitions of the rule {rule.name!r} at once:", ""]
    lines += [f"- {_line(rule, event)}\n  {event_link(rule, event)}" for event in events]
    lines += ["", _thresholds(rule)]
    mail = outbox_write(
        key=f"alarm-digest:{events[0].pk}",
        to=rule.recipients,
        subject=subject,
        body="\n".join(lines),
    )
    AlarmEvent.objects.filter(pk__in=[event.pk for event in events]).update(mail=mail)


def event_subject(rule: AlarmRule, event: AlarmEvent) -> str:
    group = f" [{rule.group_by}={event.group}]" if rule.group_by else ""
    return one_line(
        f"[csvhub] {_HEADLINES[event.notice]}: {rule.name}{group} on {rule.dataset.name}"
    )


def one_line(text: str) -> str:
    """A mail header's text: a cell or name holding a line break would make it unsendable."""
    return " ".join(text.splitlines())


def event_body(rule: AlarmRule, event: AlarmEvent) -> str:
    return "\n".join(
        [
            _line(rule, event),
            "",
            f"Rule: {rule.name}",
            f"Dataset: {rule.dataset.name}",
            *([f"Group: {rule.group_by} = {event.group}"] if rule.group_by else []),
            f"Column: {rule.column}",
            f"Value: {event.value or '(no data)'}",
            _thresholds(rule),
            f"When: {_when(event.at)}",
            f"Row id: {event.row_id}" if event.row_id is not None else "Row id: -",
            "",
            f"See the rows around that moment: {event_link(rule, event)}",
        ]
    )


def _line(rule: AlarmRule, event: AlarmEvent) -> str:
    group = f"{rule.group_by}={event.group}: " if rule.group_by else ""
    if event.notice == Notice.NO_DATA.value:
        return f"{group}no data for {rule.no_data_seconds} s ({_when(event.at)})"
    what = f"{rule.column} = {event.value}"
    return f"{group}{_HEADLINES[event.notice].lower()}, {what} at {_when(event.at)}"


def _thresholds(rule: AlarmRule) -> str:
    parts = [
        f"lower {rule.lower}" if rule.lower else "",
        f"upper {rule.upper}" if rule.upper else "",
    ]
    clear = [
        f"clear {name} {getattr(rule, name)}"
        for name in ("clear_lower", "clear_upper")
        if getattr(rule, name)
    ]
    return "Thresholds: " + (", ".join(part for part in [*parts, *clear] if part) or "none")


def _when(at: datetime) -> str:
    return values.iso_timestamp(at)


def event_link(rule: AlarmRule, event: AlarmEvent) -> str:
    """The dataset page filtered to the group and to an hour each side of the event (when the
    rule has a time column), in the dataset page's query grammar (`col=gte:…`)."""
    pairs: list[tuple[str, str]] = []
    if rule.time_column:
        start, end = event.at - LINK_WINDOW, event.at + LINK_WINDOW
        pairs += [
            (rule.time_column, f"gte:{values.iso_timestamp(start)}"),
            (rule.time_column, f"lte:{values.iso_timestamp(end)}"),
        ]
    if rule.group_by:
        pairs.append((rule.group_by, f"eq:{event.group}"))
    query = f"?{urlencode(pairs)}" if pairs else ""
    return f"{settings.CSVHUB_BASE_URL}/datasets/{rule.dataset.slug}/{query}"
