"""The grammar table is the one declaration of the query grammars: the parsers accept exactly
what it declares, and no other source file spells a second copy of it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from csvhub.datasets.analysis import InvalidAnalysis, parse_analysis_query
from csvhub.datasets.rowquery import Filter, InvalidRowQuery, parse_row_query
from csvhub.grammar.analysis import (
    ANALYSIS_KINDS,
    ANALYSIS_PARAMETERS,
    METRIC_FUNCTIONS,
    TIME_BUCKETS,
    AnalysisType,
    types_taking,
)
from csvhub.grammar.filters import FILTER_OPERATORS, Operator
from csvhub.grammar.page import page_table
from csvhub.grammar.rows import PASSED_THROUGH, RESERVED, ROW_PARAMETERS, CountMode, Format
from csvhub.warehouse.query import OPERATORS as WAREHOUSE_OPERATORS

SOURCES = Path(__file__).resolve().parents[2] / "csvhub"
GRAMMAR = SOURCES / "grammar"


def test_the_table_modules_import_without_django() -> None:
    code = (
        "import sys, csvhub.grammar.terms, csvhub.grammar.filters, csvhub.grammar.rows, "
        "csvhub.grammar.analysis, csvhub.grammar.page; "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("operator", FILTER_OPERATORS, ids=lambda o: o.name.value)
def test_every_declared_operator_is_read_in_each_filter_form(operator) -> None:
    name = operator.name.value
    query = parse_row_query([("a", f"{name}:1"), ("b__" + name, "2")])
    assert query.filters == (Filter("a", operator.name, "1"), Filter("b", operator.name, "2"))
    assert name in WAREHOUSE_OPERATORS


def test_the_parser_and_warehouse_know_no_operator_the_table_does_not_declare() -> None:
    assert sorted(operator.name for operator in FILTER_OPERATORS) == sorted(Operator)
    assert {operator.name.value for operator in FILTER_OPERATORS} == WAREHOUSE_OPERATORS
    (looks_like_one,) = parse_row_query([("a", "between:1")]).filters
    assert looks_like_one.implicit and looks_like_one.value == "between:1"


@pytest.mark.parametrize("parameter", ROW_PARAMETERS, ids=lambda p: p.name)
def test_every_rows_parameter_is_a_reserved_word_never_a_filter(parameter) -> None:
    value = parameter.values[0] if parameter.values else "1"
    params = [(f"_{parameter.name}", value)]
    if parameter.name == "safe":
        params.append(("format", "csv"))
    assert parse_row_query(params).filters == ()
    with pytest.raises(InvalidRowQuery, match="more than once"):
        parse_row_query([(parameter.name, value), (f"_{parameter.name}", value)])


def test_the_rows_parser_reserves_no_word_the_table_does_not_declare() -> None:
    words = ("sort", "limit", "offset", "fields", "cursor", "format", "count", "safe", "q", "org")
    assert set(RESERVED) | set(PASSED_THROUGH) == set(words)
    with pytest.raises(InvalidRowQuery) as caught:
        parse_row_query([("_nosuch", "1")])
    assert f"Parameters are {', '.join(RESERVED)}" in str(caught.value)
    assert ROW_PARAMETERS[5].values == tuple(Format)
    assert ROW_PARAMETERS[6].values == tuple(CountMode)


@pytest.mark.parametrize("kind", ANALYSIS_KINDS, ids=lambda k: k.name.value)
def test_each_analysis_type_takes_the_parameters_it_declares_and_no_other(kind) -> None:
    samples = {"column": "at", "group_by": "a", "metrics": "count", "metric": "count"}
    samples |= {"bucket": "day", "bins": "3", "sort": "a", "limit": "3", "split": "a"}
    taken = [(name, samples[name]) for name in kind.parameters]
    parse_analysis_query([("type", kind.name.value), *taken])
    for other in ANALYSIS_PARAMETERS[1:]:
        if other.name not in kind.parameters:
            with pytest.raises(InvalidAnalysis, match="does not apply"):
                parse_analysis_query([("type", kind.name.value), (other.name, "1")])


def test_analysis_choices_are_the_declared_ones() -> None:
    assert ANALYSIS_PARAMETERS[0].values == tuple(AnalysisType)
    assert types_taking("bins") == (AnalysisType.HISTOGRAM,)
    for function in METRIC_FUNCTIONS:
        written = "count" if function.name == "count" else f"{function.name.value}:x"
        (spec,) = parse_analysis_query([("type", "aggregate"), ("metrics", written)]).metrics
        assert spec.function is function.name
    for bucket in TIME_BUCKETS:
        query = parse_analysis_query([("type", "timeseries"), ("bucket", bucket.name.value)])
        assert query.bucket is bucket.name


def test_the_page_receives_every_operator_with_its_words_and_description() -> None:
    table = page_table()
    assert [op["name"] for op in table["operators"]] == [o.name.value for o in FILTER_OPERATORS]
    assert all(op["words"] and op["description"] for op in table["operators"])
    assert table["reserved"] == list(RESERVED)


# -- no second copy ----------------------------------------------------------------------------

_QUOTED = re.compile(r"""["']([^"'\n]{0,40})["']""")
_BETWEEN_ITEMS = re.compile(r"[\s,|\[\](){}]*")
VOCABULARIES = {
    "filter operators": {o.name.value for o in FILTER_OPERATORS},
    "rows parameters": set(RESERVED),
    "analysis parameters": {p.name for p in ANALYSIS_PARAMETERS},
    "analysis types": set(AnalysisType),
    "metric functions": {f.name.value for f in METRIC_FUNCTIONS},
    "time buckets": {b.name.value for b in TIME_BUCKETS},
}


def _quoted_runs(text: str) -> list[set[str]]:
    """Runs of quoted words written as one list: `("a", "b", ["c"])`, `{"a", "b"} | {"c"}`."""
    runs: list[set[str]] = []
    previous_end = None
    for match in _QUOTED.finditer(text):
        between = text[previous_end : match.start()] if previous_end is not None else None
        if between is None or not _BETWEEN_ITEMS.fullmatch(between):
            runs.append(set())
        runs[-1].add(match.group(1))
        previous_end = match.end()
    return runs


def test_the_runs_finder_sees_the_copies_this_table_replaced() -> None:
    old_python = '{"eq", "neq", "lt", "gt"}\n    | {"like", "startswith"}'
    old_script = '[["eq", "is"], ["neq", "is not"], ["like", "contains"], ["gt", "after"]]'
    assert {"eq", "neq", "lt", "gt", "like", "startswith"} <= _quoted_runs(old_python)[0]
    assert {"eq", "neq", "like", "gt"} <= _quoted_runs(old_script)[0]


def test_no_source_outside_csvhub_grammar_lists_a_grammar_vocabulary_again() -> None:
    """Four or more names of one vocabulary written as one list is a second declaration: read
    them from csvhub.grammar (Python) or the page's grammar table (JavaScript) instead."""
    copies = []
    for path in sorted(SOURCES.rglob("*")):
        if path.suffix not in (".py", ".js", ".html") or GRAMMAR in path.parents:
            continue
        for run in _quoted_runs(path.read_text()):
            for vocabulary, names in VOCABULARIES.items():
                if len(run & names) >= 4:
                    copies.append(f"{path.relative_to(SOURCES)}: {vocabulary} {sorted(run)}")
    assert not copies, copies
