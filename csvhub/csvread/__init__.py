"""Reading CSV uploads: decoding, dialect and header detection, type inference, conversion.

Pure Python with no Django imports, so it can be used and tested on its own:

    reader = open_csv(stream, filename="sales.csv.gz")
    tracker = TypeTracker(len(reader.columns))
    for batch in reader.batches():
        types = tracker.observe(batch.rows)
        ...  # widen the stored types with `types`, then:
        rows = Converter(stored_types).convert(batch.rows, tracker.last_observation)
"""

from csvhub.csvread.columns import Columns
from csvhub.csvread.convert import Converter
from csvhub.csvread.errors import CsvFormatError, LimitExceeded, ReadAgain
from csvhub.csvread.formats import DateStyle
from csvhub.csvread.header import Column
from csvhub.csvread.inference import TypeTracker
from csvhub.csvread.observation import BatchColumn, Observation
from csvhub.csvread.reader import BadRow, Batch, CsvReader, ReadLimits, open_csv
from csvhub.schema.stats import ColumnStats
from csvhub.schema.types import ColumnType, widen

__all__ = [
    "BadRow",
    "Batch",
    "BatchColumn",
    "Column",
    "ColumnStats",
    "ColumnType",
    "Columns",
    "Converter",
    "CsvFormatError",
    "CsvReader",
    "DateStyle",
    "LimitExceeded",
    "Observation",
    "ReadAgain",
    "ReadLimits",
    "TypeTracker",
    "open_csv",
    "widen",
]
