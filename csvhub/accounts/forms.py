"""Forms of the sign-in pages."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import User


class NewcomerPasswordResetForm(PasswordResetForm):
    """Django's reset form, which also serves active users without a usable password.

    Django leaves those out (their password may live elsewhere); in csvhub they are the
    newcomers an invitation created, and a reset is how they choose their first password once the
    link in the invitation has expired. Deactivated users still get nothing."""

    def get_users(self, email: str) -> Iterator[User]:
        user_model = get_user_model()
        field = user_model.get_email_field_name()
        active = user_model._default_manager.filter(
            **{f"{field}__iexact": email, "is_active": True}
        )
        return (u for u in active if _same_email(email, getattr(u, field)))


def _same_email(a: str, b: str) -> bool:
    # As Django's own form compares, so that look-alike addresses never receive the link.
    return (
        unicodedata.normalize("NFKC", a).casefold() == unicodedata.normalize("NFKC", b).casefold()
    )
