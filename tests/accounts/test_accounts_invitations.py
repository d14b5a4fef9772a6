"""Invitations: an admin invites, the invited user accepts or declines; nobody joins an
organization without consent, and inviting tells the admin nothing about who has an account.

    alice (acme admin) invites; mallory (globex admin) and bob, carol (acme) are the other users.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from uuid import UUID

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core import mail
from django.http import Http404
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from csvhub.accounts import ratelimit
from csvhub.accounts.models import Invitation, Membership, Role
from csvhub.accounts.selectors import invitation_received_get
from csvhub.accounts.services import invitation_accept

from .actors import PASSWORD, ApiAs, World

MEMBERS = "/api/v1/members/"
INVITATIONS = "/api/v1/members/invitations/"
MINE = "/api/v1/invitations/"

CaptureOnCommit = Callable[..., AbstractContextManager]


def _signed_in(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _invite(api_as: ApiAs, user: str, role: str = "viewer", path: str = INVITATIONS) -> dict:
    response = api_as("admin").post(path, {"user": user, "role": role}, format="json")
    assert response.status_code == 202, response.content
    return response.json()


@pytest.fixture
def project_urls(settings: Settings) -> None:
    """The pages need the whole project's routes (the web UI's navigation links)."""
    settings.ROOT_URLCONF = "csvhub.urls"


def _pending_for(user: User) -> list[dict]:
    return _signed_in(user).get(MINE).json()["results"]


# --- inviting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [MEMBERS, INVITATIONS])
def test_adding_a_user_invites_them_and_does_not_make_them_a_member(
    api_as: ApiAs, world: World, path: str
) -> None:
    """The issue's scenario: acme's admin 'adds' globex's mallory."""
    body = _invite(api_as, "mallory", "editor", path=path)

    assert not Membership.objects.filter(user=world.mallory, organization=world.acme).exists()
    assert "mallory@example.com" not in str(body)
    assert body["invited"] == "mallory" and body["role"] == "editor"
    assert [i["organization_slug"] for i in _pending_for(world.mallory)] == ["acme"]


def _shape(body: dict) -> dict:
    """An answer without the values that always differ (ids, times, what the admin typed)."""
    return {k: v for k, v in body.items() if k not in ("id", "created_at", "expires_at", "invited")}


def test_the_answer_is_the_same_whether_or_not_the_user_exists(api_as: ApiAs, world: World) -> None:
    answers = [
        _invite(api_as, name)
        for name in ("mallory", "nobody", "mallory@example.com", "ghost@example.com")
    ]

    assert all(_shape(a) == _shape(answers[0]) for a in answers)
    assert set(answers[0]) == {
        "id",
        "invited",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "link",  # null unless the console mailer is in use (test_accounts_invitation_link.py)
        "detail",
    }
    assert answers[0]["invited_by"] == "alice"


def test_the_pending_list_looks_the_same_whether_or_not_the_user_exists(
    api_as: ApiAs, world: World
) -> None:
    _invite(api_as, "mallory")
    _invite(api_as, "nobody")

    listed = api_as("admin").get(INVITATIONS).json()["results"]

    assert {i["invited"] for i in listed} == {"mallory", "nobody"}
    assert _shape(listed[0]) == _shape(listed[1])
    assert "mallory@example.com" not in str(listed)


def test_an_email_that_is_no_valid_username_gets_the_same_answer_with_or_without_account(
    api_as: ApiAs, world: World
) -> None:
    get_user_model().objects.create_user(username="ab", email="a!b@example.com")

    with_account = api_as("admin").post(INVITATIONS, {"user": "a!b@example.com"}, format="json")
    without = api_as("admin").post(INVITATIONS, {"user": "c!d@example.com"}, format="json")

    assert with_account.status_code == without.status_code == 202, without.content
    assert _shape(with_account.json()) == _shape(without.json())


def test_a_newcomer_whose_email_is_no_valid_username_is_told_the_username_made_for_them(
    api_as: ApiAs, world: World, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _invite(api_as, "o'brien!@example.com")

    newcomer = get_user_model().objects.get(email="o'brien!@example.com")
    newcomer.full_clean(exclude=["password"])  # a valid username
    assert newcomer.username.startswith("obrien-")
    assert f"with the username {newcomer.username}." in mail.outbox[0].body


@pytest.fixture
def mail_server_down(settings: Settings) -> None:
    """Mail goes over SMTP to a port where nothing listens: every send fails."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 1, "timeout": 5},
        }
    }


@pytest.mark.django_db(transaction=True)  # real commits, so the mail is sent within the request
def test_a_failing_mail_server_gives_the_same_answer_for_every_invitee(
    api_as: ApiAs, world: World, mail_server_down: None, caplog: pytest.LogCaptureFixture
) -> None:
    answers = [
        api_as("admin").post(INVITATIONS, {"user": user}, format="json")
        for user in ("mallory", "nobody", "dave@example.com")
    ]

    assert [a.status_code for a in answers] == [202, 202, 202], answers[0].content
    assert Invitation.objects.count() == 3
    assert "Could not send the invitation email" in caplog.text


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside one rate-limit window, whatever the real time."""
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_000.0)


def test_invitation_mails_to_one_recipient_are_limited(
    api_as: ApiAs,
    world: World,
    settings: Settings,
    fixed_clock: None,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    settings.CSVHUB_INVITATION_MAIL_LIMIT = 2
    with django_capture_on_commit_callbacks(execute=True):
        answers = [_invite(api_as, user) for user in ("mallory", "MALLORY@example.com", "mallory")]
        _invite(api_as, "erin@example.com")  # someone else still gets theirs

    assert all(_shape(a) == _shape(answers[0]) for a in answers)
    assert [m.to for m in mail.outbox] == [["mallory@example.com"]] * 2 + [["erin@example.com"]]
    assert {i["organization_slug"] for i in _pending_for(world.mallory)} == {"acme"}  # unmailed


def test_invitation_mails_of_one_organization_are_limited(
    api_as: ApiAs,
    world: World,
    settings: Settings,
    fixed_clock: None,
    django_capture_on_commit_callbacks: CaptureOnCommit,
) -> None:
    settings.CSVHUB_INVITATION_MAIL_ORGANIZATION_LIMIT = 2
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(4):
            _invite(api_as, f"new{n}@example.com")

    assert len(mail.outbox) == 2
    assert Invitation.objects.count() == 4


def test_an_existing_user_is_told_by_email_where_to_answer(
    api_as: ApiAs, world: World, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _invite(api_as, "mallory", "editor")

    [message] = mail.outbox
    assert message.to == ["mallory@example.com"]
    assert "alice invited you to join Acme on csvhub as editor." in message.body
    assert "http://testserver/invitations/" in message.body
    assert "password-reset" not in message.body


def test_an_unknown_email_gets_an_account_and_a_link_to_choose_a_password(
    api_as: ApiAs, world: World, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _invite(api_as, "dave@example.com")

    dave = get_user_model().objects.get(email="dave@example.com")
    assert not dave.has_usable_password()
    assert not Membership.objects.filter(user=dave).exists()
    [message] = mail.outbox
    assert message.to == ["dave@example.com"]
    assert "http://testserver/password-reset/" in message.body
    assert "http://testserver/invitations/" in message.body


def test_a_newcomer_invited_again_before_choosing_a_password_gets_a_link_again(
    api_as: ApiAs, world: World, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _invite(api_as, "dave@example.com")
    Invitation.objects.all().delete()  # declined, revoked or expired: the admin invites again

    with django_capture_on_commit_callbacks(execute=True):
        _invite(api_as, "dave@example.com")

    assert len(mail.outbox) == 2
    assert "http://testserver/password-reset/" in mail.outbox[1].body
    assert "this link works for 72 hours" in mail.outbox[1].body  # PASSWORD_RESET_TIMEOUT


def test_a_newcomer_whose_link_expired_gets_one_by_password_reset(
    api_as: ApiAs, world: World, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _invite(api_as, "dave@example.com")

    response = Client().post("/password-reset/", {"email": "dave@example.com"})

    assert response.status_code == 302
    assert len(mail.outbox) == 2
    assert mail.outbox[1].to == ["dave@example.com"]
    assert "/password-reset/" in mail.outbox[1].body


def test_password_reset_sends_nothing_to_a_deactivated_newcomer(
    api_as: ApiAs, world: World
) -> None:
    _invite(api_as, "dave@example.com")
    get_user_model().objects.filter(email="dave@example.com").update(is_active=False)

    Client().post("/password-reset/", {"email": "dave@example.com"})

    assert mail.outbox == []


def test_invited_newcomer_chooses_a_password_signs_in_and_accepts_on_the_page(
    api_as: ApiAs,
    world: World,
    django_capture_on_commit_callbacks: CaptureOnCommit,
    project_urls: None,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _invite(api_as, "dave@example.com", "editor")
    link = next(line for line in mail.outbox[0].body.splitlines() if "password-reset" in line)
    browser = Client()
    form = browser.get(link.removeprefix("http://testserver"), follow=True)
    browser.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a long new passphrase", "new_password2": "a long new passphrase"},
    )
    assert browser.login(username="dave@example.com", password="a long new passphrase")

    home = browser.get("/", follow=True)  # no organization yet: sent to the invitations
    assert home.redirect_chain[-1][0] == "/invitations/"
    invitation = Invitation.objects.get(invited="dave@example.com")
    assert "Acme" in home.content.decode()
    joined = browser.post(f"/invitations/{invitation.id}/accept/", follow=True)

    assert joined.redirect_chain[0][0] == "/"
    assert "You joined Acme as editor." in joined.content.decode()
    dave = Membership.objects.get(user__email="dave@example.com", organization=world.acme)
    assert dave.role == Role.EDITOR


def test_declining_on_the_page_removes_the_invitation(
    api_as: ApiAs, world: World, project_urls: None
) -> None:
    invitation_id = _invite(api_as, "mallory")["id"]
    browser = Client()
    browser.force_login(world.mallory)

    assert "Acme" in browser.get("/invitations/").content.decode()
    browser.post(f"/invitations/{invitation_id}/decline/")

    assert not Invitation.objects.exists()
    assert not Membership.objects.filter(user=world.mallory, organization=world.acme).exists()


def test_inviting_a_member_is_a_400(api_as: ApiAs, world: World) -> None:
    for identifier in ("bob", "BOB@example.com"):
        response = api_as("admin").post(INVITATIONS, {"user": identifier}, format="json")

        assert response.status_code == 400
        assert response.json() == {
            "detail": "user: This user is already a member.",
            "errors": {"user": ["This user is already a member."]},
        }


def test_inviting_again_replaces_the_earlier_invitation(api_as: ApiAs, world: World) -> None:
    _invite(api_as, "mallory", "viewer")
    _invite(api_as, "MALLORY", "editor")
    _invite(api_as, "mallory", "admin")

    [pending] = _pending_for(world.mallory)
    assert pending["role"] == "admin"
    assert Invitation.objects.count() == 1  # one per identifier, whatever its case


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("", "This field may not be blank."),
        ("not an@email", "Enter a valid email address, or a username."),
        ("a" * 140 + "@example.com", "An email can have at most 150 characters here."),
    ],
)
def test_bad_identifiers_are_a_400_naming_the_problem(
    api_as: ApiAs, world: World, user: str, message: str
) -> None:
    response = api_as("admin").post(INVITATIONS, {"user": user}, format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": f"user: {message}", "errors": {"user": [message]}}
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("actor", ["viewer", "editor"])
def test_non_admins_cannot_invite_list_or_revoke(api_as: ApiAs, world: World, actor: str) -> None:
    invitation_id = _invite(api_as, "mallory")["id"]
    api = api_as(actor)

    assert api.get(INVITATIONS).status_code == 403
    assert api.post(INVITATIONS, {"user": "dave"}, format="json").status_code == 403
    assert api.delete(f"{INVITATIONS}{invitation_id}/").status_code == 403


# --- answering -----------------------------------------------------------------------------------


def test_accepting_makes_the_invited_user_a_member_with_the_role(
    api_as: ApiAs, world: World
) -> None:
    invitation_id = _invite(api_as, "mallory", "editor")["id"]

    response = _signed_in(world.mallory).post(f"{MINE}{invitation_id}/accept/")

    assert response.status_code == 200
    assert response.json()["slug"] == "acme" and response.json()["role"] == "editor"
    membership = Membership.objects.get(user=world.mallory, organization=world.acme)
    assert membership.role == Role.EDITOR
    assert not Invitation.objects.exists()
    assert "mallory" in api_as("admin").get(MEMBERS).content.decode()


def test_declining_leaves_no_membership_and_no_invitation(api_as: ApiAs, world: World) -> None:
    invitation_id = _invite(api_as, "mallory")["id"]

    assert _signed_in(world.mallory).post(f"{MINE}{invitation_id}/decline/").status_code == 204

    assert not Membership.objects.filter(user=world.mallory, organization=world.acme).exists()
    assert api_as("admin").get(INVITATIONS).json()["results"] == []


def test_someone_elses_invitation_is_a_404(api_as: ApiAs, world: World) -> None:
    invitation_id = _invite(api_as, "mallory")["id"]

    for answer in ("accept", "decline"):
        response = _signed_in(world.bob).post(f"{MINE}{invitation_id}/{answer}/")
        assert response.status_code == 404
    assert _pending_for(world.bob) == []
    assert Invitation.objects.filter(pk=invitation_id).exists()


def test_an_api_token_cannot_answer_invitations(api_as: ApiAs, world: World) -> None:
    invitation_id = _invite(api_as, "mallory")["id"]
    token = api_as("other_org")  # mallory's own token, for globex

    listing = token.get(MINE)
    accept = token.post(f"{MINE}{invitation_id}/accept/")

    assert listing.status_code == accept.status_code == 403
    assert "signed in" in accept.json()["detail"]
    assert not Membership.objects.filter(user=world.mallory, organization=world.acme).exists()


def test_a_revoked_invitation_can_no_longer_be_accepted(api_as: ApiAs, world: World) -> None:
    invitation_id = _invite(api_as, "mallory")["id"]

    assert api_as("admin").delete(f"{INVITATIONS}{invitation_id}/").status_code == 204

    assert _signed_in(world.mallory).post(f"{MINE}{invitation_id}/accept/").status_code == 404
    assert not Membership.objects.filter(user=world.mallory, organization=world.acme).exists()


def test_an_expired_invitation_can_no_longer_be_accepted(api_as: ApiAs, world: World) -> None:
    invitation_id = _invite(api_as, "mallory")["id"]
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert _pending_for(world.mallory) == []
    assert _signed_in(world.mallory).post(f"{MINE}{invitation_id}/accept/").status_code == 404
    assert api_as("admin").get(INVITATIONS).json()["results"] == []


def _carol_admin_too(world: World) -> APIClient:
    """carol becomes a second admin of acme, and acts signed in."""
    Membership.objects.filter(user=world.carol).update(role=Role.ADMIN)
    return _signed_in(world.carol)


@pytest.mark.parametrize("change", ["demote", "remove"])
def test_invitations_of_an_admin_who_is_no_longer_one_die_with_their_role(
    api_as: ApiAs, world: World, change: str
) -> None:
    alices = _invite(api_as, "mallory", "admin")["id"]
    carol = _carol_admin_too(world)
    carols = carol.post(INVITATIONS, {"user": "dave"}, format="json").json()["id"]
    alice = Membership.objects.get(user=world.alice, organization=world.acme)

    if change == "demote":
        response = carol.patch(f"{MEMBERS}{alice.pk}/", {"role": "viewer"}, format="json")
    else:
        response = carol.delete(f"{MEMBERS}{alice.pk}/")

    assert response.status_code in (200, 204), response.content
    assert _pending_for(world.mallory) == []
    assert _signed_in(world.mallory).post(f"{MINE}{alices}/accept/").status_code == 404
    assert not Membership.objects.filter(user=world.mallory, organization=world.acme).exists()
    assert [i["id"] for i in carol.get(INVITATIONS).json()["results"]] == [carols]


def test_changing_an_admins_role_to_admin_keeps_their_invitations(
    api_as: ApiAs, world: World
) -> None:
    _invite(api_as, "mallory")
    carol = _carol_admin_too(world)
    alice = Membership.objects.get(user=world.alice, organization=world.acme)

    assert carol.patch(f"{MEMBERS}{alice.pk}/", {"role": "admin"}, format="json").status_code == 200

    assert len(_pending_for(world.mallory)) == 1


@pytest.mark.parametrize("meanwhile", ["revoked", "expired"])
def test_accepting_an_invitation_read_before_it_was_revoked_or_expired_is_a_404(
    api_as: ApiAs, world: World, meanwhile: str
) -> None:
    """The page or API read the invitation, then the admin revoked it (or it expired) before
    the accepting transaction began."""
    invitation_id = _invite(api_as, "mallory", "admin")["id"]
    stale = invitation_received_get(user=world.mallory, invitation_id=UUID(invitation_id))
    if meanwhile == "revoked":
        api_as("admin").delete(f"{INVITATIONS}{invitation_id}/")
    else:
        Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(Http404, match="No such invitation"):
        invitation_accept(invitation=stale)

    assert not Membership.objects.filter(user=world.mallory, organization=world.acme).exists()


def test_another_organization_cannot_see_or_revoke_acmes_invitations(
    api_as: ApiAs, world: World
) -> None:
    invitation_id = _invite(api_as, "dave")["id"]
    api = api_as("other_org")

    assert api.delete(f"{INVITATIONS}{invitation_id}/").status_code == 404
    assert api.get(INVITATIONS).json()["results"] == []
    assert Invitation.objects.filter(pk=invitation_id).exists()


def test_an_invitation_to_nobody_can_never_be_accepted(api_as: ApiAs, world: World) -> None:
    _invite(api_as, "zed")
    zed = get_user_model().objects.create_user(username="zed", password=PASSWORD)

    assert _pending_for(zed) == []  # bound when made: a later account named zed is not invited


def test_the_navigation_shows_pending_invitations(
    api_as: ApiAs, world: World, project_urls: None
) -> None:
    browser = Client()
    browser.force_login(world.mallory)
    assert 'href="/invitations/"' not in browser.get("/").content.decode()

    _invite(api_as, "mallory")

    page = browser.get("/").content.decode()
    assert 'href="/invitations/"' in page
    assert '<span class="badge">1</span>' in page
