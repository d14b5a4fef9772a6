"""Reads of cleaning: reading rules, recipe versions, clustering suggestions."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from csvhub.cleaning.clusters import Cluster, Method, clusters
from csvhub.cleaning.errors import CleaningError
from csvhub.cleaning.models import Recipe, RecipeVersion, RejectedPair, UploadReading
from csvhub.datasets.models import Dataset, Upload
from csvhub.schema import ColumnType
from csvhub.selection.columns import ColumnResolver
from csvhub.warehouse.distinct import distinct_values


def recipe_of(dataset: Dataset) -> Recipe | None:
    return Recipe.objects.filter(dataset=dataset).first()


def recipe_versions(dataset: Dataset) -> QuerySet[RecipeVersion]:
    """Every version of the dataset's recipe, newest first."""
    return RecipeVersion.objects.filter(recipe__dataset=dataset).order_by("-number")


def upload_notes(upload: Upload) -> list[str]:
    """What reading the upload detected or assumed, in words ([] before it was read). Lists
    of uploads select_related("reading") so that this costs no query per upload."""
    try:
        reading = upload.reading
    except UploadReading.DoesNotExist:
        return []
    return list(reading.notes)


@dataclass(frozen=True)
class ClusterPage:
    clusters: list[Cluster]
    total: int  # clusters found over the values read
    distinct_values: int  # values read
    complete: bool  # False: the column had more distinct values than CSVHUB_CLUSTER_MAX_VALUES


def column_clusters(
    *, dataset: Dataset, column: str, method: Method, offset: int, limit: int
) -> ClusterPage:
    """The clusters of probable duplicates among a text column's distinct values, biggest
    first, without the pairs people rejected."""
    found = ColumnResolver(dataset.schema).get(column, role="clusters")
    name = found.name
    if found.type is not ColumnType.TEXT:
        raise CleaningError(
            f"{found.heading} is a {found.type} column; clusters are of text columns."
        )
    cap = settings.CSVHUB_CLUSTER_MAX_VALUES
    read = distinct_values(table_name=dataset.table_name, column=found, cap=cap)
    rejected = RejectedPair.objects.filter(dataset=dataset, column=name).values_list(
        "first", "second"
    )
    everything = clusters(read.values, method, rejected=list(rejected))
    return ClusterPage(
        everything[offset : offset + limit], len(everything), len(read.values), read.complete
    )
