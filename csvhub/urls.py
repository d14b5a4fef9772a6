from collections.abc import Collection

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from csvhub.accounts.urls import api_urlpatterns as accounts_api
from csvhub.accounts.urls import page_urlpatterns as accounts_pages
from csvhub.alarms.urls import api_urlpatterns as alarms_api
from csvhub.appends.urls import api_urlpatterns as appends_api
from csvhub.cleaning.urls import api_urlpatterns as cleaning_api
from csvhub.compat.urls import api_urlpatterns as compat_api
from csvhub.compat.urls import root_urlpatterns as compat_root
from csvhub.datasets.urls import api_urlpatterns as datasets_api
from csvhub.edits.urls import api_urlpatterns as edits_api
from csvhub.facets.urls import api_urlpatterns as facets_api
from csvhub.health import views as health
from csvhub.lifecycle.urls import api_urlpatterns as lifecycle_api
from csvhub.lifecycle.urls import page_urlpatterns as lifecycle_pages
from csvhub.metrics.views import metrics_view
from csvhub.sources.urls import api_urlpatterns as sources_api
from csvhub.sso.urls import urlpatterns as sso_pages

# Swagger UI's files come from drf-spectacular-sidecar through our own static files (nothing
# from a CDN), and its script from the split view itself, so scripts stay 'self' only. Its page
# has one inline <style>: styles alone also allow inline here; the rest of the policy is the
# site's own (settings.SECURE_CSP).
SWAGGER_UI_CSP: dict[str, Collection[str] | str] = {
    **settings.SECURE_CSP,
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
}
swagger_ui = csp_override(SWAGGER_UI_CSP)(SpectacularSwaggerSplitView.as_view(url_name="schema"))

urlpatterns = [
    path(
        "api/v1/",
        include(
            datasets_api
            + appends_api
            + cleaning_api
            + edits_api
            + facets_api
            + sources_api
            + alarms_api
            + lifecycle_api
            + accounts_api
            + compat_api
        ),
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", swagger_ui, name="swagger-ui"),
    # Simetric's /etl/ and /api/{table_name}/: after csvhub's own /api/ routes, which win.
    *compat_root,
    path("healthz", health.live, name="health-live"),
    path("readyz", health.ready, name="health-ready"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include(sso_pages)),
    path("", include("csvhub.cleaning.pages")),
    path("", include(accounts_pages)),
    path("", include(lifecycle_pages)),
    path("", include("csvhub.web.urls")),
]

# API paths answer JSON even where Django answers before DRF (a slug the URL pattern rejects, a
# body too large to read, a crash): see csvhub.api.
handler400 = "csvhub.api.bad_request"
handler403 = "csvhub.api.permission_denied"
handler404 = "csvhub.api.page_not_found"
handler500 = "csvhub.api.server_error"
