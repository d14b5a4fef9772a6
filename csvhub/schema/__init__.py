"""The schema vocabulary: what a dataset's columns, their statistics, a load's result and a
value's forms are. Plain frozen types with one JSON form each, no Django and no SQL, so that
csvread, the warehouse, datasets and the web all speak it (see docs/architecture.md).
"""

from csvhub.schema.columns import Column, DatasetSchema
from csvhub.schema.loads import LoadResult, TypeChange
from csvhub.schema.stats import ColumnStats, DayCounts, NumberCells, TopValues
from csvhub.schema.types import ColumnType, widen

__all__ = [
    "Column",
    "ColumnStats",
    "ColumnType",
    "DatasetSchema",
    "DayCounts",
    "LoadResult",
    "NumberCells",
    "TopValues",
    "TypeChange",
    "widen",
]
