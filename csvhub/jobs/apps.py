from importlib import import_module

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "csvhub.jobs"
    label = "jobs"
    verbose_name = "Background jobs"

    def ready(self) -> None:
        # Importing the task modules registers their tasks (csvhub.jobs.registry), so a worker
        # knows every name it may run before the first message arrives.
        from csvhub.jobs.registry import TASK_MODULES

        for module in TASK_MODULES:
            import_module(module)
