"""The background index build (datasets.tasks.build_index): apart from services, which
queues it, so that the task and the service that enqueues it do not import each other."""

from __future__ import annotations

import logging

from csvhub.datasets.models import Dataset
from csvhub.datasets.rowquery import InvalidRowQuery
from csvhub.selection.columns import ColumnResolver
from csvhub.warehouse import indexes as warehouse_indexes

logger = logging.getLogger(__name__)


def index_build(*, dataset_id: str, columns: list[str]) -> None:
    """The background build: skipped when the dataset or a column went away meanwhile.

    The columns come from the broker, where anyone who can write sends what they like: the
    API's rules are checked again (known columns, 1 to MAX_INDEX_COLUMNS, each once).
    """
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None:
        logger.info("index on %s not built: dataset %s was deleted", columns, dataset_id)
        return
    try:
        if not isinstance(columns, list) or not all(isinstance(name, str) for name in columns):
            raise InvalidRowQuery("An index's columns are a list of column names.")
        chosen = ColumnResolver(dataset.schema).index_columns(columns)
    except InvalidRowQuery as error:
        logger.warning("index on %r not built on %s: %s", columns, dataset.slug, error)
        return
    warehouse_indexes.index_create(table_name=dataset.table_name, fields=chosen)
