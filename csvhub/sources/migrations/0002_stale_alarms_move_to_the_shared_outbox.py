"""Stale-source alarm mails move to the shared outbox (csvhub.outbox): mails not yet sent are
copied there (each under a key of its own, so it is sent once), then sources.OutboxEmail goes."""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def unsent_mails_move(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    old = apps.get_model("sources", "OutboxEmail")
    new = apps.get_model("outbox", "OutboxMail")
    for email in old.objects.filter(sent_at__isnull=True):
        new.objects.get_or_create(
            key=f"sources-outbox:{email.pk}",
            defaults={
                "to": email.to,
                "subject": email.subject,
                "body": email.body,
                "next_attempt_at": email.created_at,
                "attempts": email.attempts,
                "last_error": email.last_error,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("sources", "0001_initial"),
        ("outbox", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(unsent_mails_move, migrations.RunPython.noop),
        migrations.DeleteModel(name="OutboxEmail"),
    ]
