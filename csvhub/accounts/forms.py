"""Forms of the sign-in pages."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import User
from django.template import loader

from csvhub.mail import mail_send


class NewcomerPasswordResetForm(PasswordResetForm):
    """Django's reset form, which also serves active users without a usable password.

    Django leaves those out (their password may live elsewhere); in csvhub they are the
    newcomers an invitation created, and a reset is how they choose their first password once the
    link in the invitation has expired. Deactivated users still get nothing, and neither do
    accounts made by single sign-on: they sign in at their identity provider only, and a local
    password would outlive their removal there."""

    def get_users(self, email: str) -> Iterator[User]:
        user_model = get_user_model()
        field = user_model.get_email_field_name()
        active = user_model._default_manager.filter(
            **{f"{field}__iexact": email, "is_active": True}
        ).filter(sso_identity__isnull=True)
        return (u for u in active if _same_email(email, getattr(u, field)))

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        # Through csvhub's mail, so that the reset link is never cut by line wrapping.
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        html = (
            loader.render_to_string(html_email_template_name, context)
            if html_email_template_name
            else None
        )
        mail_send(
            subject=subject,
            body=loader.render_to_string(email_template_name, context),
            to=[to_email],
            html=html,
        )


def _same_email(a: str, b: str) -> bool:
    # As Django's own form compares, so that look-alike addresses never receive the link.
    return (
        unicodedata.normalize("NFKC", a).casefold() == unicodedata.normalize("NFKC", b).casefold()
    )
