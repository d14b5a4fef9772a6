"""The accounts API: organizations, API tokens, members and invitations. Views only translate
HTTP; the rules live in services (writes) and selectors (reads)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from csvhub.accounts.access import request_access, request_user
from csvhub.accounts.models import ApiToken, Invitation, Membership, Organization, Role
from csvhub.accounts.permissions import CanAdmin, CanView
from csvhub.accounts.schema import ORGANIZATION_PARAMETERS, SchemaParameter
from csvhub.accounts.selectors import (
    invitation_get,
    invitation_list,
    invitation_received_get,
    invitations_received,
    membership_get,
    membership_list,
    organization_list,
    token_get,
    token_list,
)
from csvhub.accounts.services import (
    invitation_accept,
    invitation_create,
    invitation_decline,
    invitation_link,
    invitation_revoke,
    membership_delete,
    membership_update,
    token_create,
    token_revoke,
)
from csvhub.api import TextField
from csvhub.mail import mail_goes_nowhere


class _Api(APIView):
    """Turns the services' Django ValidationErrors into DRF 400s."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, DjangoValidationError):
            exc = ValidationError(serializers.as_serializer_error(exc))
        return super().handle_exception(exc)


class _PageQuery(serializers.Serializer[dict[str, Any]]):
    """The query parameters of a cursor page: documented and validated by this one class."""

    cursor = serializers.CharField(
        required=False, allow_blank=True, help_text="From `next` or `previous`."
    )
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=500, help_text="1 to 500; default 100."
    )


class _Pages(CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"

    def __init__(self, ordering: str) -> None:
        self.ordering = ordering

    def get_page_size(self, request: Request) -> int:
        # DRF falls back to the default on a bad page_size; the schema promises a 400 instead.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        page_size: int = _valid(_PageQuery, {"page_size": raw})["page_size"]
        return page_size

    def respond(
        self,
        request: Request,
        view: APIView,
        items: QuerySet[Any],
        output: type[serializers.BaseSerializer[Any]],
    ) -> Response:
        page = self.paginate_queryset(items, request, view=view)
        data = output(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)


_PAGE_PARAMETERS: list[SchemaParameter] = [_PageQuery]


def _page_of(
    name: str, output: type[serializers.Serializer[Any]]
) -> type[serializers.Serializer[Any]]:
    """A serializer documenting one cursor page of `output`."""
    fields = {
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": output(many=True),
    }
    return type(name, (serializers.Serializer,), fields)


# --- organizations ------------------------------------------------------------------------------


class OrganizationListApi(_Api):
    """The caller's organizations (for a token: only its own)."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="OrganizationOutput")
    class OutputSerializer(serializers.Serializer[Organization | dict[str, Any]]):
        """An organization annotated with the caller's role, or the same as a dict."""

        id = serializers.UUIDField()
        slug = serializers.SlugField()
        name = serializers.CharField()
        role = serializers.ChoiceField(choices=Role.choices)

    @extend_schema(
        operation_id="organizations_list",
        tags=["organizations"],
        parameters=_PAGE_PARAMETERS,
        responses=_page_of("OrganizationPage", OutputSerializer),
    )
    def get(self, request: Request) -> Response:
        organizations = organization_list(user=request_user(request))
        if isinstance(request.auth, ApiToken):
            organizations = organizations.filter(pk=request.auth.organization_id)
        return _Pages("slug").respond(request, self, organizations, self.OutputSerializer)


# --- API tokens ---------------------------------------------------------------------------------


class TokenOutputSerializer(serializers.Serializer[ApiToken]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="Shown as csvhub_<prefix>_… to tell tokens apart.")
    role = serializers.ChoiceField(choices=Role.choices)
    user = serializers.CharField(source="user.get_username", help_text="Who created it.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    state = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ChoiceField(choices=["active", "expired", "revoked"]))
    def get_state(self, token: ApiToken) -> str:
        return token.state(now=timezone.now())


class TokenCreatedSerializer(TokenOutputSerializer):
    token = serializers.CharField(help_text="The secret. Shown only in this response.")


class TokenListCreateApi(_Api):
    """Admins list every token of the organization; other members only their own."""

    permission_classes = [CanView]

    @extend_schema_serializer(component_name="TokenCreateInput")
    class InputSerializer(serializers.Serializer[dict[str, Any]]):
        name = TextField(max_length=100)
        role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)
        expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    @extend_schema(
        operation_id="tokens_list",
        tags=["tokens"],
        parameters=ORGANIZATION_PARAMETERS + _PAGE_PARAMETERS,
        responses=_page_of("TokenPage", TokenOutputSerializer),
    )
    def get(self, request: Request) -> Response:
        access = request_access(request)
        tokens = token_list(
            organization=access.organization, user=request_user(request), role=access.role
        )
        return _Pages("-created_at").respond(request, self, tokens, TokenOutputSerializer)

    @extend_schema(
        operation_id="tokens_create",
        tags=["tokens"],
        parameters=ORGANIZATION_PARAMETERS,
        request=InputSerializer,
        responses={201: TokenCreatedSerializer},
    )
    def post(self, request: Request) -> Response:
        data = _valid(self.InputSerializer, request.data)
        access = request_access(request)
        created = token_create(
            organization=access.organization,
            user=request_user(request),
            name=data["name"],
            role=Role(data["role"]),
            expires_at=data["expires_at"],
            acting_role=access.role,
        )
        body = TokenOutputSerializer(created.token).data | {"token": created.text}
        return Response(body, status=status.HTTP_201_CREATED)


class TokenRevokeApi(_Api):
    """Revoke a token; it stops working on the next request."""

    permission_classes = [CanView]

    @extend_schema(
        operation_id="tokens_revoke",
        tags=["tokens"],
        parameters=ORGANIZATION_PARAMETERS,
        responses={204: None},
    )
    def delete(self, request: Request, token_id: str) -> Response:
        access = request_access(request)
        token = token_get(
            organization=access.organization,
            user=request_user(request),
            role=access.role,
            token_id=token_id,
        )
        token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- members ------------------------------------------------------------------------------------


class MemberOutputSerializer(serializers.Serializer[Membership]):
    id = serializers.IntegerField()
    username = serializers.CharField(source="user.get_username")
    email = serializers.EmailField(source="user.email")
    role = serializers.ChoiceField(choices=Role.choices)
    created_at = serializers.DateTimeField()


class InvitationOutputSerializer(serializers.Serializer[Invitation]):
    id = serializers.UUIDField()
    invited = serializers.CharField(help_text="The username or email as the admin typed it.")
    role = serializers.ChoiceField(choices=Role.choices)
    invited_by = serializers.CharField(source="invited_by.get_username", allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    link = serializers.SerializerMethodField(
        help_text="With the console mailer only (csvhub sends no mail): a link to pass on to "
        "the invited person, the way in the mail would have been. Null otherwise."
    )

    def get_link(self, invitation: Invitation) -> str | None:
        request = self.context.get("request")
        if request is None or not mail_goes_nowhere():
            return None
        return invitation_link(invitation=invitation, base_url=request.build_absolute_uri("/"))


class InvitationCreatedSerializer(InvitationOutputSerializer):
    detail = serializers.CharField()


class InvitationCreateInput(serializers.Serializer[dict[str, Any]]):
    user = TextField(
        max_length=254,
        help_text="Username or email of the person to invite. The answer is the same whether "
        "or not it names an account; an email with no account yet gets one, and a link to "
        "choose its password.",
    )
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)


def _invite(request: Request) -> Response:
    """Shared by POST members/ (kept for existing clients) and POST members/invitations/."""
    data = _valid(InvitationCreateInput, request.data)
    invitation = invitation_create(
        organization=request_access(request).organization,
        identifier=data["user"],
        role=Role(data["role"]),
        invited_by=request_user(request),
        base_url=request.build_absolute_uri("/"),
    )
    detail = (
        "If this names a user, they are invited; they become a member when they accept. "
        "An email address without an account gets one, with a link to choose a password."
    )
    body = InvitationOutputSerializer(invitation, context={"request": request}).data | {
        "detail": detail
    }
    return Response(body, status=status.HTTP_202_ACCEPTED)


class MemberListCreateApi(_Api):
    """Admins list the organization's members and invite people (see members/invitations/)."""

    permission_classes = [CanAdmin]

    @extend_schema(
        operation_id="members_list",
        tags=["members"],
        parameters=ORGANIZATION_PARAMETERS + _PAGE_PARAMETERS,
        responses=_page_of("MemberPage", MemberOutputSerializer),
    )
    def get(self, request: Request) -> Response:
        members = membership_list(organization=request_access(request).organization)
        return _Pages("id").respond(request, self, members, MemberOutputSerializer)

    @extend_schema(
        operation_id="members_create",
        tags=["members"],
        parameters=ORGANIZATION_PARAMETERS,
        request=InvitationCreateInput,
        responses={202: InvitationCreatedSerializer},
        description="Invites, exactly like POST /api/v1/members/invitations/: nobody becomes "
        "a member without accepting.",
    )
    def post(self, request: Request) -> Response:
        return _invite(request)


class InvitationListCreateApi(_Api):
    """Admins invite people and list the invitations still waiting for an answer."""

    permission_classes = [CanAdmin]

    @extend_schema(
        operation_id="invitations_list",
        tags=["members"],
        parameters=ORGANIZATION_PARAMETERS + _PAGE_PARAMETERS,
        responses=_page_of("InvitationPage", InvitationOutputSerializer),
    )
    def get(self, request: Request) -> Response:
        invitations = invitation_list(organization=request_access(request).organization)
        return _Pages("-created_at").respond(request, self, invitations, InvitationOutputSerializer)

    @extend_schema(
        operation_id="invitations_create",
        tags=["members"],
        parameters=ORGANIZATION_PARAMETERS,
        request=InvitationCreateInput,
        responses={202: InvitationCreatedSerializer},
    )
    def post(self, request: Request) -> Response:
        return _invite(request)


class InvitationRevokeApi(_Api):
    """Admins withdraw an invitation that has not been answered yet."""

    permission_classes = [CanAdmin]

    @extend_schema(
        operation_id="invitations_revoke",
        tags=["members"],
        parameters=ORGANIZATION_PARAMETERS,
        responses={204: None},
    )
    def delete(self, request: Request, invitation_id: UUID) -> Response:
        organization = request_access(request).organization
        invitation_revoke(
            invitation=invitation_get(organization=organization, invitation_id=invitation_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- invitations received -----------------------------------------------------------------------


class SignedInPerson(IsAuthenticated):
    """Joining an organization is the person's own decision: a signed-in session, not an API
    token (a token acts for its user in its own organization only)."""

    message = "Answer invitations signed in (a session), not with an API token."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return super().has_permission(request, view) and not isinstance(request.auth, ApiToken)


class ReceivedInvitationOutputSerializer(serializers.Serializer[Invitation]):
    id = serializers.UUIDField()
    organization = serializers.CharField(source="organization.name")
    organization_slug = serializers.SlugField(source="organization.slug")
    role = serializers.ChoiceField(choices=Role.choices)
    invited_by = serializers.CharField(source="invited_by.get_username", allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class ReceivedInvitationListApi(_Api):
    """The signed-in user's invitations waiting for their answer."""

    permission_classes = [SignedInPerson]

    @extend_schema(
        operation_id="my_invitations_list",
        tags=["invitations"],
        parameters=_PAGE_PARAMETERS,
        responses=_page_of("ReceivedInvitationPage", ReceivedInvitationOutputSerializer),
    )
    def get(self, request: Request) -> Response:
        invitations = invitations_received(user=request_user(request))
        return _Pages("-created_at").respond(
            request, self, invitations, ReceivedInvitationOutputSerializer
        )


class ReceivedInvitationAcceptApi(_Api):
    """Accept: become a member with the invitation's role."""

    permission_classes = [SignedInPerson]

    @extend_schema(
        operation_id="my_invitations_accept",
        tags=["invitations"],
        request=None,
        responses={200: OrganizationListApi.OutputSerializer},
    )
    def post(self, request: Request, invitation_id: UUID) -> Response:
        invitation = invitation_received_get(
            user=request_user(request), invitation_id=invitation_id
        )
        membership = invitation_accept(invitation=invitation)
        organization = membership.organization
        body = {
            "id": organization.id,
            "slug": organization.slug,
            "name": organization.name,
            "role": membership.role,
        }
        return Response(OrganizationListApi.OutputSerializer(body).data)


class ReceivedInvitationDeclineApi(_Api):
    """Decline: the invitation is gone and the admin sees it no longer."""

    permission_classes = [SignedInPerson]

    @extend_schema(
        operation_id="my_invitations_decline",
        tags=["invitations"],
        request=None,
        responses={204: None},
    )
    def post(self, request: Request, invitation_id: UUID) -> Response:
        invitation = invitation_received_get(
            user=request_user(request), invitation_id=invitation_id
        )
        invitation_decline(invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberUpdateDeleteApi(_Api):
    """Admins change a member's role or remove them (which revokes their tokens here). The
    last admin can be neither demoted nor removed."""

    permission_classes = [CanAdmin]

    @extend_schema_serializer(component_name="MemberUpdateInput")
    class InputSerializer(serializers.Serializer[dict[str, Any]]):
        role = serializers.ChoiceField(choices=Role.choices)

    @extend_schema(
        operation_id="members_update",
        tags=["members"],
        parameters=ORGANIZATION_PARAMETERS,
        request=InputSerializer,
        responses=MemberOutputSerializer,
    )
    def patch(self, request: Request, member_id: int) -> Response:
        data = _valid(self.InputSerializer, request.data)
        membership = self._membership(request, member_id)
        membership = membership_update(membership=membership, role=Role(data["role"]))
        return Response(MemberOutputSerializer(membership).data)

    @extend_schema(
        operation_id="members_remove",
        tags=["members"],
        parameters=ORGANIZATION_PARAMETERS,
        responses={204: None},
    )
    def delete(self, request: Request, member_id: int) -> Response:
        membership_delete(membership=self._membership(request, member_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _membership(self, request: Request, member_id: int) -> Membership:
        organization = request_access(request).organization
        return membership_get(organization=organization, membership_id=member_id)


def _valid(
    serializer_class: type[serializers.Serializer[dict[str, Any]]], data: object
) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
