"""`csvhub demoteoperator`: take away a user's operator flags (staff, superuser).

For upgrades: before issue 11, `csvhub createadmin` made organization admins superusers; the
system check csvhub.W001 names them. Demoting keeps the user, their password and memberships."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from csvhub.accounts.services import operator_demote


class Command(BaseCommand):
    help = (
        "Make a user no longer an operator: clear staff and superuser, so /admin/ refuses them. "
        "Their memberships (an organization admin stays one) and password are kept."
    )

    requires_system_checks: list[str] = []  # it is what fixes the check's warning

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--username", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        try:
            was_operator = operator_demote(username=username)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        if was_operator:
            self.stdout.write(f"{username!r} is no longer an operator (no staff, no superuser).")
        else:
            self.stdout.write(f"{username!r} was not an operator; nothing changed.")
