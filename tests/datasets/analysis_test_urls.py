"""csvhub's URLs plus the analysis API, until csvhub/datasets/urls.py includes it."""

from django.urls import include, path

from csvhub.datasets.analysis_urls import api_urlpatterns as analysis_api
from csvhub.urls import urlpatterns as csvhub_urlpatterns

urlpatterns = [path("api/v1/", include(analysis_api)), *csvhub_urlpatterns]
