from django.apps import AppConfig


class CompatConfig(AppConfig):
    name = "csvhub.compat"
    label = "compat"
    verbose_name = "Endpoints of the systems csvhub replaces (Simetric, Thena)"
