"""Facets: a dataset's most frequent values per chosen column, counted among the rows the
rows endpoint's filters and search select; on large tables within a short time limit, else
from the top values kept at ingestion (csvhub.schema.TopValues), marked approximate."""
