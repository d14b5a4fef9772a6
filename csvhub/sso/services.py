"""Signing a provider's user in: claims → organizations and roles (the rules of OidcConfig),
the account that acts for them, and its memberships kept equal to what the claims say.

Used by the web sign-in (csvhub.sso.views) and by bearer JWTs (csvhub.sso.authentication), so
that both give a person exactly the same access.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from csvhub.accounts.models import Membership, Organization, Role
from csvhub.accounts.services import membership_delete, membership_update
from csvhub.sso.config import OidcConfig
from csvhub.sso.models import SsoIdentity

logger = logging.getLogger(__name__)


class NoAccess(Exception):
    """The provider's user may not use csvhub; the message says why, for the no-access page."""


@dataclass(frozen=True)
class Grants:
    """Organization slug → role, from the claims; only organizations that exist."""

    roles: dict[str, Role]


def grants_for(*, config: OidcConfig, claims: dict[str, object]) -> Grants:
    """The highest role per organization among the rules matching `claims`."""
    roles: dict[str, Role] = {}
    for rule in config.rules:
        if rule.matches(claims):
            role = Role(rule.role)
            if rule.organization not in roles or role.allows(roles[rule.organization]):
                roles[rule.organization] = role
    existing = set(Organization.objects.filter(slug__in=roles).values_list("slug", flat=True))
    for missing in sorted(set(roles) - existing):
        logger.warning(
            "CSVHUB_OIDC_ROLE_RULES names organization %r, which does not exist", missing
        )
    return Grants(roles={slug: role for slug, role in roles.items() if slug in existing})


def sso_user_sign_in(*, config: OidcConfig, claims: dict[str, object]) -> User:
    """The account of the provider's user, its memberships set from the claims. NoAccess when
    the claims give no role anywhere (no account is made then), or for an account that is an
    operator or deactivated: single sign-on never reaches /admin/."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise NoAccess("The identity provider sent no subject (sub claim).")
    grants = grants_for(config=config, claims=claims)
    identity = _identity_find(issuer=config.issuer, subject=subject)
    if identity is not None and _memberships_are(identity.user, grants):
        # The usual case for API calls: nothing to write, so no write transaction either.
        user = identity.user
        _account_guard(user)
    else:
        user = _account_update(config=config, subject=subject, claims=claims, grants=grants)
    if not grants.roles:
        raise NoAccess(_NO_ROLE)
    return user


def _identity_find(*, issuer: str, subject: str) -> SsoIdentity | None:
    return SsoIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()


def _memberships_are(user: User, grants: Grants) -> bool:
    held = Membership.objects.filter(user=user).values_list("organization__slug", "role")
    return dict(held) == {slug: role.value for slug, role in grants.roles.items()}


def _account_update(
    *, config: OidcConfig, subject: str, claims: dict[str, object], grants: Grants
) -> User:
    """Create the account (first sign-in with a role) and set its memberships, in one
    transaction; the identity row is locked so that two sign-ins at once apply in turn."""
    with transaction.atomic():
        identity = (
            SsoIdentity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=config.issuer, subject=subject)
            .first()
        )
        if identity is None and not grants.roles:
            raise NoAccess(_NO_ROLE)
        if identity is None:
            identity = _identity_create(issuer=config.issuer, subject=subject, claims=claims)
        _account_guard(identity.user)
        memberships_sync(user=identity.user, grants=grants)
    return identity.user


_NO_ROLE = (
    "Your account at the identity provider gives you no role in any organization of csvhub. "
    "Ask your administrator to add you to a csvhub group."
)


def _account_guard(user: User) -> None:
    if user.is_staff or user.is_superuser:
        raise NoAccess("Operators sign in with their password, never through single sign-on.")
    if not user.is_active:
        raise NoAccess("This account is deactivated.")


def _identity_create(*, issuer: str, subject: str, claims: dict[str, object]) -> SsoIdentity:
    email = claims.get("email") if claims.get("email_verified", True) is True else ""
    try:
        with transaction.atomic():
            user = get_user_model()._default_manager.create_user(
                username=_free_username(claims, subject),
                email=email if isinstance(email, str) else "",
            )
            # No password: such an account signs in through the provider only.
            user.set_unusable_password()
            user.save(update_fields=["password"])
            return SsoIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    except IntegrityError:
        # The same person's other first sign-in, a moment earlier, made the account.
        return SsoIdentity.objects.select_related("user").get(issuer=issuer, subject=subject)


def _free_username(claims: dict[str, object], subject: str) -> str:
    """The provider's username (else email, else subject), suffixed when a local account
    already has it: an SSO account never takes over a local one."""
    wanted = next(
        (
            v
            for v in (claims.get("preferred_username"), claims.get("email"))
            if isinstance(v, str) and v
        ),
        subject,
    )
    base = re.sub(r"[^\w.@+-]", "-", wanted)[:120] or "sso-user"
    users = get_user_model()._default_manager
    candidate, n = base, 1
    while users.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def memberships_sync(*, user: User, grants: Grants) -> None:
    """Make the user's memberships exactly `grants`: the provider is the source of truth for
    the accounts it made. Writes only what changed."""
    current = {
        m.organization.slug: m
        for m in Membership.objects.select_related("organization").filter(user=user)
    }
    for slug, role in grants.roles.items():
        membership = current.pop(slug, None)
        if membership is None:
            organization = Organization.objects.get(slug=slug)
            Membership.objects.create(user=user, organization=organization, role=role)
        elif membership.role != role:
            _membership_change(membership, role)
    for membership in current.values():
        _membership_change(membership, None)


def _membership_change(membership: Membership, role: Role | None) -> None:
    """Set the role (None: remove), through the same services as the UI. A change that would
    leave an organization without an admin is skipped and logged, as the UI refuses it."""
    try:
        if role is None:
            membership_delete(membership=membership)
        else:
            membership_update(membership=membership, role=role)
    except ValidationError as exc:
        logger.warning("single sign-on left %s unchanged: %s", membership, exc.messages[0])
