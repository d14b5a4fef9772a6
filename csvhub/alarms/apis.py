"""The alarms API: rules of a dataset (viewers read, editors write), a dry run, and the
organization's alarm events. Thin views over services and selectors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from csvhub.accounts.access import request_organization
from csvhub.accounts.permissions import CanView, ReadOrEdit
from csvhub.alarms import selectors, services
from csvhub.alarms.evaluation import measure_text
from csvhub.alarms.machine import Notice, State
from csvhub.alarms.models import AlarmEvent, AlarmRule, AlarmState
from csvhub.alarms.selectors import EventFilter
from csvhub.api import TextField
from csvhub.datasets.selectors import dataset_get
from csvhub.grammar.rows import MAX_OFFSET

EVENTS_MAX_LIMIT = 200
STATES = [state.value for state in State]


@extend_schema_field(OpenApiTypes.STR)
class ThresholdField(serializers.Field):  # type: ignore[type-arg]
    """A threshold in the watched column's type: a JSON number or a string (`"21.5"`,
    `"2024-06-01 12:00:00"`); null or "" for none. Checked against the column by the service."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("allow_null", True)
        super().__init__(**options)

    def to_internal_value(self, data: object) -> str:
        if isinstance(data, bool) or not isinstance(data, (str, int, float)):
            raise serializers.ValidationError("A number or a string in the column's type.")
        text = data if isinstance(data, str) else repr(data)
        if len(text) > 100:
            raise serializers.ValidationError("At most 100 characters.")
        return text.strip()

    def to_representation(self, value: str) -> str | None:
        return value or None


class AlarmStateSerializer(serializers.Serializer[AlarmState]):
    group = serializers.CharField()
    state = serializers.ChoiceField(choices=STATES)
    since = serializers.DateTimeField(allow_null=True)
    last_sample_at = serializers.DateTimeField(allow_null=True)
    last_value = serializers.CharField()
    last_seen_at = serializers.DateTimeField(allow_null=True)
    samples = serializers.IntegerField()
    late_rows = serializers.IntegerField()


class AlarmRuleSerializer(serializers.Serializer[AlarmRule]):
    id = serializers.IntegerField()
    dataset = serializers.CharField(source="dataset.slug")
    name = serializers.CharField()
    column = serializers.CharField()
    time_column = serializers.CharField()
    group_by = serializers.CharField()
    lower = ThresholdField()
    upper = ThresholdField()
    clear_lower = ThresholdField()
    clear_upper = ThresholdField()
    for_seconds = serializers.IntegerField()
    for_rows = serializers.IntegerField()
    clear_for_seconds = serializers.IntegerField()
    clear_for_rows = serializers.IntegerField()
    repeat_every_seconds = serializers.IntegerField(allow_null=True)
    notify_on_resolve = serializers.BooleanField()
    no_data_seconds = serializers.IntegerField(allow_null=True)
    recipients = serializers.ListField(child=serializers.EmailField())
    enabled = serializers.BooleanField()
    last_evaluated_row_id = serializers.IntegerField(allow_null=True)
    states = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(AlarmStateSerializer(many=True))
    def get_states(self, rule: AlarmRule) -> list[dict[str, Any]]:
        return [dict(AlarmStateSerializer(s).data) for s in selectors.alarm_states(rule=rule)]


def _seconds(**options: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=0, max_value=366 * 86400, **options)


class AlarmRuleInputSerializer(serializers.Serializer[dict[str, Any]]):
    name = TextField(max_length=200, required=False, allow_blank=True)
    column = TextField(max_length=200, help_text="The numeric or temporal column watched.")
    time_column = TextField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="The date or timestamp column giving each row's sample time; empty: the "
        "time the row was evaluated.",
    )
    group_by = TextField(
        max_length=200, required=False, allow_blank=True, help_text="One alarm per value."
    )
    lower = ThresholdField(required=False, help_text="Fires below this.")
    upper = ThresholdField(required=False, help_text="Fires above this.")
    clear_lower = ThresholdField(required=False, help_text="Clears at or above (default lower).")
    clear_upper = ThresholdField(required=False, help_text="Clears at or below (default upper).")
    for_seconds = _seconds(required=False, help_text="Out of range this long before firing.")
    for_rows = _seconds(required=False, help_text="Or this many consecutive rows.")
    clear_for_seconds = _seconds(required=False)
    clear_for_rows = _seconds(required=False)
    repeat_every_seconds = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=60,
        max_value=366 * 86400,
        help_text="Mail again while firing; also the least time between two fire mails of a "
        "group. null: never.",
    )
    notify_on_resolve = serializers.BooleanField(required=False)
    no_data_seconds = serializers.IntegerField(
        required=False, allow_null=True, min_value=10, max_value=366 * 86400
    )
    recipients = serializers.ListField(
        child=serializers.EmailField(), required=False, max_length=50
    )
    enabled = serializers.BooleanField(required=False)

    def to_internal_value(self, data: object) -> dict[str, Any]:
        if isinstance(data, Mapping):
            data = _issue_names(data)
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                known = ", ".join(sorted([*self.fields, *_DURATIONS, "repeat_every"]))
                raise serializers.ValidationError(
                    {name: [f"Unknown field; a rule's fields are {known}."] for name in unknown}
                )
        checked: dict[str, Any] = super().to_internal_value(data)
        return checked


# The issue's names for the durations: `"for": 300` (seconds) or `"for": {"rows": 3}`;
# `repeat_every` in seconds. Each stands for the field(s) the rule stores.
_DURATIONS = {"for": "for", "clear_for": "clear_for"}
_DURATION_UNITS = ("seconds", "rows")


def _issue_names(data: Mapping[str, Any]) -> dict[str, Any]:
    """The body with the issue's short names turned into the stored fields; a short name given
    beside the field it stands for is refused (which one would win is not obvious)."""
    written = dict(data)
    expanded: dict[str, Any] = {}
    for name in _DURATIONS:
        if name in written:
            expanded |= _duration(name, written.pop(name))
    if "repeat_every" in written:
        expanded["repeat_every_seconds"] = written.pop("repeat_every")
    clashing = sorted(set(expanded) & set(written))
    if clashing:
        raise serializers.ValidationError(
            {field: ["Given twice (also by its short name); give it once."] for field in clashing}
        )
    return written | expanded


def _duration(name: str, value: object) -> dict[str, object]:
    if isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in _DURATION_UNITS:
        ((unit, amount),) = value.items()
        return {f"{name}_{unit}": amount}
    if isinstance(value, int) and not isinstance(value, bool):
        return {f"{name}_seconds": value}
    raise serializers.ValidationError(
        {name: ['Seconds (a whole number), {"seconds": n} or {"rows": n}.']}
    )


class AlarmRulePatchSerializer(AlarmRuleInputSerializer):
    column = TextField(max_length=200, required=False)


class TransitionSerializer(serializers.Serializer[dict[str, Any]]):
    group = serializers.CharField()
    at = serializers.DateTimeField()
    value = serializers.CharField(allow_null=True)
    row_id = serializers.IntegerField(allow_null=True)
    from_state = serializers.ChoiceField(choices=STATES)
    to_state = serializers.ChoiceField(choices=STATES)
    notice = serializers.CharField()


class PreviewSerializer(serializers.Serializer[dict[str, Any]]):
    fired = serializers.IntegerField(help_text="How many times the rule would have fired.")
    rows_read = serializers.IntegerField()
    truncated = serializers.BooleanField(help_text="True: only the first rows were read.")
    transitions = TransitionSerializer(many=True)


class AlarmEventSerializer(serializers.Serializer[AlarmEvent]):
    id = serializers.IntegerField()
    dataset = serializers.CharField(source="rule.dataset.slug")
    rule = serializers.IntegerField(source="rule_id")
    rule_name = serializers.CharField(source="rule.name")
    group = serializers.CharField()
    at = serializers.DateTimeField()
    value = serializers.CharField()
    row_id = serializers.IntegerField(allow_null=True)
    from_state = serializers.ChoiceField(choices=STATES)
    to_state = serializers.ChoiceField(choices=STATES)
    notice = serializers.ChoiceField(choices=[n.value for n in Notice])
    mail_status = serializers.SerializerMethodField()
    mail_attempts = serializers.SerializerMethodField()
    mail_error = serializers.SerializerMethodField()

    def get_mail_status(self, event: AlarmEvent) -> str | None:
        return event.mail.status if event.mail else None

    def get_mail_attempts(self, event: AlarmEvent) -> int:
        return event.mail.attempts if event.mail else 0

    def get_mail_error(self, event: AlarmEvent) -> str:
        return event.mail.last_error if event.mail else ""


class EventQuerySerializer(serializers.Serializer[dict[str, Any]]):
    dataset = serializers.SlugField(required=False)
    rule = serializers.IntegerField(required=False, min_value=1)
    state = serializers.ChoiceField(choices=STATES, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=EVENTS_MAX_LIMIT, default=50)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


class EventPageSerializer(serializers.Serializer[dict[str, Any]]):
    count = serializers.IntegerField()
    results = AlarmEventSerializer(many=True)


def _valid(
    serializer_class: type[serializers.Serializer[dict[str, Any]]], data: object
) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    validated: dict[str, Any] = serializer.validated_data
    return validated


def _refuse_empty(request: Request) -> None:
    """`since=` and its like: DRF would read an empty query parameter as one left out, and a
    filter silently dropped answers more than was asked."""
    empty = sorted(name for name, value in request.query_params.items() if value == "")
    if empty:
        raise serializers.ValidationError(
            {name: ["Give a value, or leave the parameter out."] for name in empty}
        )


def _rule_body(rule: AlarmRule) -> dict[str, Any]:
    return dict(AlarmRuleSerializer(rule).data)


class AlarmRuleListApi(APIView):
    permission_classes = [ReadOrEdit]

    @extend_schema(responses=AlarmRuleSerializer(many=True), summary="List a dataset's alarm rules")
    def get(self, request: Request, slug: str) -> Response:
        dataset = dataset_get(organization=request_organization(request), slug=slug)
        rules = selectors.alarm_rule_list(dataset=dataset)
        return Response([_rule_body(rule) for rule in rules])

    @extend_schema(
        request=AlarmRuleInputSerializer,
        responses={201: AlarmRuleSerializer},
        summary="Add an alarm rule (evaluated on the rows committed from now on)",
    )
    def post(self, request: Request, slug: str) -> Response:
        dataset = dataset_get(organization=request_organization(request), slug=slug)
        data = _valid(AlarmRuleInputSerializer, request.data)
        rule = services.alarm_rule_create(dataset=dataset, data=data, user=request.user)
        return Response(_rule_body(rule), status=status.HTTP_201_CREATED)


class AlarmRuleDetailApi(APIView):
    permission_classes = [ReadOrEdit]

    def _rule(self, request: Request, slug: str, rule_id: str) -> AlarmRule:
        dataset = dataset_get(organization=request_organization(request), slug=slug)
        return selectors.alarm_rule_get(dataset=dataset, rule_id=rule_id)

    @extend_schema(responses=AlarmRuleSerializer, summary="Show an alarm rule and its groups")
    def get(self, request: Request, slug: str, rule_id: str) -> Response:
        return Response(_rule_body(self._rule(request, slug, rule_id)))

    @extend_schema(
        request=AlarmRulePatchSerializer,
        responses=AlarmRuleSerializer,
        summary="Change an alarm rule (disable it with enabled=false)",
    )
    def patch(self, request: Request, slug: str, rule_id: str) -> Response:
        rule = self._rule(request, slug, rule_id)
        data = _valid(AlarmRulePatchSerializer, request.data)
        return Response(_rule_body(services.alarm_rule_update(rule=rule, data=data)))

    @extend_schema(responses={204: None}, summary="Delete an alarm rule, its states and events")
    def delete(self, request: Request, slug: str, rule_id: str) -> Response:
        services.alarm_rule_delete(rule=self._rule(request, slug, rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlarmRulePreviewApi(APIView):
    # A dry run writes nothing, but it is the rule form's step before saving: editors only.
    permission_classes = [ReadOrEdit]

    @extend_schema(
        request=AlarmRuleInputSerializer,
        responses=PreviewSerializer,
        summary="Dry run: how often a rule would have fired on the stored rows",
    )
    def post(self, request: Request, slug: str) -> Response:
        dataset = dataset_get(organization=request_organization(request), slug=slug)
        data = _valid(AlarmRuleInputSerializer, request.data)
        preview = services.alarm_rule_dry_run(dataset=dataset, data=data)
        transitions = [
            {
                "group": item.group,
                "at": item.transition.at,
                "value": measure_text(preview.value_type, item.transition.value) or None,
                "row_id": item.transition.row_id,
                "from_state": item.transition.before.value,
                "to_state": item.transition.after.value,
                "notice": item.transition.notice.value,
            }
            for item in preview.transitions
        ]
        body = {
            "fired": preview.fired,
            "rows_read": preview.rows_read,
            "truncated": preview.truncated,
            "transitions": transitions,
        }
        return Response(PreviewSerializer(body).data)


class AlarmEventListApi(APIView):
    permission_classes = [CanView]

    @extend_schema(
        parameters=[EventQuerySerializer],
        responses=EventPageSerializer,
        summary="The organization's alarm transitions, newest first",
    )
    def get(self, request: Request) -> Response:
        _refuse_empty(request)
        query = _valid(EventQuerySerializer, request.query_params)
        where = EventFilter(
            dataset=query.get("dataset"),
            rule=query.get("rule"),
            state=query.get("state"),
            since=query.get("since"),
            until=query.get("until"),
        )
        events = selectors.alarm_events(organization=request_organization(request), where=where)
        start = query["offset"]
        page = list(events[start : start + query["limit"]])
        body = {"count": events.count(), "results": AlarmEventSerializer.many_init(page).data}
        return Response(body)
