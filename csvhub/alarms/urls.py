from django.urls import path

from csvhub.alarms import apis

_RULES = "datasets/<slug:slug>/alarms/"

api_urlpatterns = [
    path(_RULES, apis.AlarmRuleListApi.as_view(), name="alarm-list"),
    path(f"{_RULES}preview", apis.AlarmRulePreviewApi.as_view(), name="alarm-preview"),
    path(f"{_RULES}<str:rule_id>/", apis.AlarmRuleDetailApi.as_view(), name="alarm-detail"),
    path("alarms/events/", apis.AlarmEventListApi.as_view(), name="alarm-events"),
]
