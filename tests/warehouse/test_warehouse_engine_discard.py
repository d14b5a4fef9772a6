"""A process that moves between warehouses closes each one's pooled connections."""

from __future__ import annotations

import os

from sqlalchemy import select

from csvhub.warehouse.engine import engine_discard, engine_for_url


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def _use(url: str) -> None:
    with engine_for_url(url).connect() as connection:
        connection.execute(select(1))


def test_discarded_engines_leave_no_descriptor_open(tmp_path):
    urls = [f"sqlite:///{tmp_path / f'w{i}.sqlite3'}" for i in range(20)]
    before = _open_descriptors()
    for url in urls:
        _use(url)
    assert _open_descriptors() >= before + len(urls)  # pooled: each file stays open ...
    for url in urls:
        engine_discard(url)
    assert _open_descriptors() == before  # ... until its engine is discarded


def test_an_engine_is_made_once_per_url_and_again_after_a_discard(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.sqlite3'}"
    first = engine_for_url(url)
    assert engine_for_url(url) is first
    engine_discard(url)
    assert engine_for_url(url) is not first
    engine_discard(url)
