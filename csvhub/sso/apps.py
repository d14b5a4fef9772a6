from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "csvhub.sso"
    label = "sso"
    verbose_name = "Single sign-on"

    def ready(self) -> None:
        from csvhub.sso import schema  # noqa: F401  (registers an OpenAPI extension)
