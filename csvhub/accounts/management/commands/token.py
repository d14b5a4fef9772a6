"""`csvhub token create --user alice --role editor`: an API token for headless installs, where
nobody signs in to the UI to make one. The token is printed once; only its hash is kept."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from csvhub.accounts.models import Membership, Role
from csvhub.accounts.services import token_create


class Command(BaseCommand):
    help = "Create an API token for a member of an organization (printed once)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        create = commands.add_parser("create", help="create a token and print it once")
        create.add_argument("--user", required=True, help="username of a member")
        create.add_argument(
            "--role",
            default=Role.VIEWER.value,
            choices=[role.value for role in Role],
            help="at most the user's own role (default: viewer)",
        )
        create.add_argument("--org", help="organization slug; needed for members of several")
        create.add_argument("--name", default="created with csvhub token create")
        create.add_argument("--days", type=int, help="expire after this many days (default: never)")

    def handle(self, *args: Any, **options: Any) -> None:
        membership = _membership(username=options["user"], slug=options["org"])
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        try:
            created = token_create(
                organization=membership.organization,
                user=membership.user,
                name=options["name"],
                role=Role(options["role"]),
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        token = created.token
        self.stderr.write(
            f"Token {token.name!r} for {membership.user.get_username()!r} in "
            f"{membership.organization.slug!r} as {token.role} (shown once):"
        )
        # The secret alone on stdout, so that scripts can capture it: TOKEN=$(csvhub token ...).
        self.stdout.write(created.text)


def _membership(*, username: str, slug: str | None) -> Membership:
    memberships = Membership.objects.select_related("user", "organization").filter(
        user__username=username
    )
    if slug:
        memberships = memberships.filter(organization__slug=slug)
    found = list(memberships[:2])
    if not found:
        where = f" of {slug!r}" if slug else " of any organization"
        raise CommandError(f"{username!r} is not a member{where} (see `csvhub createadmin`).")
    if len(found) > 1:
        slugs = ", ".join(sorted(m.organization.slug for m in memberships))
        raise CommandError(f"{username!r} belongs to several organizations ({slugs}); add --org.")
    return found[0]
