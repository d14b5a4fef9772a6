"""The project's routes, plus the analysis API's routes while csvhub/datasets/urls.py does not
include them yet, so that the dataset page's charts can be tested end to end either way."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from csvhub.datasets.urls import api_urlpatterns as datasets_api
from csvhub.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
if not any("analysis" in str(pattern.pattern) for pattern in datasets_api):
    from csvhub.datasets.analysis_urls import api_urlpatterns as analysis_api

    urlpatterns.insert(0, path("api/v1/", include(analysis_api)))


def _fails(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the 500 page of the tour (tests/web/tour.py)")


# A page that fails, to look at the 500 page inside the layout; the project's handler answers it.
urlpatterns.append(path("test-server-error/", _fails))
handler500 = "csvhub.api.server_error"
