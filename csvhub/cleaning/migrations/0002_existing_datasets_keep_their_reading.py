"""Datasets that existed before reading rules keep reading as they did: no null tokens (`NA`
stays text), numbers and dates detected as before. Datasets made from now on read with the
defaults (docs/decisions.md, "Null tokens: a default for new datasets only")."""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def keep_old_reading(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    dataset_model = apps.get_model("datasets", "Dataset")
    rules_model = apps.get_model("cleaning", "ReadingRuleSet")
    rules_model.objects.bulk_create(
        [
            rules_model(dataset_id=pk, null_tokens=[])
            for pk in dataset_model.objects.values_list("pk", flat=True)
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [("cleaning", "0001_initial")]

    operations = [migrations.RunPython(keep_old_reading, migrations.RunPython.noop)]
