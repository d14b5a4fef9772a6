from django.apps import AppConfig


class AppendsConfig(AppConfig):
    name = "csvhub.appends"
    label = "appends"
    verbose_name = "Appending rows by JSON"
