from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    name = "csvhub.alarms"
    label = "alarms"
    verbose_name = "Alarms"

    def ready(self) -> None:
        # Rows committed by an upload or an append queue an evaluation (never run in the
        # request); the no-data sweep is a periodic job (csvhub.scheduling).
        from csvhub.alarms import receivers, schedule  # noqa: F401
