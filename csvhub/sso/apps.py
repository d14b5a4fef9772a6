from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "csvhub.sso"
    label = "sso"
    verbose_name = "Single sign-on"
