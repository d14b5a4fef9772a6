"""Row queries reuse SQLAlchemy's compiled-statement cache: one Table object per table shape."""

from sqlalchemy import create_engine, select
from sqlalchemy.engine.default import CACHE_HIT

from csvhub.csvread import ColumnType
from csvhub.warehouse.dialects import DIALECTS
from csvhub.warehouse.query import Field, query_table

POSTGRESQL, SQLITE = DIALECTS["postgresql"], DIALECTS["sqlite"]
FIELDS = [Field("amount", ColumnType.DECIMAL), Field("day", ColumnType.DATE)]


def test_same_shape_gives_the_same_table_and_a_new_shape_a_new_one() -> None:
    first = query_table("ds_0123456789abcdef0123456789abcdef", FIELDS, POSTGRESQL)
    assert query_table("ds_0123456789abcdef0123456789abcdef", list(FIELDS), POSTGRESQL) is first
    widened = [Field("amount", ColumnType.TEXT), FIELDS[1]]
    assert query_table("ds_0123456789abcdef0123456789abcdef", widened, POSTGRESQL) is not first
    assert query_table("ds_0123456789abcdef0123456789abcdef", FIELDS, SQLITE) is not first


def test_a_repeated_query_is_compiled_once() -> None:
    engine = create_engine("sqlite://")
    table = query_table("ds_0123456789abcdef0123456789abcdef", FIELDS, SQLITE)
    table.create(engine)
    with engine.connect() as connection:
        for amount in (1, 2):
            table = query_table("ds_0123456789abcdef0123456789abcdef", FIELDS, SQLITE)
            statement = select(table.c.day).where(table.c.amount > amount)
            result = connection.execute(statement)
            cached = result.context.cache_hit
    assert cached == CACHE_HIT


def test_building_index_ddl_leaves_the_shared_table_alone() -> None:
    from csvhub.warehouse.indexes import _index

    table = query_table("ds_0123456789abcdef0123456789abcdef", FIELDS, POSTGRESQL)
    for _ in range(3):
        _index("ds_0123456789abcdef0123456789abcdef", FIELDS[:1], POSTGRESQL)
    assert not table.indexes
