"""The four warehouse engines give identical answers.

The same CSV files (every type, empty cells, unicode, exact decimals, timestamps written in
several zones, an append that widens a column) are uploaded through the real pipeline into
SQLite, PostgreSQL, MariaDB/MySQL and DuckDB; then a broad set of rows queries (each filter
operator on each type, sorts both ways, fields, counts, cursors forward and back, CSV and
NDJSON exports) and analysis queries (row counts, time spans, aggregates, UTC time series,
histograms) is asked of each, and the JSON (or exported text) must be the same, byte for
byte, on all four.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote

import pytest

from tests.conftest import MYSQL_URL, POSTGRES_URL, _create_mysql_database, _drop_dataset_tables
from tests.datasets.pipeline import api_client_for, make_org, upload
from tests.services import require

pytestmark = pytest.mark.django_db(transaction=True)

# Text that tests exact comparison and code point order: case, accents, other scripts, an
# emoji, trailing spaces, LIKE's wildcards, a backslash, quotes, a tab and a line break.
MIXED_CSV = '''\
id,amount,flag,day,at,note,qty
1,79930.00,true,2020-06-01,2020-06-01T12:30:00Z,alpha,3
2,-3.50,false,2021-01-15,2021-01-15 08:00:00,Beta 50%,
3,,true,,,,7
4,100.10,false,2020-06-15,2020-06-01T12:30:00.500Z,gamma_ray,-2
5,0.12,,2019-12-31,2019-12-31T23:59:59+01:00,é,0
6,79930.00,false,2020-06-01,2020-06-01 12:30:00,alphabet,3
7,12345678901234.69,true,2024-02-29,2024-02-29T23:30:00-05:00,日本語,100
8,-0.01,true,1999-01-01,1999-01-01T00:00:00.123456+00:00,a ,12
9,5.00,false,2000-02-28,2000-02-28T01:02:03.1+05:30,a,
10,7.25,,2020-06-01,2020-06-01T12:30:00Z,B,3
11,7.25,true,2020-12-31,2020-12-31T23:59:59.999999Z,b,5
12,-99999.99,false,2020-06-02,2020-06-02T00:00:00-00:30,"back\\slash ""quoted""",1
13,1.01,true,2020-06-03,2020-06-03T10:00:00Z,"tab\there",2
14,2.02,false,2020-06-04,2020-06-04T10:00:00Z,"two
lines",
15,3.03,true,2020-06-05,2020-06-05T10:00:00Z,🙂 smile,8
16,,,,,,
'''
# Appended: qty gets a decimal (integer → decimal) and day a time (date → timestamp).
APPEND_CSV = """\
id,amount,flag,day,at,note,qty
17,0.50,true,2020-06-06 08:15:00,2020-06-06T08:15:00Z,zeta,2.5
18,-7.25,false,2020-06-07,2020-06-07T09:00:00Z,Alpha,
"""

ENGINES = ("sqlite", "postgres", "mysql", "duckdb")
OPERATIONS = {
    "id": ("eq:4", "neq:4", "lt:5", "gt:14", "lte:5", "gte:14", "in:1,3,99", "notin:1,3"),
    "amount": (
        "eq:79930",
        "eq:7.251",
        "gt:7.249",
        "neq:7.25",
        "lt:0",
        "gt:100.1",
        "lte:-0.01",
        "gte:79930.00",
    ),
    "flag": ("eq:true", "neq:true", "in:false", "notin:true"),
    "day": ("eq:2020-06-01", "lt:2000-01-01", "gte:2020-06-06", "in:2020-06-01,2024-02-29"),
    "at": (
        "eq:2020-06-01T12:30:00Z",
        "gt:2020-06-01 12:30:00",
        "lte:2020-06-01T13:30:00+01:00",
        "neq:2020-06-01T12:30:00.5Z",
        "in:2019-12-31T22:59:59Z,2020-06-06T08:15:00Z",
    ),
    "note": (
        "eq:a",
        "eq:a ",
        "neq:a",
        "lt:b",
        "gte:alpha",
        "like:ALPHA",
        "like:%",
        "like:_",
        "startswith:a",
        "endswith:A",
        "like:\\",
        "in:a,B,é",
    ),
    "qty": ("eq:3", "gt:2", "lt:2.5", "notin:3,5"),
}
ROW_QUERIES = [
    "",
    "count=exact",
    "fields=note,id",
    "sort=note",
    "sort=note:desc,id",
    *(f"sort={name}" for name in OPERATIONS),
    *(f"sort={name}:desc" for name in OPERATIONS),
    "sort=flag,amount:desc",
    *(f"{name}=isnull:" for name in OPERATIONS),
    *(f"{name}=notnull:&sort={name}" for name in OPERATIONS),
    *(f"{name}={op}" for name, ops in OPERATIONS.items() for op in ops),
    "note=like:a&amount=gt:0&sort=at:desc",
]
ANALYSIS_QUERIES = [
    "type=row_count",
    "type=row_count&amount=gt:0",
    "type=time_span&column=at",
    "type=time_span&column=day&flag=eq:true",
    "type=aggregate&metrics=count,sum:amount,avg:amount,min:amount,max:amount",
    "type=aggregate&metrics=min:note,max:note,min:at,max:at,min:day,max:day,sum:qty,avg:qty",
    "type=aggregate&group_by=flag&metrics=count,total=sum:amount,avg:amount&sort=total:desc",
    "type=aggregate&group_by=note&metrics=count&sort=note",
    "type=aggregate&group_by=at&metrics=count&sort=at:desc&limit=5",
    "type=aggregate&group_by=day,flag&metrics=count,max:qty&sort=day,flag",
    *(
        f"type=timeseries&column=at&bucket={bucket}&metric=sum:amount&at=gte:2020-06-01"
        f"&at=lt:2020-06-08"
        for bucket in ("hour", "day", "week", "month")
    ),
    "type=timeseries&column=at&bucket=minute&metric=count&at=gte:2020-06-01T12:00:00Z"
    "&at=lt:2020-06-01T13:00:00Z",
    "type=timeseries&column=day&bucket=month&metric=avg:amount&day=gte:2020-01-01",
    "type=histogram&column=amount&bins=4&amount=gt:-100",
    "type=histogram&column=qty&bins=3",
    "type=histogram&column=id&bins=5&flag=notnull:",
]
EXPORTS = [
    "format=csv",
    "format=csv&sort=note:desc&note=notnull:&safe=spreadsheet",
    "format=ndjson",
    "format=ndjson&fields=at,amount&sort=amount&amount=notnull:",
]


def _q(query: str) -> str:
    """The query with its values escaped (`+` in an offset, `%` and `\\` in text)."""
    parts = []
    for part in query.split("&"):
        name, _, value = part.partition("=")
        parts.append(f"{name}={quote(value, safe=':,')}" if value else part)
    return "&".join(parts)


def _answers(engine: str, settings, tmp_path) -> dict[str, object]:
    """Load the files into `engine` and collect every answer, as JSON text or export text."""
    settings.CSVHUB_WAREHOUSE_URL = _warehouse_url(engine, settings, tmp_path)
    organization = make_org(f"conf-{engine}")
    client = api_client_for(organization)
    for name, content, dataset in (
        ("mixed.csv", MIXED_CSV, None),
        ("more.csv", APPEND_CSV, "mixed"),
    ):
        done = upload(organization, name, content, dataset=dataset)
        assert done.state == "succeeded", (engine, done.error)
    base = "/api/v1/datasets/mixed"
    answers: dict[str, object] = {}

    def get(path: str) -> object:
        response = client.get(path)
        assert response.status_code == 200, (engine, path, response.content)
        if response.streaming:
            return b"".join(response.streaming_content).decode()
        return response.json()

    for query in ROW_QUERIES:
        answers[f"rows?{query}"] = get(f"{base}/rows/?limit=1000&{_q(query)}")
    for query in ANALYSIS_QUERIES:
        answers[f"analysis?{query}"] = get(f"{base}/analysis/?{_q(query)}")
    for query in EXPORTS:
        answers[f"export?{query}"] = get(f"{base}/rows/?{_q(query)}")
    for sort in ("", "sort=note", "sort=at:desc,amount", "sort=qty&flag=notnull:"):
        answers[f"pages?{sort}"] = _pages(get, f"{base}/rows/?limit=4&{_q(sort)}")
    columns = get(f"{base}/")
    answers["columns"] = columns["columns"] if isinstance(columns, dict) else columns
    return json.loads(json.dumps(answers).replace(f"conf-{engine}", "ORG"))


def _pages(get: Callable[[str], object], first: str) -> list:
    """Every page forward by `next`, then back by `previous` from the last."""
    pages = [get(first)]
    while pages[-1]["next"]:
        pages.append(get(pages[-1]["next"]))
    while pages[-1]["previous"]:
        pages.append(get(pages[-1]["previous"]))
    return [page["rows"] for page in pages]


def _warehouse_url(engine: str, settings, tmp_path) -> str:
    if engine == "sqlite":
        return settings.CSVHUB_WAREHOUSE_URL  # the test's own file (tests/conftest.py)
    if engine == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    url, variable = {
        "postgres": (POSTGRES_URL, "CSVHUB_TEST_POSTGRES_URL"),
        "mysql": (MYSQL_URL, "CSVHUB_TEST_MYSQL_URL"),
    }[engine]
    require(url, variable)
    if engine == "mysql":
        _create_mysql_database(url)
    _drop_dataset_tables(url)
    return url


def _difference(a: object, b: object, path: str = "") -> str | None:
    """Where two JSON values first differ, and how (for a readable failure)."""
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        found = (_difference(a[k], b[k], f"{path}.{k}") for k in a)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        found = (
            _difference(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b, strict=True))
        )
    else:
        return None if a == b else f"{path}: {a!r} != {b!r}"
    return next((d for d in found if d is not None), None)


def test_every_engine_answers_alike(settings, tmp_path):
    answers = {}
    try:
        for engine in ENGINES:
            answers[engine] = _answers(engine, settings, tmp_path)
    finally:
        for url in (POSTGRES_URL, MYSQL_URL):
            _drop_dataset_tables(url)
    reference = answers["sqlite"]
    for engine in ENGINES[1:]:
        differing = {
            key: _difference(reference[key], answers[engine][key])
            for key in reference
            if reference[key] != answers[engine][key]
        }
        assert not differing, (
            "sqlite vs "
            + engine
            + ":\n"
            + "\n".join(f"{key} {where}" for key, where in differing.items())
        )
