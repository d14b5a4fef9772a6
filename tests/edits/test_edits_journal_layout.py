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


def test_an_old_journal_gets_marks_and_loses_its_second_index(warehouse) -> None:
    engine = get_engine()
    with engine.begin() as connection:
        _old_layout(connection)
    edits._JOURNALED.discard(engine.url)  # as a process started after the upgrade

    edits.journal_ensure(engine)

    with engine.connect() as connection:
        indexes = {index["name"] for index in inspect(connection).get_indexes(edits.JOURNAL.name)}
        marks = connection.execute(
            select(edits.MARKS.c.edit_id, edits.MARKS.c.changed_rows, edits.MARKS.c.highest_row_id)
            .where(edits.MARKS.c.table_name == TABLE)
            .order_by(edits.MARKS.c.edit_id)
        ).all()
        highest = edits.journal_highest_row_id(connection, TABLE)
    assert edits.OLD_ROW_INDEX.name not in indexes
    assert "csvhub_edit_journal_edit" in indexes
    assert [tuple(mark) for mark in marks] == [(7, 3, 90), (8, 1, 12)]
    assert highest == 90
    # The cells themselves are kept as they were (undo reads them), markers left out.
    assert edits.journal_cells(edit_id=7) == 3
    # Purging the edit forgets its cells, its old marker and its mark.
    assert edits.journal_purge(edit_ids=[7]) == 3
    with engine.connect() as connection:
        assert edits.journal_highest_row_id(connection, TABLE) == 12


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
