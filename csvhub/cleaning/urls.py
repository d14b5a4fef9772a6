from django.urls import path

from csvhub.cleaning import apis

_DATASET = "datasets/<slug:slug>/"
_CLUSTERS = f"{_DATASET}columns/<str:column>/clusters/"

api_urlpatterns = [
    path(f"{_DATASET}reading-rules/", apis.ReadingRulesApi.as_view(), name="reading-rules"),
    path(f"{_DATASET}recipe/", apis.RecipeApi.as_view(), name="recipe"),
    path(f"{_DATASET}recipe/versions/", apis.RecipeVersionsApi.as_view(), name="recipe-versions"),
    path(f"{_DATASET}recipe/apply", apis.RecipeApplyApi.as_view(), name="recipe-apply"),
    path(_CLUSTERS, apis.ColumnClustersApi.as_view(), name="column-clusters"),
    path(f"{_CLUSTERS}accept", apis.ClusterAcceptApi.as_view(), name="cluster-accept"),
    path(f"{_CLUSTERS}reject", apis.ClusterRejectApi.as_view(), name="cluster-reject"),
]
