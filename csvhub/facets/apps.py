from django.apps import AppConfig


class FacetsConfig(AppConfig):
    name = "csvhub.facets"
    label = "facets"
    verbose_name = "Facets"
