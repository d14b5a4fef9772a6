from django.apps import AppConfig


class CleaningConfig(AppConfig):
    name = "csvhub.cleaning"
    label = "cleaning"
    verbose_name = "Reading rules, cleaning recipes and clustering"

    def ready(self) -> None:
        # Registers the periodic job (csvhub.scheduling) that re-applies scheduled recipes.
        from csvhub.cleaning import schedule  # noqa: F401
