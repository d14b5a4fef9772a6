"""Bulk edits through the API on every warehouse: actions on every type, bad values, counts,
preview, undo, conflicts, taking an upload back, summaries kept exact."""

from __future__ import annotations

import pytest

from csvhub.datasets.models import Dataset
from csvhub.warehouse.tables import table_row_count
from tests.datasets.pipeline import upload
from tests.edits.conftest import TYPED_CSV
from tests.edits.helpers import column, edit, rows_of

pytestmark = pytest.mark.django_db(transaction=True)

# (column, change, filter, expected values of the column afterwards, in row order)
ACTIONS = [
    ("price", "12.5", "id=lte:2", ["12.50", "12.50", None, "5.25", "7.75"]),
    ("price", None, "id=1", [None, "20.00", None, "5.25", "7.75"]),
    ("price", {"multiply": "1.05", "round": 1}, "", ["11.00", "21.00", None, "5.50", "8.10"]),
    ("price", {"multiply": "1.05"}, "", ["11.03", "21.00", None, "5.51", "8.14"]),
    ("price", {"add": "-0.25"}, "price=gt:6", ["10.25", "19.75", None, "5.25", "7.50"]),
    ("id", {"multiply": "2.5"}, "", [3, 5, 8, 10, 13]),
    ("id", {"add": 100}, "id=gte:4", [1, 2, 3, 104, 105]),
    ("id", 7, "name=like:alpha", [7, 2, 3, 4, 5]),
    ("active", False, "active=true", [False, False, False, False, None]),
    ("active", "true", "active=isnull:", [True, False, True, False, True]),
    ("day", "2024-02-29", "id=2", ["2020-06-01", "2024-02-29", None, "2020-06-15", "2019-12-31"]),
    (
        "at",
        "2024-01-01T10:00:00+02:00",
        "id=1",
        [
            "2024-01-01T08:00:00Z",
            "2021-01-15T08:00:00Z",
            None,
            "2020-06-01T12:30:00.5Z",
            "2019-12-31T22:59:59Z",
        ],
    ),
    ("name", {"upper": True}, "", ["ALPHA", "BETA", None, "GAMMA", " DELTA "]),
    ("name", {"lower": True}, "", ["alpha", "beta", None, "gamma", " delta "]),
    ("name", {"trim": True}, "", ["alpha", "Beta", None, "gamma", "delta"]),
    (
        "name",
        {"replace": {"from": "a", "to": "4"}},
        "",
        ["4lph4", "Bet4", None, "g4mm4", " delt4 "],
    ),
    (
        "name",
        {"map": {"alpha": "Alpha", "gamma": "Gamma"}},
        "",
        ["Alpha", "Beta", None, "Gamma", " delta "],
    ),
    (
        "day",
        {"map": {"2020-06-01": "2020-07-01"}},
        "",
        ["2020-07-01", "2021-01-15", None, "2020-06-15", "2019-12-31"],
    ),
    ("name", "", "id=1", ["", "Beta", None, "gamma", " delta "]),
]


@pytest.mark.parametrize(("name", "change", "query", "expected"), ACTIONS)
def test_every_action_on_every_type(editor, typed, name, change, query, expected) -> None:
    answer = edit(editor, typed, {"filter": query, "action": {"set": {name: change}}})
    assert answer.status_code == 201, answer.json()
    assert answer.json()["state"] == "succeeded"
    assert column(editor, typed, name) == expected


BAD = [
    ({"set": {"price": "abc"}}, "not a valid value for 'price'"),
    ({"set": {"price": "1.234"}}, "has 3 digits after the point"),
    ({"set": {"id": "1.5"}}, "not a valid value for 'id'"),
    ({"set": {"active": "maybe"}}, "not a valid value for 'active'"),
    ({"set": {"day": "2021-02-30"}}, "not a valid value for 'day'"),
    ({"set": {"at": "yesterday"}}, "not a valid value for 'at'"),
    ({"set": {"nope": "1"}}, "Unknown column 'nope'"),
    ({"set": {"name": {"multiply": 2}}}, "work on integer and decimal columns"),
    ({"set": {"price": {"upper": True}}}, "works on text columns"),
    ({"set": {"price": {"add": "0.001"}}}, "more digits after the point"),
    ({"set": {"id": {"multiply": "1e30"}}}, "more than the column holds"),
    ({"set": {"price": {"frobnicate": 1}}}, "Unknown expression"),
    ({"delete": True, "set": {"price": 1}}, "exactly one of"),
    ({"delete": "yes"}, '"delete" takes true'),
    ("drop", "action is an object"),
    ({"set": {"name": {"replace": {"from": "a", "to": "\x00"}}}}, "holds a NUL character"),
]


@pytest.mark.parametrize(("action", "message"), BAD)
def test_bad_action_is_a_400_and_changes_nothing(editor, typed, action, message) -> None:
    before = rows_of(editor, typed)
    answer = edit(editor, typed, {"action": action})
    assert answer.status_code == 400, answer.json()
    assert message in answer.json()["detail"]
    assert rows_of(editor, typed) == before
    assert editor.get(f"/api/v1/datasets/{typed.slug}/edits/").json() == []


def test_the_issues_body_with_set_or_delete_at_the_top(editor, typed) -> None:
    # The issue writes actions as `{"set": {...}}` beside the filter; both forms are accepted.
    answer = edit(editor, typed, {"filter": "id=lte:2", "set": {"price": "12.5"}})
    assert answer.status_code == 201, answer.json()
    assert column(editor, typed, "price") == ["12.50", "12.50", None, "5.25", "7.75"]
    answer = edit(editor, typed, {"filter": "id=5", "delete": True})
    assert answer.json()["rows_affected"] == 1


def test_an_action_given_twice_is_a_400_and_changes_nothing(editor, typed) -> None:
    before = rows_of(editor, typed)
    answer = edit(editor, typed, {"action": {"delete": True}, "set": {"price": "1"}})
    assert answer.status_code == 400
    assert "Give the action once" in answer.json()["detail"]
    assert rows_of(editor, typed) == before


def test_bad_filter_is_a_400(editor, typed) -> None:
    answer = edit(editor, typed, {"filter": "price=gt:abc", "action": {"delete": True}})
    assert answer.status_code == 400
    answer = edit(editor, typed, {"filter": "limit=2", "action": {"delete": True}})
    assert answer.status_code == 400
    assert "every matching row" in answer.json()["detail"]


def test_filter_as_query_parameters_and_object(editor, typed) -> None:
    answer = edit(
        editor, typed, {"filter": {"id": "gte:2"}, "action": {"set": {"id": 0}}}, "id=lte:3"
    )
    assert answer.json()["rows_affected"] == 2
    assert column(editor, typed, "id") == [1, 0, 0, 4, 5]


def test_preview_counts_and_samples_and_changes_nothing(editor, typed) -> None:
    before = rows_of(editor, typed)
    body = {"filter": "price=gt:6", "action": {"set": {"price": {"multiply": 2}}}}
    for url in (
        f"/api/v1/datasets/{typed.slug}/edits/?preview=true",
        f"/api/v1/datasets/{typed.slug}/edits/preview",
    ):
        answer = editor.post(url, body, format="json")
        assert answer.status_code == 200, answer.json()
        found = answer.json()
        assert found["count"] == 3
        assert found["samples"][0] == {
            "row_id": found["samples"][0]["row_id"],
            "before": {"price": "10.50"},
            "after": {"price": "21.00"},
        }
    assert rows_of(editor, typed) == before
    assert editor.get(f"/api/v1/datasets/{typed.slug}/edits/").json() == []


def test_expected_count_refuses_another_count(editor, typed) -> None:
    body = {"filter": "price=gt:6", "action": {"delete": True}, "expected_count": 2}
    answer = edit(editor, typed, body)
    assert answer.status_code == 409
    assert "matches 3 rows, not the 2 expected" in answer.json()["detail"]
    assert len(rows_of(editor, typed)) == 5
    body["expected_count"] = 3
    assert edit(editor, typed, body).status_code == 201
    assert column(editor, typed, "id") == [3, 4]


def test_delete_then_undo_brings_rows_back_with_their_ids(editor, typed) -> None:
    before = rows_of(editor, typed)
    deleted = edit(editor, typed, {"filter": "active=false", "action": {"delete": True}}).json()
    assert deleted["rows_affected"] == 2
    typed.refresh_from_db()
    assert typed.row_count == 3
    undo = editor.post(f"/api/v1/datasets/{typed.slug}/edits/{deleted['id']}/undo")
    assert undo.status_code == 201, undo.json()
    assert undo.json()["rows_affected"] == 2
    assert rows_of(editor, typed) == before
    typed.refresh_from_db()
    assert typed.row_count == 5
    again = editor.post(f"/api/v1/datasets/{typed.slug}/edits/{deleted['id']}/undo")
    assert again.status_code == 409


def test_undo_after_undo(editor, typed) -> None:
    first = edit(editor, typed, {"action": {"set": {"price": "1"}}}).json()
    second = edit(editor, typed, {"action": {"set": {"price": "2"}}}).json()
    url = f"/api/v1/datasets/{typed.slug}/edits"
    assert editor.post(f"{url}/{second['id']}/undo").json()["conflicts"] == 0
    assert column(editor, typed, "price") == ["1.00"] * 5
    undo = editor.post(f"{url}/{first['id']}/undo").json()
    assert undo["conflicts"] == 0
    assert column(editor, typed, "price") == ["10.50", "20.00", None, "5.25", "7.75"]
    assert editor.post(f"{url}/{undo['id']}/undo").status_code == 409


def test_undo_leaves_rows_changed_since_unless_forced(editor, typed) -> None:
    first = edit(editor, typed, {"action": {"set": {"price": "1"}}}).json()
    edit(editor, typed, {"filter": "id=2", "action": {"set": {"price": "3"}}})
    edit(editor, typed, {"filter": "id=4", "action": {"delete": True}})
    url = f"/api/v1/datasets/{typed.slug}/edits/{first['id']}/undo"
    undo = editor.post(url).json()
    assert undo["conflicts"] == 2
    assert undo["rows_affected"] == 3
    assert column(editor, typed, "price") == ["10.50", "3.00", None, "7.75"]


def test_forced_undo_overwrites_later_changes(editor, typed) -> None:
    first = edit(editor, typed, {"action": {"set": {"price": "1"}}}).json()
    edit(editor, typed, {"filter": "id=2", "action": {"set": {"price": "3"}}})
    url = f"/api/v1/datasets/{typed.slug}/edits/{first['id']}/undo?force=true"
    undo = editor.post(url).json()
    assert undo["conflicts"] == 1
    assert column(editor, typed, "price") == ["10.50", "20.00", None, "5.25", "7.75"]


def test_summaries_follow_edits_and_undo(editor, typed) -> None:
    edit(editor, typed, {"filter": "id=2", "action": {"set": {"price": "99.99"}}})
    typed.refresh_from_db()
    stats = typed.schema.stats_of("price")
    assert (stats.min_value, stats.max_value, stats.nulls) == ("5.25", "99.99", 1)
    deleted = edit(editor, typed, {"filter": "id=lte:2", "action": {"delete": True}}).json()
    typed.refresh_from_db()
    assert (typed.row_count, typed.first_row_id, typed.last_row_id) == (3, 3, 5)
    day = typed.schema.stats_of("day")
    assert (day.min_value, day.max_value, day.nulls) == ("2019-12-31", "2020-06-15", 1)
    editor.post(f"/api/v1/datasets/{typed.slug}/edits/{deleted['id']}/undo")
    typed.refresh_from_db()
    assert (typed.row_count, typed.first_row_id, typed.last_row_id) == (5, 1, 5)
    assert typed.schema.stats_of("day").max_value == "2021-01-15"


def test_take_back_an_upload_then_append_again(editor, org, typed) -> None:
    second = upload(org, "typed.csv", TYPED_CSV.replace("alpha", "omega"), dataset=typed.slug)
    assert second.state == "succeeded"
    answer = editor.delete(f"/api/v1/uploads/{second.id}/rows")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["rows_affected"] == 5
    typed.refresh_from_db()
    assert typed.row_count == 5 == table_row_count(table_name=typed.table_name)
    assert "omega" not in column(editor, typed, "name")
    assert editor.delete(f"/api/v1/uploads/{second.id}/rows").status_code == 409
    third = upload(org, "typed.csv", TYPED_CSV.replace("alpha", "sigma"), dataset=typed.slug)
    assert third.state == "succeeded"
    # The taken-back rows' ids stay theirs: undo puts them back beside the new ones.
    undo = editor.post(f"/api/v1/datasets/{typed.slug}/edits/{answer.json()['id']}/undo").json()
    assert undo["rows_affected"] == 5
    names = column(editor, typed, "name")
    assert (names.count("omega"), names.count("sigma"), names.count("Beta")) == (1, 1, 3)
    assert names.index("omega") < names.index("sigma")  # back with their own row ids
    typed.refresh_from_db()
    assert typed.row_count == 15 == table_row_count(table_name=typed.table_name)


def test_history_lists_edits_newest_first(editor, typed) -> None:
    edit(editor, typed, {"filter": "id=1", "action": {"set": {"name": "x"}}})
    edit(editor, typed, {"filter": "id=2", "action": {"delete": True}})
    listed = editor.get(f"/api/v1/datasets/{typed.slug}/edits/").json()
    assert [(e["kind"], e["filter"], e["undoable"]) for e in listed] == [
        ("delete", "id=2", True),
        ("update", "id=1", True),
    ]
    detail = editor.get(listed[0]["url"]).json()
    assert detail["id"] == listed[0]["id"]


def test_viewers_get_403_and_other_organizations_404(editor, viewer, typed) -> None:
    from csvhub.accounts.models import Organization
    from tests.datasets.pipeline import api_client_for

    body = {"action": {"delete": True}}
    assert edit(viewer, typed, body).status_code == 403
    assert (
        viewer.post(f"/api/v1/datasets/{typed.slug}/edits/preview", body, format="json").status_code
        == 403
    )
    assert viewer.get(f"/api/v1/datasets/{typed.slug}/edits/").status_code == 200
    stranger = api_client_for(Organization.objects.create(slug="globex", name="Globex"))
    assert edit(stranger, typed, body).status_code == 404
    assert len(rows_of(editor, typed)) == 5


def test_large_edit_runs_as_a_job(editor, typed, settings) -> None:
    settings.CSVHUB_EDIT_INLINE_ROWS = 2
    answer = edit(editor, typed, {"action": {"set": {"name": "same"}}})
    assert answer.status_code == 202
    found = editor.get(answer.json()["url"]).json()
    assert (found["state"], found["rows_affected"]) == ("succeeded", 5)
    assert column(editor, typed, "name") == ["same"] * 5
    assert Dataset.objects.get(pk=typed.pk).schema.stats_of("name").nulls == 0


def test_an_expected_count_past_any_row_count_is_a_400(editor, typed) -> None:
    body = {"action": {"delete": True}, "expected_count": 10**20}
    answer = edit(editor, typed, body)
    assert answer.status_code == 400, answer.json()
    assert "below 2**63" in answer.json()["detail"]


@pytest.mark.parametrize(
    "action",
    ['{"set": {"name": "\\ud800"}}', '{"set": {"name": {"map": {"a": "\\ud800"}}}}'],
)
def test_a_lone_surrogate_is_a_400_and_changes_nothing(editor, typed, action) -> None:
    before = rows_of(editor, typed)
    answer = editor.generic(  # JSON spells it \ud800: valid JSON, text no database stores
        "POST",
        f"/api/v1/datasets/{typed.slug}/edits/",
        '{"action": ' + action + "}",
        content_type="application/json",
    )
    assert answer.status_code == 400, answer.json()
    assert "lone surrogate" in answer.json()["detail"]
    assert rows_of(editor, typed) == before
