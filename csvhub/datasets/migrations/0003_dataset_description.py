from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0002_upload_encoding_reason"),
    ]

    operations = [
        migrations.AddField(
            model_name="dataset",
            name="description",
            field=models.TextField(blank=True, default=""),
        ),
    ]
