"""Sign-in pages (login with CSRF, logout, password reset, organization switch) and the admin."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from csvhub.accounts.access import SESSION_KEY
from csvhub.accounts.models import ApiToken, Membership, Role

from .actors import PASSWORD, World


def _csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def test_login_page_renders_a_form_with_a_csrf_token(world: World, client: Client) -> None:
    response = client.get("/login/")

    assert response.status_code == 200
    html = response.content.decode()
    assert _csrf_token(html)
    assert 'href="/password-reset/"' in html
    assert "<main" in html  # extends base.html


def test_login_without_csrf_token_is_refused(world: World) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post("/login/", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_login_with_csrf_token_signs_in_and_redirects(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    token = _csrf_token(client.get("/login/").content.decode())

    response = client.post(
        "/login/",
        {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(world.alice.pk)


def test_login_follows_a_safe_next_but_not_an_outside_one(world: World, client: Client) -> None:
    inside = client.post("/login/?next=/datasets/", {"username": "bob", "password": PASSWORD})
    client.logout()
    outside = client.post(
        "/login/?next=https://evil.example/", {"username": "bob", "password": PASSWORD}
    )

    assert inside["Location"] == "/datasets/"
    assert outside["Location"] == "/"


def test_wrong_password_shows_an_error(world: World, client: Client) -> None:
    response = client.post("/login/", {"username": "alice", "password": "nope"})

    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_needs_post(world: World, client: Client) -> None:
    client.force_login(world.alice)

    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


def test_password_reset_mails_a_working_link(world: World, client: Client) -> None:
    response = client.post("/password-reset/", {"email": "alice@example.com"})
    assert response["Location"] == "/password-reset/sent/"
    [message] = mail.outbox
    link = re.search(r"http://testserver(/password-reset/\S+/)", message.body).group(1)

    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    new = "a brand new passphrase"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})

    assert done["Location"] == "/password-reset/complete/"
    assert client.get("/password-reset/complete/").status_code == 200
    assert Client().login(username="alice", password=new)


def test_password_reset_does_not_reveal_unknown_emails(world: World, client: Client) -> None:
    response = client.post("/password-reset/", {"email": "nobody@example.com"})

    assert response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


def test_bad_reset_link_says_so(world: World, client: Client) -> None:
    response = client.get("/password-reset/MQ/bad-token/")

    assert "invalid" in response.content.decode()


def test_organization_switch_remembers_the_choice(world: World, client: Client) -> None:
    Membership.objects.create(user=world.bob, organization=world.globex, role=Role.VIEWER)
    client.force_login(world.bob)

    response = client.post("/orgs/switch/", {"organization": "globex", "next": "/datasets/"})

    assert response["Location"] == "/datasets/"
    assert client.session[SESSION_KEY] == "globex"


def test_organization_switch_to_a_foreign_organization_is_404(world: World, client: Client) -> None:
    client.force_login(world.bob)

    response = client.post("/orgs/switch/", {"organization": "globex"})

    assert response.status_code == 404
    assert SESSION_KEY not in client.session


def test_organization_switch_ignores_an_outside_next(world: World, client: Client) -> None:
    client.force_login(world.bob)

    response = client.post("/orgs/switch/", {"organization": "acme", "next": "//evil.example/"})

    assert response["Location"] == "/"


def test_organization_switch_needs_sign_in_and_post(world: World, client: Client) -> None:
    assert client.post("/orgs/switch/", {"organization": "acme"})["Location"].startswith("/login/")
    client.force_login(world.bob)
    assert client.get("/orgs/switch/").status_code == 405


@pytest.fixture
def staff(world: World, client: Client) -> Client:
    world.alice.is_staff = world.alice.is_superuser = True
    world.alice.save()
    client.force_login(world.alice)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/accounts/organization/",
        "/admin/accounts/organization/add/",
        "/admin/accounts/membership/",
        "/admin/accounts/membership/add/",
        "/admin/accounts/apitoken/",
        "/admin/accounts/invitation/",
    ],
)
def test_admin_pages_load_for_staff(staff: Client, path: str) -> None:
    assert staff.get(path).status_code == 200


def test_admin_change_pages_load_for_staff(staff: Client, world: World) -> None:
    token = ApiToken.objects.get(name="viewer")
    membership = Membership.objects.get(user=world.bob)

    pages = [
        f"/admin/accounts/organization/{world.acme.pk}/change/",
        f"/admin/accounts/membership/{membership.pk}/change/",
        f"/admin/accounts/apitoken/{token.pk}/change/",
    ]

    assert [staff.get(page).status_code for page in pages] == [200, 200, 200]
    assert token.secret_hash in staff.get(pages[2]).content.decode()  # shown, read-only


def test_admin_cannot_add_tokens(staff: Client) -> None:
    assert staff.get("/admin/accounts/apitoken/add/").status_code == 403


def test_admin_revoke_action_revokes_tokens(staff: Client) -> None:
    token = ApiToken.objects.get(name="viewer")

    staff.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [str(token.pk)]},
    )

    token.refresh_from_db()
    assert token.revoked_at is not None


def test_admin_is_closed_to_non_staff(world: World, client: Client) -> None:
    client.force_login(world.bob)

    assert client.get("/admin/accounts/organization/")["Location"].startswith("/admin/login/")


def test_admin_is_closed_to_staff_who_are_not_operators(world: World, client: Client) -> None:
    world.bob.is_staff = True
    world.bob.save()
    client.force_login(world.bob)

    assert client.get("/admin/accounts/membership/")["Location"].startswith("/admin/login/")
