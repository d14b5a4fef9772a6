"""Writes: organizations, invitations, memberships, API tokens, organization admins and
operators."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from csvhub.accounts import ratelimit
from csvhub.accounts.models import ApiToken, Invitation, Membership, Organization, Role
from csvhub.accounts.selectors import membership_role
from csvhub.accounts.tokens import token_generate
from csvhub.mail import mail_send

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    text: str  # shown once, never stored


def organization_create(*, slug: str, name: str = "") -> Organization:
    organization = Organization(slug=slug, name=name or slug)
    organization.full_clean()
    organization.save()
    return organization


# --- API tokens ---------------------------------------------------------------------------------


def token_create(
    *,
    organization: Organization,
    user: User,
    name: str,
    role: Role,
    expires_at: datetime | None = None,
    acting_role: Role | None = None,
) -> CreatedToken:
    """A new token for `user` in `organization`.

    Its role may not exceed the user's role there, nor `acting_role` (the role of the request
    creating it, which is lower when a token creates a token).
    """
    ceiling = _token_ceiling(organization=organization, user=user, acting_role=acting_role)
    if not ceiling.allows(role):
        raise ValidationError(
            {"role": f"A token's role can be at most your own role here ({ceiling.value})."}
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must lie in the future."})
    new = token_generate()
    token = ApiToken.objects.create(
        name=name,
        organization=organization,
        user=user,
        role=role,
        prefix=new.prefix,
        secret_hash=new.digest,
        expires_at=expires_at,
    )
    return CreatedToken(token=token, text=new.text)


def _token_ceiling(*, organization: Organization, user: User, acting_role: Role | None) -> Role:
    own = membership_role(user=user, organization=organization)
    if own is None:
        raise ValidationError("Only members of an organization can create tokens for it.")
    return Role.lowest(own, acting_role) if acting_role else own


def token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke now; idempotent (a revoked token keeps its first revocation time)."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token


def token_touch(*, token: ApiToken, now: datetime, every_seconds: int = 60) -> None:
    """Record use, writing at most once per `every_seconds` per token."""
    last = token.last_used_at
    if last is not None and (now - last).total_seconds() < every_seconds:
        return
    # Conditional so that concurrent requests of the same minute write once.
    ApiToken.objects.filter(pk=token.pk, last_used_at=last).update(last_used_at=now)
    token.last_used_at = now


# --- invitations --------------------------------------------------------------------------------
#
# Joining an organization needs the invited user's consent: an admin invites, the user accepts.
# Whatever the admin typed, the answer and what they can list afterwards are the same whether
# or not it names an account, and nothing of the account (its email, its username) is shown.


def invitation_create(
    *, organization: Organization, identifier: str, role: Role, invited_by: User, base_url: str
) -> Invitation:
    """Invite whoever `identifier` (a username or an email) names to `organization`.

    An existing account is sent an email (when it has an address) saying where to accept. An
    email that matches no account gets a new account without a password and a link to choose
    one. Inviting the same identifier again replaces the earlier invitation."""
    identifier = identifier.strip()
    _identifier_check(identifier)  # before any lookup, so a refusal never depends on one
    with transaction.atomic():
        _member_guard(organization=organization, identifier=identifier)
        user = _invitee(identifier=identifier)
        invitation = _invitation_upsert(
            organization=organization,
            identifier=identifier,
            user=user,
            role=role,
            invited_by=invited_by,
        )
        if user is not None and user.email:
            transaction.on_commit(
                lambda: _invitation_mail(invitation=invitation, user=user, base_url=base_url)
            )
    return invitation


def _identifier_check(identifier: str) -> None:
    if "@" not in identifier:
        return
    longest = get_user_model()._meta.get_field("username").max_length
    try:
        validate_email(identifier)
    except ValidationError:
        raise ValidationError({"user": "Enter a valid email address, or a username."}) from None
    if longest is not None and len(identifier) > longest:
        raise ValidationError({"user": f"An email can have at most {longest} characters here."})


def _member_guard(*, organization: Organization, identifier: str) -> None:
    """400 for someone who is already a member: the admin sees members' usernames and emails
    in the member list anyway, so saying so reveals nothing."""
    names = models.Q(user__username=identifier)
    if "@" in identifier:
        names |= models.Q(user__email__iexact=identifier)
    if Membership.objects.filter(names, organization=organization).exists():
        raise ValidationError({"user": "This user is already a member."})


def _invitee(*, identifier: str) -> User | None:
    """The account `identifier` names, or None; an unknown email gets a new account."""
    if "@" not in identifier:
        return _user_find(username=identifier)
    users = list(get_user_model()._default_manager.filter(email__iexact=identifier)[:2])
    if len(users) > 1:
        logger.warning("Invitation to an email shared by several accounts; nobody can accept it.")
        return None
    user = users[0] if users else _user_find(username=identifier)
    return user if user is not None else _user_passwordless_create(email=identifier)


def _user_passwordless_create(*, email: str) -> User:
    user = get_user_model()(username=_username_for(email), email=email)
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


def _username_for(email: str) -> str:
    """The email itself when it is a valid username (the usual case, easy to remember), else one
    made of its allowed characters and a random suffix: an email such as a!b@example.com must
    get an account like any other, or the error would tell the admin that no account has it.
    The invitation email tells the newcomer their username."""
    field = get_user_model()._meta.get_field("username")
    try:
        field.run_validators(email)
    except ValidationError:
        pass
    else:
        return email
    suffix = "-" + secrets.token_hex(4)
    kept = re.sub(r"[^\w.@+-]", "", email.partition("@")[0], flags=re.ASCII) or "user"
    return kept[: (field.max_length or 150) - len(suffix)] + suffix


def _invitation_upsert(
    *,
    organization: Organization,
    identifier: str,
    user: User | None,
    role: Role,
    invited_by: User,
) -> Invitation:
    now = timezone.now()
    Invitation.objects.filter(organization=organization, expires_at__lte=now).delete()
    Invitation.objects.filter(organization=organization, invited__iexact=identifier).delete()
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin must not break the caller's
            return Invitation.objects.create(
                organization=organization,
                invited=identifier,
                user=user,
                role=role,
                invited_by=invited_by,
                expires_at=now + timedelta(days=settings.CSVHUB_INVITATION_DAYS),
            )
    except IntegrityError:
        raise ValidationError({"user": "This was just invited by someone else."}) from None


def _invitation_mail(*, invitation: Invitation, user: User, base_url: str) -> None:
    try:
        _invitation_send(invitation=invitation, user=user, base_url=base_url)
    except Exception:
        # Like Django's PasswordResetForm: log and carry on. Raising here (after the commit)
        # would answer 500 only for invitees who have an address, telling the admin that
        # an account exists; the invitation stands and the user also finds it on /invitations/.
        logger.exception("Could not send the invitation email (invitation %s).", invitation.pk)


def _invitation_send(*, invitation: Invitation, user: User, base_url: str) -> None:
    """Mail `user`, the account `invitation` named."""
    wait = ratelimit.attempt_record(
        (ratelimit.invitation_mail_recipient_limit(), user.email.lower()),
        (ratelimit.invitation_mail_organization_limit(), str(invitation.organization_id)),
    )
    if wait is not None:
        # Skipped quietly: the answer must not differ from an invitation to nobody, and the
        # invitation still waits on the user's /invitations/ page.
        logger.info("Invitation mail not sent (too many; invitation %s).", invitation.pk)
        return
    # Whoever has no password yet (new, or invited before and never chose one) gets a link to
    # choose one, valid PASSWORD_RESET_TIMEOUT seconds (the invitation may last longer).
    needs_password = not user.has_usable_password()
    context = {
        "user": user,
        "invitation": invitation,
        "inviter": invitation.invited_by.get_username() if invitation.invited_by else "An admin",
        "invitations_url": base_url.rstrip("/") + reverse("invitations"),
        "password_url": base_url.rstrip("/") + _password_path(user) if needs_password else None,
        "password_link_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    }
    body = render_to_string("accounts/invite_email.txt", context)
    subject = f"You are invited to {invitation.organization.name} on csvhub"
    mail_send(subject=subject, body=body, to=[user.email])


def invitation_link(*, invitation: Invitation, base_url: str) -> str:
    """The invitation as a link the admin can pass on when csvhub sends no mail (the console
    mailer). One shape for every invitation, so the link tells nothing about who has an
    account; followed, it leads a newcomer to choose a password (as the mail would) and anyone
    else to sign in and answer on /invitations/ (csvhub.accounts.pages.invitation_join)."""
    user = invitation.user
    token = default_token_generator.make_token(user) if user else secrets.token_urlsafe(20)
    path = reverse("invitation-join", kwargs={"invitation_id": invitation.pk, "token": token})
    return base_url.rstrip("/") + path


def invitation_join_target(*, invitation: Invitation | None, token: str) -> str:
    """Where an invitation link leads: the newcomer's password page while the token is good,
    else sign-in, then the invitations page."""
    user = invitation.user if invitation else None
    fresh = user is not None and not user.has_usable_password()
    if fresh and user is not None and default_token_generator.check_token(user, token):
        return _password_path(user)
    return f"{reverse('login')}?next={reverse('invitations')}"


def _password_path(user: User) -> str:
    return reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )


def invitation_revoke(*, invitation: Invitation) -> None:
    invitation.delete()


def invitation_accept(*, invitation: Invitation) -> Membership:
    """Make the invited user a member with the invitation's role (a member already keeps their
    role), and drop every invitation of theirs to that organization.

    `invitation` was read before this transaction; it is read again, locked, so that one revoked,
    replaced or expired meanwhile (or its inviter demoted) is refused with 404."""
    if invitation.user_id is None:  # it named no account: never accepted, it simply expires
        raise Http404("No such invitation.")
    with transaction.atomic():
        current = (
            Invitation.objects.select_for_update()
            .filter(pk=invitation.pk, user=invitation.user_id, expires_at__gt=timezone.now())
            .first()
        )
        if current is None:
            raise Http404("No such invitation.")
        membership, _ = Membership.objects.get_or_create(
            user_id=invitation.user_id,  # the same: current was found by it
            organization_id=current.organization_id,
            defaults={"role": current.role},
        )
        Invitation.objects.filter(
            user=current.user_id, organization=current.organization_id
        ).delete()
    return membership


def invitation_decline(*, invitation: Invitation) -> None:
    invitation.delete()


# --- memberships --------------------------------------------------------------------------------


def membership_update(*, membership: Membership, role: Role) -> Membership:
    """Change a member's role; an admin who is no longer one loses their pending invitations."""
    with transaction.atomic():
        if role != Role.ADMIN:
            _last_admin_guard(membership=membership)
            _invitations_issued_delete(membership=membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def membership_delete(*, membership: Membership) -> None:
    """Remove a member, revoke their tokens for that organization and delete the invitations
    they issued there."""
    with transaction.atomic():
        _last_admin_guard(membership=membership)
        ApiToken.objects.filter(
            organization=membership.organization_id,
            user=membership.user_id,
            revoked_at__isnull=True,
        ).update(revoked_at=timezone.now())
        _invitations_issued_delete(membership=membership)
        membership.delete()


def _invitations_issued_delete(*, membership: Membership) -> None:
    """An invitation carries its inviter's authority: once they are no longer an admin of the
    organization, nobody may still join through it (an admin removed for abuse could otherwise
    have left invitations for accomplices behind)."""
    Invitation.objects.filter(
        organization=membership.organization_id, invited_by=membership.user_id
    ).delete()


def _last_admin_guard(*, membership: Membership) -> None:
    if membership.role != Role.ADMIN:
        return
    admins = Membership.objects.select_for_update().filter(
        organization=membership.organization_id, role=Role.ADMIN
    )
    if not [m for m in admins if m.pk != membership.pk]:
        raise ValidationError("An organization keeps at least one admin.")


# --- bootstrap: organization admins and operators ----------------------------------------------
#
# Two kinds of people administer csvhub. An organization admin manages one organization's
# members and data through the UI and API; they are not staff and cannot open /admin/, so they
# can never reach another organization. An operator runs the installation: a Django superuser,
# created only by `csvhub createoperator`, who can reach everything.


@dataclass(frozen=True)
class AdminEnsured:
    organization: Organization
    user: User
    organization_created: bool
    user_created: bool
    role_before: Role | None  # None when the membership is new
    password: str | None  # generated for a new user; shown once


@dataclass(frozen=True)
class OperatorEnsured:
    user: User
    user_created: bool
    was_operator: bool
    password: str | None  # generated for a new user; shown once


def admin_ensure(
    *, org_slug: str, username: str, email: str = "", password: str | None = None
) -> AdminEnsured:
    """Make sure `username` exists and is an admin of `org_slug`; create what is missing.

    The admin is not made staff or superuser (an existing user keeps the flags they have). An
    existing user's password is never changed."""
    if password is not None:
        _password_check(password=password, username=username, email=email)
    with transaction.atomic():
        organization = Organization.objects.filter(slug=org_slug).first()
        organization_created = organization is None
        if organization is None:
            organization = organization_create(slug=org_slug)
        user, created, generated = _user_ensure(username=username, email=email, password=password)
        role_before = _admin_membership_ensure(user=user, organization=organization)
    return AdminEnsured(
        organization=organization,
        user=user,
        organization_created=organization_created,
        user_created=created,
        role_before=role_before,
        password=generated,
    )


def operator_ensure(
    *, username: str, email: str = "", password: str | None = None
) -> OperatorEnsured:
    """Make sure `username` exists and is an operator (a Django superuser, with /admin/).

    Being an operator gives no membership: an operator reads an organization's data in the UI
    or API only once they are a member. An existing user's password is never changed."""
    if password is not None:
        _password_check(password=password, username=username, email=email)
    with transaction.atomic():
        user, created, generated = _user_ensure(username=username, email=email, password=password)
        was_operator = user.is_staff and user.is_superuser
        _operator_promote(user=user)
    return OperatorEnsured(
        user=user, user_created=created, was_operator=was_operator, password=generated
    )


def _password_check(*, password: str, username: str, email: str) -> None:
    # An unsaved user, so that the validators can compare the password with its name and email.
    validate_password(password, user=get_user_model()(username=username, email=email))


def _user_ensure(
    *, username: str, email: str, password: str | None
) -> tuple[User, bool, str | None]:
    """The user named `username`, created if missing: (user, created, generated password)."""
    user = _user_find(username=username)
    if user is not None:
        return user, False, None
    generated = None if password else secrets.token_urlsafe(12)
    user = get_user_model()._default_manager.create_user(
        username=username, email=email, password=password or generated
    )
    return user, True, generated


def _user_find(*, username: str) -> User | None:
    user_model = get_user_model()
    return user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()


def _operator_promote(*, user: User) -> None:
    if not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])


def _admin_membership_ensure(*, user: User, organization: Organization) -> Role | None:
    """Make `user` an admin of `organization`; return the role they had, None if not a member."""
    membership, created = Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"role": Role.ADMIN}
    )
    if created:
        return None
    role_before = Role(membership.role)
    if role_before != Role.ADMIN:
        membership.role = Role.ADMIN
        membership.save(update_fields=["role"])
    return role_before


def operator_demote(*, username: str) -> bool:
    """Take away the operator flags (staff, superuser) of `username`; memberships are kept.
    Returns whether the user was staff or superuser. ValidationError for an unknown user."""
    user = _user_find(username=username)
    if user is None:
        raise ValidationError(f"No user {username!r}.")
    was = user.is_staff or user.is_superuser
    if was:
        user.is_staff = user.is_superuser = False
        user.save(update_fields=["is_staff", "is_superuser"])
    return was


def ensure_first_admin(*, stdout: SupportsWrite[str], sign_in_url: str = "/login/") -> None:
    """On a fresh install (no user at all), create organization `default` and its admin `admin`
    with a random password, and print how to sign in. Does nothing once any user exists.

    `admin` is an organization admin only, not an operator: operators are created explicitly,
    by `csvhub createoperator`, which the message says."""
    if get_user_model()._default_manager.exists():
        return
    try:
        result = admin_ensure(org_slug="default", username="admin")
    except IntegrityError:  # another process bootstrapped at the same moment
        return
    stdout.write(
        "csvhub: created organization 'default' and its admin 'admin'.\n"
        f"  Sign in at {sign_in_url} as 'admin' with password: {result.password}\n"
        "  This password is shown only once; change it after signing in (account menu, Change\n"
        "  password). Lost it? `csvhub changepassword admin` sets a new one from this machine.\n"
        "  The Django admin at /admin/ is for operators of the installation only; create one with\n"
        "  `csvhub createoperator --username USERNAME`.\n"
    )
