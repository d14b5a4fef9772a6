"""`csvhub quota ORG [--max-stored-bytes N] [--max-warehouse-rows N] [--max-upload-bytes N]`:
show or set an organization's quotas (operators). A value of `unlimited` lifts a limit; sizes
take a binary suffix (`10G` is 10 GiB)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from csvhub.accounts.models import Organization
from csvhub.lifecycle.quotas import QUOTA_FIELDS, quota_set
from csvhub.lifecycle.usage import usage_summary

_SUFFIXES = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def limit_value(text: str) -> int | None:
    """`unlimited` → None; `5000`, `10G` (binary) → a whole number; ValueError otherwise."""
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text in ("UNLIMITED", "NONE"):
        return None
    factor = _SUFFIXES.get(text[-1:], 1)
    number = int(text[:-1] if factor > 1 else text)
    if number < 0:
        raise ValueError(text)
    return number * factor


class Command(BaseCommand):
    help = "Show an organization's quotas and usage, or set its quotas (default: unlimited)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("org", help="the organization's slug")
        for name in QUOTA_FIELDS:
            parser.add_argument(
                f"--{name.replace('_', '-')}", dest=name, help="a number, or 'unlimited'"
            )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['org']!r}.")
        changes = {}
        for name in QUOTA_FIELDS:
            if options[name] is not None:
                try:
                    changes[name] = limit_value(options[name])
                except ValueError:
                    raise CommandError(
                        f"--{name.replace('_', '-')}: {options[name]!r} is not a number "
                        "(e.g. 5000000, 10G) or 'unlimited'."
                    ) from None
        if changes:
            quota_set(organization=organization, changes=changes)
        self._show(organization)

    def _show(self, organization: Organization) -> None:
        usage = usage_summary(organization)
        used = {"max_stored_bytes": usage.stored_bytes, "max_warehouse_rows": usage.rows}
        for name in QUOTA_FIELDS:
            limit = getattr(usage, name)
            shown = "unlimited" if limit is None else f"{limit:,}"
            using = f" (using {used[name]:,})" if name in used else ""
            self.stdout.write(f"{organization.slug} {name}: {shown}{using}")
