"""The OpenAPI schema declares the error answers and the parameters the server really takes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from csvhub.grammar.analysis import ANALYSIS_PARAMETERS
from csvhub.grammar.filters import FILTER_OPERATORS
from csvhub.grammar.rows import ROW_PARAMETERS

ERROR_STATUSES = {"400", "401", "403", "404", "409", "413", "429"}
ERROR_REF = {"$ref": "#/components/schemas/Error"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema() -> dict:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def _parameter(operation: dict, name: str) -> dict:
    return next(p for p in operation["parameters"] if p["name"] == name)


def test_every_operation_declares_every_error_answer_with_the_error_schema(schema) -> None:
    operations = dict(_operations(schema))
    # Every API route is in the schema: the check below covers each one, whatever their number.
    assert {"GET /api/v1/datasets/{slug}/rows/", "POST /api/v1/uploads/"} <= set(operations)

    for name, operation in operations.items():
        declared = {
            code: answer["content"]["application/json"]["schema"]
            for code, answer in operation["responses"].items()
            if code in ERROR_STATUSES
        }
        assert declared == dict.fromkeys(ERROR_STATUSES, ERROR_REF), name


def test_the_error_schema_is_detail_and_field_errors(schema) -> None:
    error = schema["components"]["schemas"]["Error"]

    assert error["required"] == ["detail"]
    assert error["properties"]["detail"]["type"] == "string"
    assert error["properties"]["errors"]["additionalProperties"]["items"]["type"] == "string"


def test_a_members_patch_requires_its_role(schema) -> None:
    body = schema["paths"]["/api/v1/members/{member_id}/"]["patch"]["requestBody"]

    assert body["required"] is True
    assert list(body["content"]) == ["application/json"]
    component = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert schema["components"]["schemas"][component]["required"] == ["role"]


def test_page_size_is_bounded_as_the_server_checks_it(schema) -> None:
    operation = schema["paths"]["/api/v1/tokens/"]["get"]

    assert _parameter(operation, "page_size")["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 500,
    }


def test_rows_limit_is_a_count_the_offset_a_separate_parameter(schema) -> None:
    operation = schema["paths"]["/api/v1/datasets/{slug}/rows/"]["get"]

    limit = _parameter(operation, "limit")["schema"]["oneOf"]
    assert limit[0] == {"type": "integer", "minimum": 0, "maximum": 1000}
    assert _parameter(operation, "offset")["schema"]["oneOf"][0]["minimum"] == 0


def test_rejects_offset_cannot_be_negative(schema) -> None:
    operation = schema["paths"]["/api/v1/uploads/{upload_id}/rejects"]["get"]

    assert _parameter(operation, "offset")["schema"]["minimum"] == 0
    assert _parameter(operation, "limit")["schema"]["minimum"] == 1


def test_analysis_bins_and_limit_are_bounded(schema) -> None:
    operation = schema["paths"]["/api/v1/datasets/{slug}/analysis/"]["get"]

    assert _parameter(operation, "bins")["schema"]["oneOf"][0] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 200,
    }
    assert _parameter(operation, "limit")["schema"]["oneOf"][0]["maximum"] == 10_000


def test_an_upload_needs_at_least_one_file(schema) -> None:
    upload = schema["components"]["schemas"]["UploadInputRequest"]

    assert upload["required"] == ["file"]
    assert upload["properties"]["file"]["minItems"] == 1


def test_the_original_file_is_served_as_octet_stream(schema) -> None:
    operation = schema["paths"]["/api/v1/uploads/{upload_id}/file"]["get"]

    assert list(operation["responses"]["200"]["content"]) == ["application/octet-stream"]


def test_the_operation_ids_the_schemathesis_run_names_exist(schema) -> None:
    """Operation ids are part of the schema's contract (tests/api/schemathesis.toml names them):
    adding a route outside /api/ (Simetric's /etl/) must not rename them."""
    config = (Path(__file__).with_name("schemathesis.toml")).read_text()
    named = re.search(r'include-operation-id-regex = "\^\(([^)]*)\)\$"', config).group(1)
    ids = {operation["operationId"] for _, operation in _operations(schema)}

    assert set(named.split("|")) - ids == set()
    assert {"v1_datasets_destroy", "tokens_revoke", "v1_uploads_create"} <= ids


GRAMMAR_ENDPOINTS = {
    "/api/v1/datasets/{slug}/rows/": ROW_PARAMETERS,
    "/api/v1/datasets/{slug}/analysis/": ANALYSIS_PARAMETERS,
}


@pytest.mark.parametrize("path", GRAMMAR_ENDPOINTS)
def test_grammar_parameters_are_the_grammar_tables_own(schema, path) -> None:
    """The rows and analysis parameters are generated from csvhub.grammar: every declared one
    is in the schema with its choices, and the schema has no parameter the table lacks."""
    operation = schema["paths"][path]["get"]
    declared = GRAMMAR_ENDPOINTS[path]
    queried = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
    assert queried == {p.name for p in declared} | {"filters"}
    for parameter in declared:
        found = _parameter(operation, parameter.name)
        assert parameter.description in found["description"]
        if parameter.choices:
            assert set(found["schema"]["enum"]) == set(parameter.values)
            for choice in parameter.choices:
                assert f"`{choice.value}`: {choice.description}" in found["description"]


@pytest.mark.parametrize("path", GRAMMAR_ENDPOINTS)
def test_every_operator_is_documented_where_filters_are(schema, path) -> None:
    operation = schema["paths"][path]["get"]
    filters = _parameter(operation, "filters")["description"]
    for operator in FILTER_OPERATORS:
        assert f"`{operator.name.value}`: {operator.description}" in filters
        assert operator.name.value in operation["description"]
