from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class JobsConfig(AppConfig):
    name = "csvhub.jobs"
    label = "jobs"
    verbose_name = "Background jobs"

    def ready(self) -> None:
        # Importing the apps' task modules registers their tasks (csvhub.jobs.registry), so a
        # worker knows every name it may run before the first message arrives.
        autodiscover_modules("tasks", "rows_tasks")
