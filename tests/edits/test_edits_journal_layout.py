"""A journal made before csvhub_edit_marks (markers as journal rows, a second index on
(table_name, row_id)) is brought to the current layout the first time an edit ensures it."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, inspect, select

from csvhub.datasets.services import dataset_delete
from csvhub.warehouse import edits
from csvhub.warehouse.engine import get_engine
from tests.edits.helpers import edit

TABLE = "ds_" + "0" * 32  # no such dataset table: the journal alone is looked at


def _old_layout(connection) -> None:
    edits.MARKS.drop(connection, checkfirst=True)
    edits.JOURNAL.create(connection, checkfirst=True)
    edits.OLD_ROW_INDEX.create(connection, checkfirst=True)
    cell = {"table_name": TABLE, "column_name": "price", "old_value": "1.50"}
    rows = [{"edit_id": 7, "row_id": row_id, **cell} for row_id in (3, 90, 41)]
    rows += [{"edit_id": 8, "row_id": 12, **cell}]
    # The markers of edits 7 and 8 as the old layout wrote them: row id 0, no column.
    marker = {"table_name": TABLE, "row_id": 0, "column_name": ""}
    rows += [{"edit_id": 7, "old_value": "3", **marker}, {"edit_id": 8, "old_value": "1", **marker}]
    connection.execute(insert(edits.JOURNAL), rows)


@pytest.fixture
def old_journal(warehouse):
    """A warehouse whose journal was made before MARKS, seen by a process started after the
    upgrade; the old index is dropped afterwards (the test warehouses are only emptied)."""
    engine = get_engine()
    with engine.begin() as connection:
        _old_layout(connection)
    edits._JOURNALED.discard(engine.url)
    edits._OLD_LAYOUT.pop(engine.url, None)
    yield engine
    with engine.begin() as connection:
        if edits._has_old_row_index(connection):
            edits.OLD_ROW_INDEX.drop(connection)
    edits._JOURNALED.discard(engine.url)
    edits._OLD_LAYOUT.pop(engine.url, None)


def test_an_old_journal_gets_marks_and_keeps_its_index_for_the_rollout(old_journal) -> None:
    engine = old_journal

    edits.journal_ensure(engine)

    with engine.connect() as connection:
        indexes = {index["name"] for index in inspect(connection).get_indexes(edits.JOURNAL.name)}
        marks = connection.execute(
            select(edits.MARKS.c.edit_id, edits.MARKS.c.changed_rows, edits.MARKS.c.highest_row_id)
            .where(edits.MARKS.c.table_name == TABLE)
            .order_by(edits.MARKS.c.edit_id)
        ).all()
        highest = edits.journal_highest_row_id(connection, TABLE)
    # Workers of the previous release still read it during a rollout; a later release drops it.
    assert edits.OLD_ROW_INDEX.name in indexes
    assert "csvhub_edit_journal_edit" in indexes
    assert [tuple(mark) for mark in marks] == [(7, 3, 90), (8, 1, 12)]
    assert highest == 90
    # The cells themselves are kept as they were (undo reads them), markers left out.
    assert edits.journal_cells(edit_id=7) == 3
    # Purging the edit forgets its cells, its old marker and its mark.
    assert edits.journal_purge(edit_ids=[7]) == 3
    with engine.connect() as connection:
        assert edits.journal_highest_row_id(connection, TABLE) == 12


def test_during_a_rollout_both_releases_see_each_others_marks(old_journal) -> None:
    engine = old_journal
    edits.journal_ensure(engine)
    with engine.begin() as connection:
        # A worker of the previous release applies edit 9 (a delete up to row 500) after the
        # upgrade: its marker and cells are in the journal only.
        cell = {"edit_id": 9, "table_name": TABLE, "column_name": "price", "old_value": "2"}
        marker = {"edit_id": 9, "table_name": TABLE, "row_id": 0, "column_name": ""}
        connection.execute(
            insert(edits.JOURNAL), [{**cell, "row_id": 500}, {**marker, "old_value": "1"}]
        )
        # ... and this release applies edit 10, which the old release must find applied too.
        connection.execute(
            insert(edits.JOURNAL), [{**cell, "edit_id": 10, "row_id": 7, "old_value": "3"}]
        )
        edits._mark(connection, 10, TABLE, 1, ["price"])

    with engine.connect() as connection:
        assert edits._marker(connection, 9, TABLE) == 1  # a retry here does not apply it again
        assert edits.journal_highest_row_id(connection, TABLE) == 500  # nor reuse row 500
        old_marker = select(edits.JOURNAL.c.old_value).where(
            edits.JOURNAL.c.edit_id == 10, edits.JOURNAL.c.row_id == 0
        )
        assert connection.execute(old_marker).scalar() == "1"


@pytest.mark.django_db(transaction=True)
def test_deleting_a_dataset_forgets_its_journal(editor, typed) -> None:
    answer = edit(editor, typed, {"filter": "", "action": {"set": {"price": "1.00"}}})
    assert answer.status_code == 201, answer.json()
    edit_id = answer.json()["id"]
    assert edits.journal_cells(edit_id=edit_id) == 5

    table_name = typed.table_name
    dataset_delete(dataset=typed)

    # Its edits go with the dataset, so retention would never purge these cells.
    assert edits.journal_cells(edit_id=edit_id) == 0
    with get_engine().connect() as connection:
        assert edits.journal_highest_row_id(connection, table_name) == 0
