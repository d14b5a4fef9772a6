"""CanView, CanEdit, CanAdmin and ReadOrEdit for each role."""

from __future__ import annotations

import pytest

from .actors import DENIED, ApiAs, World

OK, FORBIDDEN = 200, 403

# probe → {actor: status}; the dead and anonymous actors are DENIED everywhere.
EXPECTED = {
    ("GET", "/probe/view/"): {"viewer": OK, "editor": OK, "admin": OK},
    ("GET", "/probe/edit/"): {"viewer": FORBIDDEN, "editor": OK, "admin": OK},
    ("GET", "/probe/admin/"): {"viewer": FORBIDDEN, "editor": FORBIDDEN, "admin": OK},
    ("GET", "/probe/read-or-edit/"): {"viewer": OK, "editor": OK, "admin": OK},
    ("POST", "/probe/read-or-edit/"): {"viewer": FORBIDDEN, "editor": OK, "admin": OK},
}
CASES = [
    (method, path, actor, {**DENIED, **statuses}[actor])
    for (method, path), statuses in EXPECTED.items()
    for actor in (*DENIED, "viewer", "editor", "admin")
]


@pytest.mark.parametrize(("method", "path", "actor", "expected"), CASES)
def test_role_permissions(
    api_as: ApiAs, world: World, method: str, path: str, actor: str, expected: int
) -> None:
    response = getattr(api_as(actor), method.lower())(path)

    assert response.status_code == expected


@pytest.mark.parametrize("session", [False, True])
def test_too_low_role_gets_403_naming_the_role_needed(
    api_as: ApiAs, world: World, session: bool
) -> None:
    response = api_as("viewer", session=session).post("/probe/read-or-edit/")

    assert response.status_code == 403
    assert response.json()["detail"] == "This needs the editor role or higher; you have viewer."


def test_editor_is_told_admin_is_needed(api_as: ApiAs, world: World) -> None:
    response = api_as("editor").get("/probe/admin/")

    assert response.json()["detail"] == "This needs the admin role or higher; you have editor."


def test_other_organizations_admin_has_admin_role_only_at_home(api_as: ApiAs, world: World) -> None:
    assert api_as("other_org").get("/probe/admin/").json()["organization"] == "globex"
