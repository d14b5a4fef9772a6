# Types of the C splitter (_splitter.c), which mypy cannot read; the docstrings there say what
# each value means. Keep in step with the C source: a change there that is not made here is
# a change mypy cannot see.

from collections.abc import Callable, Iterable

from csvhub.csvread.columns import SummaryFields

# (fields, first line, last line, None, last line) for a record read; (None, first line,
# quote line, kind, line where the problem was found) for a record given up.
type Record = tuple[list[str], int, int, None, int] | tuple[None, int, int, str, int]
# (index in the batch, first line, last line, fields) of a record of another width.
type Other = tuple[int, int, int, list[str]]
# (index in the batch, first line, quote line, kind, line where the problem was found).
type GivenUp = tuple[int, int, int, str, int]
# (parts, good records, others, given up, summaries, characters): parts per column, the good
# records' cells joined with "\n", or their list when a cell holds "\n".
type Batch = tuple[
    list[str | list[str]] | None, int, list[Other], list[GivenUp], list[SummaryFields] | None, int
]

class Reader:
    def __init__(
        self,
        blocks: Iterable[str | tuple[str, int]],
        delimiter: str,
        record_limit: int,
        max_lines: int,
    ) -> None: ...
    @property
    def line_num(self) -> int: ...
    def read_batch(
        self, max_records: int, width: int, max_chars: int, again: Callable[[int], None], /
    ) -> Batch | None: ...
    def read_record(self) -> Record | None: ...
    def restart(self, line_num: int, /) -> None: ...

def summarize_joined(joined: str, /) -> SummaryFields: ...
def count_lines(
    joined: str, prefix: int, max_length: int, kept: int, /
) -> tuple[dict[str, int], int] | None: ...
def numbers_fit(joined: str, decimal: bool, /) -> bool: ...
def layout_fits(joined: str, layout: str, count: int, with_time: bool, /) -> bool: ...
def non_ascii_bytes(data: bytes, /) -> int: ...
def line_breaks(text: str, /) -> int: ...
