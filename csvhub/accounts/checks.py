"""System checks about accounts, run by `csvhub check --database default`, `csvhub migrate` and
at the start of `csvhub serve`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.contrib.auth import get_user_model
from django.core import checks
from django.db import DatabaseError, models

from csvhub.accounts.models import Role

TAG = "csvhub"
OPERATOR_ADMIN_ID = "csvhub.W001"


@checks.register(checks.Tags.database, TAG)
def operators_who_are_organization_admins(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """Warn about organization admins who are also staff or superusers.

    Before issue 11, `csvhub createadmin` made every organization admin a superuser, and so able
    to reach every organization through /admin/. Upgrading leaves those flags in place; this check
    names such users until an operator demotes them (or silences csvhub.W001 for a person who is
    meant to be both)."""
    if not databases:
        return []
    try:
        names = _operator_admin_names()
    except DatabaseError:  # tables not migrated yet: nothing to say
        return []
    if not names:
        return []
    listed = ", ".join(repr(n) for n in names)
    return [
        checks.Warning(
            f"Organization admins who are also operators (staff or superuser): {listed}.",
            hint=(
                "Before this version `csvhub createadmin` made every organization admin a "
                "superuser, able to change every organization in /admin/. Unless a user is meant "
                "to run the whole installation, demote them with "
                "`csvhub demoteoperator --username USERNAME`; to keep someone as both, add "
                f"'{OPERATOR_ADMIN_ID}' to SILENCED_SYSTEM_CHECKS."
            ),
            id=OPERATOR_ADMIN_ID,
        )
    ]


def _operator_admin_names() -> list[str]:
    user_model = get_user_model()
    field = user_model.USERNAME_FIELD
    users = user_model._default_manager.filter(
        models.Q(is_staff=True) | models.Q(is_superuser=True),
        memberships__role=Role.ADMIN,
    )
    return sorted(set(users.values_list(field, flat=True)))
