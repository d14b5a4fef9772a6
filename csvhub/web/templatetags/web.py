"""Template helpers of the pages: sortable headers, page links, times, numbers, words."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.timezone import now as django_now

from csvhub.schema import TypeChange, values
from csvhub.web.files import FileTable
from csvhub.web.wording import ingest_error_text

register = template.Library()

# Keys whose first click sorts ascending; the others start with the largest or newest.
_ASCENDING_FIRST = {"name"}
STATUS_WORDS = {
    "queued": "Queued",
    "running": "Loading",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "ready": "Ready",
    "loading": "Loading",
    "empty": "Empty",
}


def _files_url(table: FileTable, *, sort: str, page: int | None = None) -> str:
    params: dict[str, str | int] = {"sort": sort}
    if table.query:
        params["q"] = table.query
    if page and page > 1:
        params["page"] = page
    return f"{reverse('files')}?{urlencode(params)}"


@register.simple_tag
def sort_header(table: FileTable, key: str, label: str, css: str = "") -> str:
    """A column header that sorts the files table by `key`, and says how it is sorted now."""
    current = table.sort_key == key
    if current:
        target = key if table.descending else f"-{key}"
        state = "descending" if table.descending else "ascending"
        arrow = "▼" if table.descending else "▲"
    else:
        target = key if key in _ASCENDING_FIRST else f"-{key}"
        state, arrow = "none", ""
    return format_html(
        '<th scope="col" class="{}" aria-sort="{}"><a href="{}" data-sort="{}">{}'
        '<span class="sort-arrow" aria-hidden="true">{}</span></a></th>',
        css,
        state,
        _files_url(table, sort=target),
        target,
        label,
        arrow,
    )


@register.simple_tag
def page_url(table: FileTable, number: int) -> str:
    return _files_url(table, sort=table.sort, page=number)


@register.simple_tag
def timestamp(value: datetime | None) -> str:
    """A <time> the page script shows in the reader's time zone; UTC until then."""
    if value is None:
        return mark_safe('<span class="muted">—</span>')
    utc = values.as_utc(value)
    return format_html(
        '<time datetime="{}" data-local>{}</time>',
        utc.isoformat(),
        utc.strftime("%Y-%m-%d %H:%M UTC"),
    )


@register.simple_tag
def since(value: datetime | None, now: datetime | None = None) -> str:
    """A compact time for tables: `just now`, `5 min ago`, `3 h ago`, `2 d ago`, then the
    date; the exact UTC time on hover (title) and in `datetime`."""
    if value is None:
        return mark_safe('<span class="muted">—</span>')
    utc = values.as_utc(value)
    return format_html(
        '<time datetime="{}" title="{}" data-since>{}</time>',
        utc.isoformat(),
        utc.strftime("%Y-%m-%d %H:%M:%S UTC"),
        relative_words(utc, now or django_now()),
    )


def relative_words(when: datetime, now: datetime) -> str:
    seconds = (now - when).total_seconds()
    if seconds < 45:
        return "just now"
    for limit, size, unit in ((3600, 60, "min"), (86_400, 3600, "h"), (7 * 86_400, 86_400, "d")):
        if seconds < limit:
            return f"{max(1, round(seconds / size))} {unit} ago"
    if when.year == now.year:
        return when.strftime("%b %-d")
    return when.strftime("%b %-d, %Y")


@register.filter
def size(value: int | str | None) -> str:
    """Bytes as the pages' scripts write them (csvhub.js formatBytes), so a size reads the same
    in every table and progress line: `812 bytes`, `1.5 KB`, `12 MB`."""
    if value is None or value == "":
        return "—"
    number = int(value)
    amount, unit = float(number), 0
    while amount >= 1024 and unit < len(_SIZE_UNITS) - 1:
        amount /= 1024
        unit += 1
    if unit == 0:
        return f"{number} bytes"
    return f"{amount:.{1 if amount < 10 else 0}f} {_SIZE_UNITS[unit]}"


_SIZE_UNITS = ("bytes", "KB", "MB", "GB", "TB")


@register.filter
def wrappable(name: str) -> str:
    """A file or dataset name with break opportunities after `_ - . /` (and none elsewhere),
    so long names wrap at their parts instead of mid-word or off the table."""
    parts = re.split(r"(?<=[_\-./])", name or "")
    return mark_safe("<wbr>".join(conditional_escape(part) for part in parts))


@register.filter
def first_line(text: str) -> str:
    """The first sentence or line of a message, for a one-line summary."""
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    head, dot, _ = line.partition(". ")
    return head + "." if dot else line


@register.filter
def thousands(value: int | str | None) -> str:
    """1234567 → 1,234,567 (independent of the locale, like the API's numbers). A template
    passes "" for a missing variable (string_if_invalid), shown like None."""
    if value is None or value == "":
        return "—"
    return f"{int(value):,}"


@register.filter
def status_word(state: str) -> str:
    return STATUS_WORDS.get(state, state.capitalize())


@register.filter
def friendly_error(message: str) -> str:
    return ingest_error_text(message or "")


@register.filter
def type_change_message(change: dict[str, Any]) -> str:
    """A stored type change (Upload.type_changes) in words, with the way back."""
    return TypeChange.from_json(change).message
