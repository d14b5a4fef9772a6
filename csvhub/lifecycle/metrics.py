"""Usage per organization in /metrics: gauges read from the metadata database at scrape time.
One series per organization and gauge (bounded by the organizations an operator creates)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, Sum
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from csvhub.metrics.exposition import database_collector_register


class UsageCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        from csvhub.accounts.models import Organization

        stored = GaugeMetricFamily(
            "csvhub_organization_stored_bytes",
            "Bytes of an organization's original files in storage.",
            labels=["organization"],
        )
        rows = GaugeMetricFamily(
            "csvhub_organization_warehouse_rows",
            "Rows of an organization's datasets in the warehouse.",
            labels=["organization"],
        )
        kept = Q(datasets__uploads__file__gt="")
        organizations = Organization.objects.order_by("slug").annotate(
            stored=Sum("datasets__uploads__size", filter=kept)
        )
        counted = dict(
            Organization.objects.annotate(rows=Sum("datasets__row_count")).values_list(
                "slug", "rows"
            )
        )
        for organization in organizations:
            stored.add_metric([organization.slug], float(organization.stored or 0))
            rows.add_metric([organization.slug], float(counted.get(organization.slug) or 0))
        yield stored
        yield rows


database_collector_register(UsageCollector())
