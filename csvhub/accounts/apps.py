from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "csvhub.accounts"
    label = "accounts"
    verbose_name = "Organizations and access"

    def ready(self) -> None:
        from csvhub.accounts import checks, schema  # noqa: F401  (register a check, an OpenAPI extension)


class OperatorAdminConfig(admin_apps.AdminConfig):
    """Installed instead of django.contrib.admin, so that `admin.site` is the operators' site
    (csvhub.accounts.admin_site). Not this package's default config: that is AccountsConfig."""

    default = False
    default_site = "csvhub.accounts.admin_site.OperatorAdminSite"
