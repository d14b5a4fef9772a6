from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "csvhub.lifecycle"
    label = "lifecycle"
    verbose_name = "Retention, holds and quotas"

    def ready(self) -> None:
        # The periodic retention job (csvhub.scheduling), the quota checks on uploads and
        # loads and the legal holds' refusals of deletions (datasets' signals), and the usage
        # gauges of /metrics.
        from csvhub.lifecycle import holds, metrics, quotas, schedule  # noqa: F401
