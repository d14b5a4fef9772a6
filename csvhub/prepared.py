"""Prepared reads of the metadata database, for the lookups every API request makes.

The ORM builds and compiles a query on every call: 0.3-2 ms of Python for a read the database
answers in 0.02 ms. A `PreparedRead` builds its SELECT once per database connection from the
models' metadata (so a migration that adds a field changes the statement with it), and turns
each row into model instances the way the ORM would: the backend's converters, then
`Model.from_db`. Each call still reads the database: nothing is cached but the SQL text.

A `JSONOnUse` field is the exception to "the way the ORM would": a prepared read keeps its text
and decodes it when the attribute is first read, since a dataset's statistics (tens of kB of
JSON: day counts, top values) cost a rows request a tenth of its time to decode for nothing.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, JSONField, Model
from django.db.models.query_utils import DeferredAttribute

Converter = Callable[[Any, Any, BaseDatabaseWrapper], Any]
Quote = Callable[[str], str]


@dataclass(frozen=True)
class ModelColumns:
    """One model's columns in a SELECT, and how to turn their values into an instance."""

    model: type[Model]
    alias: str
    attnames: list[str]
    converters: list[tuple[list[Converter], Any]]  # per field: converters and their expression
    on_use: frozenset[str]  # JSONOnUse fields: decoded when first read

    @classmethod
    def of(cls, model: type[Model], alias: str, connection: BaseDatabaseWrapper) -> ModelColumns:
        converters = []
        for field in model_fields(model):
            expression = field.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(expression)
            converters.append((found + field.get_db_converters(connection), expression))
        fields = model_fields(model)
        on_use = frozenset(field.attname for field in fields if isinstance(field, JSONOnUse))
        return cls(model, alias, [field.attname for field in fields], converters, on_use)

    def select_list(self, quote: Quote) -> str:
        fields = model_fields(self.model)
        return ", ".join(f"{self.alias}.{quote(column(self.model, f.name))}" for f in fields)

    def instance(self, values: Sequence[Any], connection: BaseDatabaseWrapper) -> Model:
        names, converted, on_use = [], [], {}
        for name, value, (converters, expression) in zip(
            self.attnames, values, self.converters, strict=True
        ):
            if name in self.on_use:
                on_use[name] = _Pending(value, converters, expression, connection)
                continue  # left deferred: _DecodedOnUse reads it
            for convert in converters:
                value = convert(value, expression, connection)
            names.append(name)
            converted.append(value)
        made = self.model.from_db(connection.alias, names, converted)
        for name, pending in on_use.items():
            made.__dict__[_pending_key(name)] = pending
        return made


@dataclass(frozen=True)
class Statement:
    sql: str
    parts: tuple[ModelColumns, ...]  # the models whose columns open the SELECT, in its order


class PreparedRead:
    """A SELECT made by `build(connection)`, kept per connection object (one per thread: the
    converters are bound to its `ops`). Its parameters are values of the model fields named
    in `parameters`, which prepare them for the database as a filter on them would."""

    def __init__(
        self,
        build: Callable[[BaseDatabaseWrapper], Statement],
        parameters: Sequence[tuple[type[Model], str]],
    ) -> None:
        self._build = build
        self._parameters = [model._meta.get_field(name) for model, name in parameters]
        self._built: weakref.WeakKeyDictionary[BaseDatabaseWrapper, Statement] = (
            weakref.WeakKeyDictionary()
        )

    def first(self, values: Sequence[Any]) -> tuple[list[Model], tuple[Any, ...]] | None:
        """The first row's model instances and the values after their columns, or None."""
        connection = connections[DEFAULT_DB_ALIAS]
        statement = self._statement(connection)
        params = [
            field.get_db_prep_value(value, connection)  # type: ignore[union-attr]
            for field, value in zip(self._parameters, values, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        instances, start = [], 0
        for part in statement.parts:
            end = start + len(part.attnames)
            instances.append(part.instance(row[start:end], connection))
            start = end
        return instances, tuple(row[start:])

    def _statement(self, connection: BaseDatabaseWrapper) -> Statement:
        found = self._built.get(connection)
        if found is None:
            found = self._built[connection] = self._build(connection)
        return found


@dataclass(frozen=True)
class _Pending:
    """A value as the database sent it, and the converters a query would have applied."""

    value: Any
    converters: list[Converter]
    expression: Any
    connection: BaseDatabaseWrapper

    def converted(self) -> Any:
        value = self.value
        for convert in self.converters:
            value = convert(value, self.expression, self.connection)
        return value


class _DecodedOnUse(DeferredAttribute):
    """Decodes the text a prepared read left on the instance on first read; with none (an ORM
    query that deferred the field, or a refresh after the read) it loads the field as Django
    loads a deferred one."""

    def __get__(self, instance: Model | None, cls: type[Model] | None = None) -> Any:
        if instance is None:
            return self
        pending = instance.__dict__.pop(_pending_key(self.field.attname), None)
        if pending is not None and self.field.attname not in instance.__dict__:
            instance.__dict__[self.field.attname] = pending.converted()
        return super().__get__(instance, cls)


class JSONOnUse(JSONField):
    """A JSONField that prepared reads decode when the attribute is first read. The ORM's own
    queries decode it at once, as any JSONField. Same column, same migrations as JSONField."""

    descriptor_class = _DecodedOnUse

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs


_PENDING = "_on_use"


def _pending_key(attname: str) -> str:
    return f"_{attname}{_PENDING}"


def forget_pending(instance: Model) -> None:
    """Drop the text prepared reads left for later: a refresh must not bring back old values."""
    for key in [key for key in instance.__dict__ if key.endswith(_PENDING)]:
        del instance.__dict__[key]


def model_fields(model: type[Model]) -> list[Field[Any, Any]]:
    return list(model._meta.concrete_fields)


def column(model: type[Model], name: str) -> str:
    """The database column of a model's field."""
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column is not None
    return field.column


def table(model: type[Model], quote: Quote) -> str:
    return quote(model._meta.db_table)
