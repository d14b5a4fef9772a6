"""`csvhub createadmin`: create (or complete) an organization and its admin user.

An organization admin is not an operator: no staff or superuser flag, no /admin/. Operators are
created by `csvhub createoperator`."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from csvhub.accounts.models import Role
from csvhub.accounts.services import AdminEnsured, admin_ensure


class Command(BaseCommand):
    help = (
        "Create an organization and its admin user (the admin role in it; not an operator of the "
        "installation: no access to /admin/, see createoperator). "
        "Safe to run again: what exists is kept, an existing password is never changed."
    )

    requires_system_checks: list[str] = []  # like createsuperuser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--org", default="default", help="organization slug (default: default)")
        parser.add_argument("--username", default="admin", help="default: admin")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password", help="for a new user; a random one is generated and printed if omitted"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = admin_ensure(
                org_slug=options["org"],
                username=options["username"],
                email=options["email"],
                password=options["password"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        for line in _report(result, password_given=options["password"] is not None):
            self.stdout.write(line)


def _report(result: AdminEnsured, *, password_given: bool) -> list[str]:
    slug = result.organization.slug
    username = result.user.get_username()
    lines = [
        f"Created organization {slug!r}."
        if result.organization_created
        else f"Organization {slug!r} already exists; kept."
    ]
    if result.user_created:
        lines.append(f"Created user {username!r}.")
    else:
        lines.append(
            f"User {username!r} already exists; password unchanged"
            " (use `csvhub changepassword` to change it)."
        )
    if result.role_before is None:
        lines.append(f"{username!r} is now an admin of {slug!r}.")
    elif result.role_before != Role.ADMIN:
        lines.append(f"{username!r} was {result.role_before.value} of {slug!r}; now admin.")
    else:
        lines.append(f"{username!r} was already an admin of {slug!r}.")
    if result.password:
        lines.append(f"Password (shown once): {result.password}")
    elif result.user_created and password_given:
        lines.append("Password: as given with --password.")
    lines.append(f"Sign in at /login/ as {username!r}.")
    return lines
