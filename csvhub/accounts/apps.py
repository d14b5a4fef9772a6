from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "csvhub.accounts"
    label = "accounts"
    verbose_name = "Organizations and access"

    def ready(self) -> None:
        from csvhub.accounts import schema  # noqa: F401  (registers the OpenAPI auth extension)
