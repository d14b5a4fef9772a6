"""Reads: organizations, memberships and tokens, always scoped to what the caller may see."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from csvhub.accounts.models import ApiToken, Invitation, Membership, Organization, Role
from csvhub.accounts.token_lookup import token_read
from csvhub.accounts.tokens import token_digest


def organization_list(*, user: User | AnonymousUser) -> QuerySet[Organization]:
    """The organizations `user` is a member of, annotated with `role`."""
    if not user.is_authenticated:
        return Organization.objects.none()
    role = Membership.objects.filter(user=user, organization=OuterRef("pk")).values("role")[:1]
    return (
        Organization.objects.filter(memberships__user=user)
        .annotate(role=Subquery(role))
        .order_by("slug")
    )


def membership_find(*, user: User, slug: str) -> Membership | None:
    return (
        Membership.objects.select_related("organization")
        .filter(user=user, organization__slug=slug)
        .first()
    )


def membership_only(*, user: User) -> Membership | None:
    """The user's membership when they have exactly one, else None."""
    memberships = list(Membership.objects.select_related("organization").filter(user=user)[:2])
    return memberships[0] if len(memberships) == 1 else None


def membership_role(*, user: User, organization: Organization) -> Role | None:
    role = (
        Membership.objects.filter(user=user, organization=organization)
        .values_list("role", flat=True)
        .first()
    )
    return Role(role) if role else None


def membership_list(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.select_related("user").filter(organization=organization)


def membership_get(*, organization: Organization, membership_id: int) -> Membership:
    """404 for a membership of another organization, exactly like one that does not exist."""
    membership = membership_list(organization=organization).filter(pk=membership_id).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def invitation_list(*, organization: Organization) -> QuerySet[Invitation]:
    """The organization's invitations still waiting for an answer."""
    return Invitation.objects.select_related("invited_by", "user").filter(
        organization=organization, expires_at__gt=timezone.now()
    )


def invitation_get(*, organization: Organization, invitation_id: UUID) -> Invitation:
    invitation = invitation_list(organization=organization).filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def invitation_pending_find(*, invitation_id: UUID) -> Invitation | None:
    """Any organization's invitation still waiting (for a link that carries its own proof)."""
    return (
        Invitation.objects.select_related("user")
        .filter(pk=invitation_id, expires_at__gt=timezone.now())
        .first()
    )


def invitations_received(*, user: User) -> QuerySet[Invitation]:
    """The invitations `user` may still accept."""
    return Invitation.objects.select_related("organization", "invited_by").filter(
        user=user, expires_at__gt=timezone.now()
    )


def invitation_received_get(*, user: User, invitation_id: UUID) -> Invitation:
    """404 for someone else's invitation, exactly like one that does not exist."""
    invitation = invitations_received(user=user).filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation; it may have expired or been revoked.")
    return invitation


def token_list(*, organization: Organization, user: User, role: Role) -> QuerySet[ApiToken]:
    """Admins see every token of the organization; other members only their own."""
    tokens = ApiToken.objects.select_related("user").filter(organization=organization)
    if not role.allows(Role.ADMIN):
        tokens = tokens.filter(user=user)
    return tokens


def token_get(
    *, organization: Organization, user: User, role: Role, token_id: UUID | str
) -> ApiToken:
    token = token_list(organization=organization, user=user, role=role).filter(pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    return token


def token_find(*, text: str) -> ApiToken | None:
    """The token whose secret is `text`, with its user and organization loaded and
    `owner_role` set (None when the owner left the organization).

    Every API request calls this, so it is a prepared read (csvhub.prepared), not an ORM query.
    It reads the token afresh on every request, so revocation, expiry and the owner's removal
    take effect on the next one."""
    return token_read(secret_hash=token_digest(text))
