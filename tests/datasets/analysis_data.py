"""Seeded CSV files for the analysis tests, and answers computed from their text in Python.

Expected values never go through csvhub: the text is read back with `csv.DictReader`, numbers
with `Decimal`, timestamps with `datetime.fromisoformat` (offsets applied, then UTC), and the
answers are plain Python over those values.
"""

from __future__ import annotations

import csv
import io
import math
import random
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import pytest
from rest_framework.test import APIClient

COLUMNS = ["id", "at", "day", "amount", "qty", "category", "flag", "blank"]
CATEGORIES = ["north", "south", "east", "west", "middle earth"]
OFFSETS = [timedelta(hours=-5), timedelta(hours=2), timedelta(hours=5, minutes=30)]


def generated_csv(
    seed: int,
    rows: int,
    *,
    first_id: int = 1,
    start: datetime = datetime(2024, 3, 25, tzinfo=UTC),
    days: int = 40,
    amounts: tuple[int, int] = (-500, 500),
    quantities: tuple[int, int] = (0, 50),
) -> str:
    """Random rows with a seed: a timestamp written in several ISO spellings and offsets, a
    date, a decimal, an integer, a category, a flag, a column that is always empty; about one
    cell in ten empty in each column but `id`."""
    rng = random.Random(seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for i in range(rows):
        moment = start + timedelta(seconds=rng.randrange(days * 86_400))
        writer.writerow(
            [
                first_id + i,
                _maybe(rng, _spelled(rng, moment)),
                _maybe(rng, (start.date() + timedelta(days=rng.randrange(days))).isoformat()),
                _maybe(rng, f"{Decimal(rng.randrange(amounts[0] * 100, amounts[1] * 100)) / 100}"),
                _maybe(rng, str(rng.randint(*quantities))),
                _maybe(rng, rng.choice(CATEGORIES)),
                _maybe(rng, rng.choice(["true", "false"])),
                "",
            ]
        )
    return buffer.getvalue()


def _maybe(rng: random.Random, text: str) -> str:
    return "" if rng.random() < 0.1 else text


def _spelled(rng: random.Random, moment: datetime) -> str:
    style = rng.randrange(4)
    if style == 0:
        return f"{moment:%Y-%m-%d %H:%M:%S}"
    if style == 1:
        return f"{moment:%Y-%m-%dT%H:%M:%S}Z"
    if style == 2:
        offset = rng.choice(OFFSETS)
        local = (moment + offset).replace(tzinfo=None)
        sign = "-" if offset < timedelta(0) else "+"
        minutes = abs(int(offset.total_seconds())) // 60
        return f"{local:%Y-%m-%dT%H:%M:%S}{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{rng.randrange(1, 1000):03d}Z"


# -- reading the text back -----------------------------------------------------------------------


def parsed(*texts: str) -> list[dict[str, Any]]:
    """The rows of the files, typed: None for empty cells, timestamps as aware UTC datetimes."""
    rows = []
    for text in texts:
        for record in csv.DictReader(io.StringIO(text)):
            rows.append({name: _typed(name, record[name]) for name in record})
    return rows


def _typed(name: str, cell: str) -> Any:
    if cell == "":
        return None
    readers: dict[str, Callable[[str], Any]] = {
        "id": int,
        "qty": int,
        "amount": Decimal,
        "day": date.fromisoformat,
        "at": lambda text: _utc(datetime.fromisoformat(text)),
        "flag": lambda text: text == "true",
    }
    return readers.get(name, str)(cell)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def values(rows: Iterable[dict], name: str) -> list:
    return [row[name] for row in rows if row[name] is not None]


# -- answers in the API's JSON forms ---------------------------------------------------------------


def iso(value: datetime) -> str:
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


# Generated amounts have at most two digits after the point: their column's scale.
AMOUNT_SCALE = 2


def decimal_text(value: Decimal, scale: int = AMOUNT_SCALE) -> str:
    """A decimal value, sum or extreme as the API gives it: exact text at the column's scale."""
    return format(value.quantize(Decimal(1).scaleb(-scale)), "f")


def average_text(numbers: list[Decimal], scale: int = AMOUNT_SCALE) -> str:
    """An average of a decimal column as the API gives it: the exact mean rounded half to even
    at the scale + 4 (computed here with Python's decimal module at high precision)."""
    with localcontext(prec=100):
        mean = sum(numbers, Decimal(0)) / len(numbers)
        return format(mean.quantize(Decimal(1).scaleb(-scale - 4), ROUND_HALF_EVEN), "f")


def number(value: Decimal | float) -> Any:
    """A decimal result as the API gives it (a JSON number), compared to 12 digits."""
    return pytest.approx(float(value), rel=1e-12, abs=1e-12)


def bucket_of(value: datetime | date, bucket: str) -> datetime | date:
    """The UTC bucket start, computed with the calendar rather than csvhub's arithmetic."""
    if isinstance(value, datetime):
        if bucket == "minute":
            return datetime(
                value.year, value.month, value.day, value.hour, value.minute, tzinfo=UTC
            )
        if bucket == "hour":
            return datetime(value.year, value.month, value.day, value.hour, tzinfo=UTC)
        day = bucket_of(value.date(), bucket)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    if bucket == "week":
        year, week, _ = value.isocalendar()
        return date.fromisocalendar(year, week, 1)
    if bucket == "month":
        return date(value.year, value.month, 1)
    return value


def every_bucket(first: datetime | date, last: datetime | date, bucket: str) -> list:
    """Every bucket start from `first` to `last`, stepping with the calendar."""
    starts = [first]
    while starts[-1] < last:
        current = starts[-1]
        if bucket == "month":
            year, month = divmod(current.month, 12)
            starts.append(current.replace(year=current.year + year, month=month + 1))
        else:
            size = {"minute": 60, "hour": 3600, "day": 86_400, "week": 7 * 86_400}[bucket]
            starts.append(current + timedelta(seconds=size))
    return starts


def _one_two_five(raw):
    """The one of 1, 2, 5, 10, 20, 50 ... (or 0.1, 0.2, 0.5 ...) nearest to `raw`, comparing
    ratios (log scale): 25 → 20, 40 → 50."""
    exponent = math.floor(math.log10(raw))
    candidates = [
        Decimal(m) * Decimal(10) ** e for e in (exponent, exponent + 1) for m in (1, 2, 5)
    ]
    ratio = lambda c: max(Decimal(raw) / c, c / Decimal(raw))  # noqa: E731
    best = min(candidates, key=ratio)
    return int(best) if isinstance(raw, int) else type(raw)(best)


def expected_bins(found: list, bins: int, *, integer: bool) -> list[dict]:
    """The documented histogram: widths of 1, 2 or 5 x 10^n (whole for integers) from a
    multiple of the width; lower <= value < upper, the last decimal bin closed."""
    low, high = min(found), max(found)
    if integer:
        width = _one_two_five(max(1, math.ceil((high - low + 1) / bins)))
        first = math.floor(low / width) * width
        edges = list(range(first, high + 1 + width, width))
        while edges[-2] > high:
            edges.pop()
    elif low == high:
        edges = [low, high]
    else:
        step = _one_two_five((high - low) / bins)
        first = math.floor(low / step) * step
        edges = [first]
        while edges[-1] < high:
            edges.append(first + step * len(edges))
    counts = [0] * (len(edges) - 1)
    for value in found:
        index = sum(1 for edge in edges[1:-1] if value >= edge)
        counts[index] += 1
    shown = int if integer else number
    return [
        {"lower": shown(edges[i]), "upper": shown(edges[i + 1]), "count": count}
        for i, count in enumerate(counts)
    ]


# -- HTTP ----------------------------------------------------------------------------------------


def analysis(api: APIClient, slug: str, query: str) -> dict:
    response = api.get(f"/api/v1/datasets/{slug}/analysis/?{query}")
    assert response.status_code == 200, (query, response.content)
    return response.json()


def analysis_error(api: APIClient, slug: str, query: str, status: int = 400) -> str:
    response = api.get(f"/api/v1/datasets/{slug}/analysis/?{query}")
    assert response.status_code == status, (query, response.content)
    return response.json()["detail"]


def summary(api: APIClient, slug: str) -> dict:
    response = api.get(f"/api/v1/datasets/{slug}/summary/")
    assert response.status_code == 200, response.content
    return response.json()
