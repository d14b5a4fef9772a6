"""Writes: organizations, memberships, API tokens and the first admin."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from csvhub.accounts.models import ApiToken, Membership, Organization, Role
from csvhub.accounts.selectors import membership_role
from csvhub.accounts.tokens import token_generate


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


# --- memberships --------------------------------------------------------------------------------


def membership_create(
    *, organization: Organization, identifier: str, role: Role, base_url: str
) -> Membership:
    """Add a user, found by username or email, to `organization`.

    An email that matches no user invites them: a user is created without a password and is sent
    a link (built on `base_url`) to choose one.
    """
    with transaction.atomic():  # an invited user exists only if their membership does
        user = _user_for_invite(identifier=identifier.strip(), base_url=base_url)
        if Membership.objects.filter(organization=organization, user=user).exists():
            raise ValidationError({"user": f"{user.get_username()} is already a member."})
        return Membership.objects.create(organization=organization, user=user, role=role)


def _user_for_invite(*, identifier: str, base_url: str) -> User:
    if "@" not in identifier:
        user = _user_find(username=identifier)
        if user is None:
            raise ValidationError(
                {"user": f"No user is named {identifier!r}; invite them by email instead."}
            )
        return user
    users = list(get_user_model()._default_manager.filter(email__iexact=identifier)[:2])
    if len(users) > 1:
        raise ValidationError({"user": "Several users have this email; give a username."})
    return users[0] if users else _user_invite(email=identifier, base_url=base_url)


def _user_invite(*, email: str, base_url: str) -> User:
    user = get_user_model()(username=email, email=email)
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    transaction.on_commit(lambda: _invite_send(user=user, base_url=base_url))
    return user


def _invite_send(*, user: User, base_url: str) -> None:
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    body = render_to_string(
        "accounts/invite_email.txt", {"user": user, "url": base_url.rstrip("/") + path}
    )
    send_mail("You are invited to csvhub", body, None, [user.email])


def membership_update(*, membership: Membership, role: Role) -> Membership:
    with transaction.atomic():
        if role != Role.ADMIN:
            _last_admin_guard(membership=membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def membership_delete(*, membership: Membership) -> None:
    """Remove a member and revoke their tokens for that organization."""
    with transaction.atomic():
        _last_admin_guard(membership=membership)
        ApiToken.objects.filter(
            organization=membership.organization_id,
            user=membership.user_id,
            revoked_at__isnull=True,
        ).update(revoked_at=timezone.now())
        membership.delete()


def _last_admin_guard(*, membership: Membership) -> None:
    if membership.role != Role.ADMIN:
        return
    admins = Membership.objects.select_for_update().filter(
        organization=membership.organization_id, role=Role.ADMIN
    )
    if not [m for m in admins if m.pk != membership.pk]:
        raise ValidationError("An organization keeps at least one admin.")


# --- bootstrap ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminEnsured:
    organization: Organization
    user: User
    organization_created: bool
    user_created: bool
    role_before: Role | None  # None when the membership is new
    password: str | None  # generated for a new user; shown once


def admin_ensure(
    *, org_slug: str, username: str, email: str = "", password: str | None = None
) -> AdminEnsured:
    """Make sure `username` exists, is a superuser and an admin of `org_slug`; create what is
    missing. An existing user's password is never changed."""
    if password is not None:
        validate_password(password)
    with transaction.atomic():
        organization = Organization.objects.filter(slug=org_slug).first()
        organization_created = organization is None
        if organization is None:
            organization = organization_create(slug=org_slug)
        user = _user_find(username=username)
        user_created = user is None
        generated = None
        if user is None:
            generated = None if password else secrets.token_urlsafe(12)
            user = _superuser_create(username=username, email=email, password=password or generated)
        else:
            _superuser_promote(user=user)
        role_before = _admin_membership_ensure(user=user, organization=organization)
    return AdminEnsured(
        organization=organization,
        user=user,
        organization_created=organization_created,
        user_created=user_created,
        role_before=role_before,
        password=generated,
    )


def _user_find(*, username: str) -> User | None:
    user_model = get_user_model()
    return user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()


def _superuser_create(*, username: str, email: str, password: str | None) -> User:
    return get_user_model()._default_manager.create_superuser(
        username=username, email=email, password=password
    )


def _superuser_promote(*, user: User) -> None:
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


def ensure_first_admin(*, stdout: TextIO, sign_in_url: str = "/login/") -> None:
    """On a fresh install (no user at all), create organization `default` and user `admin` with a
    random password, and print how to sign in. Does nothing once any user exists."""
    if get_user_model()._default_manager.exists():
        return
    try:
        result = admin_ensure(org_slug="default", username="admin")
    except IntegrityError:  # another process bootstrapped at the same moment
        return
    stdout.write(
        "csvhub: created organization 'default' and its admin.\n"
        f"  Sign in at {sign_in_url} as 'admin' with password: {result.password}\n"
        "  This password is shown only once; change it after signing in.\n"
    )
