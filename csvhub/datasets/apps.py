from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "csvhub.datasets"
    label = "datasets"
    verbose_name = "Datasets and uploads"
