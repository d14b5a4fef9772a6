"""Column names safe for SQL, made from the header cells."""

import re
import unicodedata
from dataclasses import dataclass

from csvhub.csvread.errors import CsvFormatError

MAX_NAME_LENGTH = 63  # PostgreSQL truncates identifiers beyond 63 bytes
# Labels travel in every dataset listing: a longer header cell is a broken file (often a data
# line or an unclosed quote taken for the header), so the upload is refused rather than cut.
MAX_LABEL_LENGTH = 1000
# Letters NFKD does not decompose into ASCII, spelled as their languages transliterate them.
_FOLDS = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE", "ł": "l",
     "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "\u0131": "i"}
)  # fmt: skip
_NOT_NAME = re.compile(r"[^a-z0-9]+")
_BLANK = "\ufeff \t\r\n"


@dataclass(frozen=True)
class Column:
    name: str  # lowercase [a-z0-9_], starts with a letter, unique, at most 63 characters
    label: str  # the header cell as written (without BOM and surrounding whitespace)


def columns_from_header(cells: list[str]) -> list[Column]:
    labels = [cell.strip(_BLANK).strip() for cell in cells]
    _check_label_lengths(labels)
    names = unique_names([safe_name(label, position) for position, label in enumerate(labels, 1)])
    return [Column(name, label) for name, label in zip(names, labels, strict=True)]


def _check_label_lengths(labels: list[str]) -> None:
    for position, label in enumerate(labels, 1):
        if len(label) > MAX_LABEL_LENGTH:
            raise CsvFormatError(
                f"The header cell of column {position} is {len(label):,} characters long; "
                f"column names may have at most {MAX_LABEL_LENGTH:,}. It starts with "
                f"{label[:40]!r}. Check that the first line is the header (an unclosed quote "
                "there swallows the lines after it) and shorten the name."
            )


def safe_name(label: str, position: int) -> str:
    """A SQL-safe spelling of `label`; `column_<position>` when nothing of it is usable."""
    decomposed = unicodedata.normalize("NFKD", label.translate(_FOLDS))
    unaccented = "".join(c for c in decomposed if not unicodedata.combining(c))
    name = _NOT_NAME.sub("_", unaccented.lower()).strip("_")
    if not name:
        return f"column_{position}"
    if name[0].isdigit():
        name = f"c_{name}"
    return name[:MAX_NAME_LENGTH].rstrip("_")


def unique_names(names: list[str]) -> list[str]:
    """Later duplicates get `_2`, `_3`...; names as written keep precedence over suffixed ones.

    With headers `a, a, a_2` the second `a` becomes `a_3`, since `a_2` is taken by the third.
    """
    taken = set(names)
    seen: set[str] = set()
    next_number: dict[str, int] = {}  # per name, so many duplicates stay linear
    unique = []
    for name in names:
        if name in seen:
            name = _suffixed(name, taken, next_number)
            taken.add(name)
        seen.add(name)
        unique.append(name)
    return unique


def _suffixed(name: str, taken: set[str], next_number: dict[str, int]) -> str:
    number = next_number.get(name, 2)
    while True:
        suffix = f"_{number}"
        candidate = name[: MAX_NAME_LENGTH - len(suffix)].rstrip("_") + suffix
        number += 1
        if candidate not in taken:
            next_number[name] = number
            return candidate
