"""`csvhub createoperator`: create (or promote) an operator of the installation.

An operator is a Django superuser: they can open /admin/ and change any organization. That
power is given only here, never by createadmin nor by the first-run bootstrap."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from csvhub.accounts.services import OperatorEnsured, operator_ensure


class Command(BaseCommand):
    help = (
        "Create an operator of the installation (a Django superuser, the only kind of user who "
        "may open /admin/), or make an existing user one. An existing password is never changed."
    )

    requires_system_checks: list[str] = []  # like createsuperuser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password", help="for a new user; a random one is generated and printed if omitted"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = operator_ensure(
                username=options["username"],
                email=options["email"],
                password=options["password"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        for line in _report(result):
            self.stdout.write(line)


def _report(result: OperatorEnsured) -> list[str]:
    username = result.user.get_username()
    if result.user_created:
        lines = [f"Created operator {username!r}."]
    elif result.was_operator:
        lines = [f"{username!r} was already an operator; password unchanged."]
    else:
        lines = [f"{username!r} is now an operator; password unchanged."]
    if result.password:
        lines.append(f"Password (shown once): {result.password}")
    lines.append(
        f"Sign in at /admin/ as {username!r}. An operator reads an organization's data in the "
        "UI and API only as a member of it."
    )
    return lines
