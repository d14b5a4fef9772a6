from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "csvhub.jobs"
    label = "jobs"
    verbose_name = "Background jobs"
