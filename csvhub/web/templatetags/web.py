"""Template helpers of the pages: sortable headers, page links, times, numbers, words."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

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
