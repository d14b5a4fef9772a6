"""Routes of the accounts app (`logout/` is csvhub.sso's, which also ends a provider session).
The project urlconf includes, without a namespace (Django's
password reset views reverse these names unqualified):

    path("api/v1/", include(accounts_urls.api_urlpatterns)),
    path("", include(accounts_urls.page_urlpatterns)),
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, path

from csvhub.accounts import apis, pages

api_urlpatterns: list[URLPattern] = [
    path("organizations/", apis.OrganizationListApi.as_view(), name="api-organization-list"),
    path("tokens/", apis.TokenListCreateApi.as_view(), name="api-token-list"),
    path("tokens/<uuid:token_id>/", apis.TokenRevokeApi.as_view(), name="api-token-detail"),
    path("members/", apis.MemberListCreateApi.as_view(), name="api-member-list"),
    path(
        "members/<int:member_id>/", apis.MemberUpdateDeleteApi.as_view(), name="api-member-detail"
    ),
    path(
        "members/invitations/",
        apis.InvitationListCreateApi.as_view(),
        name="api-invitation-list",
    ),
    path(
        "members/invitations/<uuid:invitation_id>/",
        apis.InvitationRevokeApi.as_view(),
        name="api-invitation-detail",
    ),
    path(
        "invitations/",
        apis.ReceivedInvitationListApi.as_view(),
        name="api-received-invitation-list",
    ),
    path(
        "invitations/<uuid:invitation_id>/accept/",
        apis.ReceivedInvitationAcceptApi.as_view(),
        name="api-received-invitation-accept",
    ),
    path(
        "invitations/<uuid:invitation_id>/decline/",
        apis.ReceivedInvitationDeclineApi.as_view(),
        name="api-received-invitation-decline",
    ),
]

_RESET = "accounts/password_reset"

page_urlpatterns: list[URLPattern] = [
    path("login/", pages.LoginPage.as_view(), name="login"),
    path("account/password/", pages.PasswordChangePage.as_view(), name="password_change"),
    path("orgs/switch/", pages.organization_switch, name="organization-switch"),
    path("invitations/", pages.invitations, name="invitations"),
    path(
        "invitations/<uuid:invitation_id>/join/<str:token>/",
        pages.invitation_join,
        name="invitation-join",
    ),
    path(
        "invitations/<uuid:invitation_id>/<str:answer>/",
        pages.invitation_answer,
        name="invitation-answer",
    ),
    path(
        "password-reset/",
        pages.PasswordResetPage.as_view(
            template_name=f"{_RESET}_form.html",
            email_template_name=f"{_RESET}_email.txt",
            subject_template_name=f"{_RESET}_subject.txt",
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name=f"{_RESET}_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(template_name=f"{_RESET}_confirm.html"),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(template_name=f"{_RESET}_complete.html"),
        name="password_reset_complete",
    ),
]
