"""csvhub's query grammars declared once, as data: the filter operators, the rows endpoint's
parameters and the analysis endpoint's parameters, with what they take and what they mean.

Everything that spells the grammar reads these tables: the parsers (csvhub.datasets.rowquery,
csvhub.datasets.analysis), the warehouse's operator check, the OpenAPI schema
(csvhub.grammar.openapi builds drf-spectacular parameters from them) and the dataset page's
script, which receives `page_table()` through `json_script`. A new operator or parameter is one
entry here; tests/grammar checks that no other declaration creeps back.

The table modules (terms, filters, rows, analysis, page) are plain Python without Django, like
csvhub.csvread; only csvhub.grammar.openapi imports drf-spectacular.
"""
