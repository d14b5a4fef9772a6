from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "csvhub.web"
    label = "web"
    verbose_name = "Web UI"
