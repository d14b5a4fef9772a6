from django.apps import AppConfig


class EditsConfig(AppConfig):
    name = "csvhub.edits"
    label = "edits"
    verbose_name = "Bulk edits"

    def ready(self) -> None:
        # Registers the periodic job that forgets journals past CSVHUB_EDIT_JOURNAL_DAYS.
        from csvhub.edits import schedule  # noqa: F401
