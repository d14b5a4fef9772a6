from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "csvhub.outbox"
    label = "outbox"
    verbose_name = "Mail outbox"

    def ready(self) -> None:
        # Registers the periodic sender (csvhub.scheduling): it retries what failed and sends
        # what a crash left behind.
        from csvhub.outbox import schedule  # noqa: F401
