from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "csvhub.metrics"
    label = "metrics"
    verbose_name = "Metrics"
