from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "csvhub.scheduling"
    label = "scheduling"
    verbose_name = "Periodic jobs"
