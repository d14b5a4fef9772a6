"""Which rows and columns a request selects: the seam that rows and analysis share.

`columns` matches names as users write them against a dataset's schema, `plan` turns a parsed
RowQuery into the warehouse's RowSet (names checked, values typed), `shape` gives rows their
JSON form. datasets.rows (pages, exports) and datasets.analysis both build on these and never
import each other (tests/test_architecture.py).
"""
