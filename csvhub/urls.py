from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from csvhub.accounts.urls import api_urlpatterns as accounts_api
from csvhub.accounts.urls import page_urlpatterns as accounts_pages
from csvhub.datasets.urls import api_urlpatterns as datasets_api
from csvhub.health import views as health

urlpatterns = [
    path("api/v1/", include(datasets_api + accounts_api)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("healthz", health.live, name="health-live"),
    path("readyz", health.ready, name="health-ready"),
    path("admin/", admin.site.urls),
    path("", include(accounts_pages)),
    path("", include("csvhub.web.urls")),
]

# API paths answer JSON even where Django answers before DRF (a slug the URL pattern rejects, a
# body too large to read, a crash): see csvhub.api.
handler400 = "csvhub.api.bad_request"
handler403 = "csvhub.api.permission_denied"
handler404 = "csvhub.api.page_not_found"
handler500 = "csvhub.api.server_error"
