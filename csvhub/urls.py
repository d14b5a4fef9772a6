from django.contrib import admin
from django.urls import include, path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from csvhub.accounts.urls import api_urlpatterns as accounts_api
from csvhub.accounts.urls import page_urlpatterns as accounts_pages
from csvhub.compat.urls import api_urlpatterns as compat_api
from csvhub.compat.urls import root_urlpatterns as compat_root
from csvhub.datasets.urls import api_urlpatterns as datasets_api
from csvhub.health import views as health

# Swagger UI comes from drf-spectacular's CDN and has one inline <style>; its script is served
# by the view itself (the split view), so scripts stay off 'unsafe-inline' here too.
SWAGGER_CDN = "https://cdn.jsdelivr.net"
swagger_ui = csp_override(
    {
        "default-src": [CSP.SELF],
        "script-src": [CSP.SELF, SWAGGER_CDN],
        "style-src": [CSP.SELF, SWAGGER_CDN, CSP.UNSAFE_INLINE],
        "img-src": [CSP.SELF, SWAGGER_CDN, "data:"],
        "connect-src": [CSP.SELF],
        "object-src": [CSP.NONE],
        "base-uri": [CSP.NONE],
        "frame-ancestors": [CSP.NONE],
    }
)(SpectacularSwaggerSplitView.as_view(url_name="schema"))

urlpatterns = [
    path("api/v1/", include(datasets_api + accounts_api + compat_api)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", swagger_ui, name="swagger-ui"),
    # Simetric's /etl/ and /api/{table_name}/: after csvhub's own /api/ routes, which win.
    *compat_root,
    path("healthz", health.live, name="health-live"),
    path("readyz", health.ready, name="health-ready"),
    path("admin/", admin.site.urls),
    path("", include(accounts_pages)),
    path("", include("csvhub.web.urls")),
]
