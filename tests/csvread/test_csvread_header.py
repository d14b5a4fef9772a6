"""Column names made SQL-safe from header cells."""

import pytest
from csvread_support import read

from csvhub.csvread import Column, CsvFormatError


@pytest.mark.parametrize(
    ("header", "names"),
    [
        ("Name,Amount", ["name", "amount"]),
        ("First Name,e-mail address,  Total ($)  ", ["first_name", "e_mail_address", "total"]),
        ("a,,c,", ["a", "column_2", "c", "column_4"]),  # blank cells
        ("id,ID,Id", ["id", "id_2", "id_3"]),
        ("a,a,a_2", ["a", "a_3", "a_2"]),  # a suffix never steals a name as written
        ("Café,Größe,Ñandú,Łódź,smörgåsbord", ["cafe", "grosse", "nandu", "lodz", "smorgasbord"]),
        ("2020,1st place,#", ["c_2020", "c_1st_place", "column_3"]),
        ("名前,€,--", ["column_1", "column_2", "column_3"]),
        ("__row_id__,select,Order,from", ["row_id", "select", "order", "from"]),
        ("a__b,a  b,a--b", ["a_b", "a_b_2", "a_b_3"]),
    ],
)
def test_header_names(header: str, names: list[str]) -> None:
    width = header.count(",") + 1
    assert read(f"{header}\n{',' * (width - 1)}x\n".encode()).names == names


def test_labels_keep_the_header_as_written_without_surrounding_whitespace() -> None:
    result = read("  First Name ,Größe\nx,y\n".encode())
    assert result.reader.columns == [Column("first_name", "First Name"), Column("grosse", "Größe")]


def test_long_names_are_cut_to_63_characters_and_stay_unique() -> None:
    long = "x" * 70
    names = read(f"{long},{long},{long}\n1,2,3\n".encode()).names
    assert names == ["x" * 63, "x" * 61 + "_2", "x" * 61 + "_3"]
    assert all(len(name) <= 63 for name in names)


def test_names_are_sql_safe_for_any_header() -> None:
    header = '"Ünïcödé ☃","  ",12 monkeys,_x_,A.B.C,"a,b"\n'
    names = read((header + ",,,,,\n").encode()).names
    assert len(set(names)) == len(names)
    for name in names:
        assert name[0].isalpha() and name.isascii() and name == name.lower()
        assert all(c.isalnum() or c == "_" for c in name)


def test_many_duplicate_names_stay_fast_and_unique() -> None:
    names = read((",".join(["x y"] * 1500) + "\n").encode()).names
    assert names[:3] == ["x_y", "x_y_2", "x_y_3"]
    assert names[-1] == "x_y_1500"
    assert len(set(names)) == 1500


def test_too_many_columns_is_a_format_error() -> None:
    with pytest.raises(CsvFormatError, match="1601 columns"):
        read((",".join(f"c{i}" for i in range(1601)) + "\n").encode())


def test_a_label_of_1000_characters_is_kept_whole() -> None:
    label = "How satisfied were you " + "x" * 977
    assert len(label) == 1000
    result = read(f"id,{label}\n1,2\n".encode())
    assert result.reader.columns[1].label == label


def test_a_header_cell_over_1000_characters_is_a_format_error() -> None:
    with pytest.raises(CsvFormatError, match="column 2 is 5,000,000 characters long") as error:
        read(b"id," + b"y" * 5_000_000 + b"\n1,2\n")
    assert "at most 1,000" in str(error.value)
    assert len(str(error.value)) < 400  # the message quotes the cell's start, not the cell
