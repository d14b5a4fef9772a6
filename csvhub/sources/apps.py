from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "csvhub.sources"
    label = "sources"
    verbose_name = "Scheduled imports"

    def ready(self) -> None:
        # Registers the periodic jobs (csvhub.scheduling) that run due sources and send alarms.
        from csvhub.sources import schedule  # noqa: F401
